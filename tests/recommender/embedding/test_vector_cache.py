"""The SQLite vector cache: exact round trip, and no leaking between models or roles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.embedding.documents import DocumentEmbedding
from recommender.embedding.vector_cache import VectorCache
from recommender.errors import CorruptArtifactError


def _doc(seed: int, n_chunks: int = 3, dim: int = 8) -> DocumentEmbedding:
    rng = np.random.default_rng(seed)
    chunks = rng.normal(size=(n_chunks, dim)).astype(np.float32)
    chunks /= np.linalg.norm(chunks, axis=1, keepdims=True)
    pooled = chunks.mean(axis=0)
    return DocumentEmbedding(
        chunks=chunks,
        pooled=(pooled / np.linalg.norm(pooled)).astype(np.float32),
        chunk_spans=[(i * 10, i * 10 + 12) for i in range(n_chunks)],
        n_tokens=40 + seed,
        chunk_tokens=[12] * n_chunks,
    )


def test_round_trip_is_exact(tmp_path: Path) -> None:
    with VectorCache(tmp_path / "v.sqlite") as cache:
        docs = {"a" * 64: _doc(1), "b" * 64: _doc(2, n_chunks=1)}
        assert cache.put_many("m@1", "passage", docs.items()) == 2
        got = cache.get_many("m@1", "passage", ["a" * 64, "b" * 64, "c" * 64])
    assert set(got) == {"a" * 64, "b" * 64}
    for key, doc in docs.items():
        np.testing.assert_array_equal(got[key].chunks, doc.chunks)
        np.testing.assert_array_equal(got[key].pooled, doc.pooled)
        assert got[key].chunk_spans == doc.chunk_spans
        assert got[key].n_tokens == doc.n_tokens
        assert got[key].chunk_tokens == doc.chunk_tokens


def test_other_models_and_roles_never_see_the_vectors(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    with VectorCache(path) as cache:
        cache.put_many("model-a@1", "passage", [("h" * 64, _doc(1))])
    with VectorCache(path) as cache:  # reopened: it is on disk
        assert cache.get_many("model-a@1", "passage", ["h" * 64])
        assert cache.get_many("model-b@1", "passage", ["h" * 64]) == {}
        assert cache.get_many("model-a@2", "passage", ["h" * 64]) == {}
        assert cache.get_many("model-a@1", "query", ["h" * 64]) == {}
        cache.put_many("model-b@1", "passage", [("h" * 64, _doc(9))])
        assert cache.count() == 2
        assert cache.purge(keep_model_id="model-b@1") == 1
        assert cache.count("model-a@1") == 0 and cache.count("model-b@1") == 1


def test_many_keys_are_looked_up_in_batches(tmp_path: Path) -> None:
    with VectorCache(tmp_path / "v.sqlite") as cache:
        items = [(f"{i:064d}", _doc(i % 5, n_chunks=1)) for i in range(1200)]
        cache.put_many("m@1", "query", items)
        got = cache.get_many("m@1", "query", [k for k, _ in items])
    assert len(got) == 1200


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "v.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CorruptArtifactError):
        VectorCache(bad)
