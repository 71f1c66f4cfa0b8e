"""The "onnx-int8" runtime on the real multilingual-e5-small: its int8 vectors against the fp32
torch reference on Persian texts, its chunking, its id, and the offline build of its file.

The ONNX file is built once into the shared model cache (`models build-default` does the same)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.embedding.encoder import Embedder
from recommender.embedding.models import model_fingerprint
from recommender.embedding.onnx_build import (
    RECIPE_VERSION,
    build_onnx_int8,
    onnx_int8_path,
    read_onnx_marker,
)
from tests.recommender.persian_texts import PASSAGES, SHORT_QUERIES

pytestmark = pytest.mark.slow
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def pair(e5_model_dir: Path) -> tuple[Embedder, Embedder]:
    """(onnx-int8, torch fp32) embedders of the same model."""
    models = e5_model_dir.parent
    fast = Embedder(runtime="onnx-int8", models_dir=models, num_threads=2).fit()
    reference = Embedder(runtime="torch", models_dir=models, num_threads=2).fit()
    return fast, reference


def test_onnx_int8_is_opt_in_and_its_id_names_it(pair: tuple[Embedder, Embedder]) -> None:
    fast, reference = pair
    assert fast.runtime_name_ == "onnx-int8" and fast.dim_ == reference.dim_ == 384
    assert fast.model_id_ == f"{reference.model_id_}+onnx-int8.r{RECIPE_VERSION}"
    auto = Embedder(models_dir=fast.model_path_.parent).fit()
    assert auto.runtime_name_ == "torch" and auto.model_id_ == reference.model_id_


def test_int8_vectors_stay_within_cosine_0995_of_fp32(pair: tuple[Embedder, Embedder]) -> None:
    fast, reference = pair
    for texts, role in ((PASSAGES, "passage"), (SHORT_QUERIES, "query")):
        a = np.stack([d.pooled for d in fast.embed_documents(texts, role=role)])
        b = np.stack([d.pooled for d in reference.embed_documents(texts, role=role)])
        np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
        cosines = np.sum(a * b, axis=1)
        assert cosines.min() >= 0.995, (role, float(cosines.min()))
        # Similarities between texts move by a few hundredths at most.
        assert float(np.abs(a @ a.T - b @ b.T).max()) <= 0.03


def test_a_text_in_a_padded_batch_keeps_its_vector_within_cosine_099(
    pair: tuple[Embedder, Embedder],
) -> None:
    # Dynamic quantization scales activations per call, so a text's int8 vector depends a
    # little on its batch companions (never beyond cosine 0.99); the cache keeps the first.
    fast, _ = pair
    texts = [SHORT_QUERIES[0], PASSAGES[0], SHORT_QUERIES[1][:12], PASSAGES[1]]
    together = fast.runtime_.encode(texts, "passage")
    alone = np.vstack([fast.runtime_.encode([t], "passage") for t in texts])
    cosines = np.sum(together * alone, axis=1)
    assert cosines.min() >= 0.99


def test_a_long_plan_is_chunked_like_the_reference(pair: tuple[Embedder, Embedder]) -> None:
    fast, reference = pair
    text = " ".join(PASSAGES[:12])
    (a,) = fast.embed_documents([text])
    (b,) = reference.embed_documents([text])
    assert len(a.chunks) >= 3 and a.chunk_spans == b.chunk_spans
    assert float(a.pooled @ b.pooled) >= 0.99


def test_the_build_is_a_no_op_when_up_to_date(e5_model_dir: Path) -> None:
    path = build_onnx_int8(e5_model_dir, model_fingerprint(e5_model_dir))
    assert path == onnx_int8_path(e5_model_dir) and path.is_file()
    before = path.stat().st_mtime_ns
    assert build_onnx_int8(e5_model_dir, model_fingerprint(e5_model_dir)) == path
    assert path.stat().st_mtime_ns == before
    marker = read_onnx_marker(e5_model_dir)
    assert marker is not None and marker["recipe_version"] == RECIPE_VERSION
    assert marker["source"] == model_fingerprint(e5_model_dir)
