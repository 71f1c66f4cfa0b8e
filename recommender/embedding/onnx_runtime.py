"""The "onnx-int8" embedding runtime: the model's int8 ONNX form (`onnx_build`) on ONNX Runtime.

Same tokenizer, prefixes and pooling as sentence-transformers; the matrix products run in int8
(AVX-512 VNNI where the CPU has it, else AVX2), after SmoothQuant (`onnx_build`). On the
default model's benchmark plans its vectors have cosine >= 0.998 to the fp32 torch runtime's
(`benchmarks/embedding_speed.py`; >= 0.995 in the tests).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from recommender.embedding.models import ModelSpec, model_fingerprint
from recommender.embedding.onnx_build import RECIPE_VERSION, build_onnx_int8
from recommender.embedding.untruncated import UntruncatedTokenizer
from recommender.errors import ConfigurationError

__all__ = ["MAX_RUN_BATCH", "OnnxInt8Runtime"]

MAX_RUN_BATCH = 8


class OnnxInt8Runtime:
    """ONNX Runtime (CPU) on the int8 ONNX model built next to the sentence-transformers one.

    Args:
        spec: the model's spec (its prefixes are added to the texts).
        path: the sentence-transformers model directory (tokenizer.json, onnx/).
        batch_size: texts per session run, at most `MAX_RUN_BATCH` (texts are sorted by
            length first, as sentence-transformers does, so a batch pads little).
        num_threads: intra-op threads (None: all cores).

    Attributes:
        identity: "onnx-int8.r<recipe>", part of `Embedder.model_id_`: its vectors are not the
            fp32 runtime's, so caches and indexes keep them apart.
    """

    def __init__(
        self, spec: ModelSpec, path: Path, batch_size: int, num_threads: int | None
    ) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - a dependency of the project
            raise ConfigurationError("the onnx-int8 runtime needs the package onnxruntime") from exc
        model_file = build_onnx_int8(path, model_fingerprint(path))
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(num_threads or os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # No busy-waiting threads between calls: on a shared machine they take CPU from the
        # rest of the process (and from other processes) after each batch.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(model_file), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # a damaged file: rebuild with `models build-default --force`
            raise ConfigurationError(
                f"cannot load the ONNX model {model_file}: {type(exc).__name__}"
            ) from exc
        # Keep the arena (without it each batch costs ~50% more: fresh pages for every
        # activation) but hand its memory back after each call: a batch of 16 one-page plans
        # holds ~400 MB of activations that a server should not keep.
        self._run_options = ort.RunOptions()
        self._run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self._tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.spec = spec
        # At most 8 texts a session run: ONNX Runtime's arena peaks with the batch's attention
        # (16 one-page plans: ~1.5 GB process peak, 8: ~1.27 GB, as torch's 1.25 GB), and 8
        # plans a run cost no more CPU per plan than 16.
        self.batch_size = max(1, min(batch_size, MAX_RUN_BATCH))
        self.identity = f"onnx-int8.r{RECIPE_VERSION}"
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self.max_seq_length = _max_seq_length(path, spec.max_tokens)
        self.prompts = {"query": spec.query_prefix, "passage": spec.passage_prefix}
        self._pad_id = int(self._tok.token_to_id("<pad>") or 0)

    def encode(self, texts: list[str], role: str) -> np.ndarray:
        prefix = self.spec.prefix(role)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        self._tok.enable_truncation(self.max_seq_length)
        self._tok.enable_padding(pad_id=self._pad_id, pad_token="<pad>")
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            encodings = self._tok.encode_batch([prefix + texts[i] for i in rows])
            feed = {
                "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
            }
            out[rows] = self.session.run(None, feed, self._run_options)[0]
        # The graph normalizes; once more in float32 so rows are unit length to rounding.
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def tokenizer(self) -> Any:
        # One copy of the 250k-piece tokenizer (~300 MB): chunking and encoding share it;
        # the Embedder's lock keeps their truncation settings apart.
        return UntruncatedTokenizer(self._tok)


def _max_seq_length(path: Path, default: int) -> int:
    import json

    try:
        conf = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(conf.get("max_seq_length") or default)
    except (OSError, ValueError):
        return default
