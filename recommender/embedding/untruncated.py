"""A view of a shared `tokenizers.Tokenizer` that never truncates or pads, for chunking.

Runtimes encode batches with truncation and padding switched on; chunking must see every
token. One tokenizer object serves both (a 250k-piece Unigram costs ~300 MB a copy).
"""

from __future__ import annotations

from typing import Any

__all__ = ["UntruncatedTokenizer"]


class UntruncatedTokenizer:
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
