"""What goes into and comes out of the embedder: `prepare_text` checks and cleans one text
(see `recommender.embedding.encoder` for the rules), `text_sha256` is its cache key, and
`DocumentEmbedding` is the chunk-aware result that the vector cache stores.
"""

from __future__ import annotations

import hashlib
import unicodedata
import warnings
from dataclasses import dataclass, field

import numpy as np

from recommender.errors import EmptyTextError, InvalidInputError
from recommender.text.normalization import has_surrogates

__all__ = [
    "MAX_EMBED_CHARS",
    "CleanedTextWarning",
    "DocumentEmbedding",
    "UnexpectedScriptWarning",
    "prepare_text",
    "text_sha256",
]

MAX_EMBED_CHARS = 2_000_000


class CleanedTextWarning(UserWarning):
    """Characters that cannot be embedded (invalid surrogates, NUL) were removed."""


class UnexpectedScriptWarning(UserWarning):
    """Most letters are neither Persian/Arabic nor Latin script: the vector may match poorly."""


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
