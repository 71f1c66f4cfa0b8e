"""A tiny registered embedding runtime for fast tests of the real `Embedder` code: one token
per word, a text's vector the normalized sum of seeded word vectors (no model files)."""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

import numpy as np
import pytest

from recommender.embedding.models import MODEL_REGISTRY, ModelSpec
from recommender.embedding.runtimes import RUNTIMES

FAKE_DIM = 16
FAKE_MODEL = "fake-model"


@functools.cache
def _word_vector(word: str) -> np.ndarray:
    return np.random.default_rng(zlib.crc32(word.encode())).normal(size=FAKE_DIM)


class FakeRuntime:
    """One token per word; a text's vector is the normalized sum of seeded word vectors."""

    calls: list[int] = []

    def __init__(self, spec: ModelSpec, path: Path, batch_size: int, num_threads) -> None:
        self.spec = spec
        self.dim = FAKE_DIM
        self.max_seq_length = spec.max_tokens
        self.prompts: dict[str, str] = {}

    def encode(self, texts: list[str], role: str) -> np.ndarray:
        FakeRuntime.calls.append(len(texts))
        out = []
        for text in texts:
            words = (self.spec.prefix(role) + text).split()
            vec = np.sum([_word_vector(w) for w in words], axis=0)
            out.append(vec / np.linalg.norm(vec))
        return np.asarray(out, dtype=np.float32)

    def tokenizer(self):
        from tokenizers import Tokenizer, pre_tokenizers
        from tokenizers.models import WordLevel

        tok = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        return tok


def register_fake_model(folder: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Registers the fake runtime and FAKE_MODEL (40 tokens per chunk, its files in
    `folder/fake-model`) until the test ends; returns the model name."""
    model_dir = folder / FAKE_MODEL
    model_dir.mkdir()
    (model_dir / "weights.bin").write_bytes(b"v1")
    FakeRuntime.calls = []
    monkeypatch.setitem(RUNTIMES, "fake", FakeRuntime)
    monkeypatch.setitem(
        MODEL_REGISTRY,
        FAKE_MODEL,
        ModelSpec(
            name=FAKE_MODEL,
            query_prefix="query: ",
            passage_prefix="passage: ",
            max_tokens=40,
            default_runtime="fake",
            runtimes=("fake",),
            chunk_overlap_tokens=8,
            locate=lambda _models_dir: model_dir,
        ),
    )
    return FAKE_MODEL
