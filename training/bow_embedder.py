"""A fast stand-in for `recommender.embedding.encoder.Embedder`: hashed bag of words.

For quick evaluation runs (the notebook, tests) where loading and running a transformer on a
small CPU would dominate. It implements the part of the `Embedder` contract that training and
evaluation use: `fit()`, `model_id_`, `dim_`, `embed_documents(texts, role)`,
`embed_queries(texts)`, `embed_passages(texts)`. Vectors are signed feature hashes of the
lexical tokens (`normalization.tokenize`) with log term frequencies, L2-normalized; long texts
are cut into paragraphs of about `chunk_chars` characters, pooled by token-weighted mean.

It knows no synonyms and no word order: a lexical model in dense clothing. Figures measured
with it are labelled with its `model_id_` ("hashing-bow-...") and are not the product's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from recommender.embedding.documents import DocumentEmbedding
from recommender.errors import EmptyTextError, InvalidInputError, NotFittedError
from recommender.estimator import PeyvandEstimator
from recommender.text.normalization import tokenize

__all__ = ["HashingEmbedder"]


class HashingEmbedder(PeyvandEstimator):
    """Hashed bag-of-words document vectors.

    Args:
        dim: vector dimension (hash buckets).
        chunk_chars: target characters per chunk (cut at line ends or spaces).

    Attributes:
        model_id_: "hashing-bow-<dim>-<chunk_chars>".
        dim_: the dimension.
    """

    def __init__(self, dim: int = 1024, chunk_chars: int = 1500) -> None:
        self.dim = dim
        self.chunk_chars = chunk_chars

    def fit(self) -> HashingEmbedder:
        """Set up the hashing (nothing to load). Returns self."""
        if self.dim < 8 or self.chunk_chars < 50:
            raise InvalidInputError("dim must be >= 8 and chunk_chars >= 50")
        self.vectorizer_ = HashingVectorizer(
            analyzer=tokenize, n_features=self.dim, alternate_sign=True, norm=None
        )
        self.model_id_ = f"hashing-bow-{self.dim}-{self.chunk_chars}"
        self.dim_ = self.dim
        return self

    def _check(self) -> HashingVectorizer:
        vectorizer = getattr(self, "vectorizer_", None)
        if vectorizer is None:
            raise NotFittedError("HashingEmbedder is not fitted; call fit() first")
        return vectorizer

    def _chunks(self, text: str) -> list[tuple[int, int]]:
        spans, start, n = [], 0, len(text)
        while start < n:
            end = min(n, start + self.chunk_chars)
            if end < n:
                cut = max(text.rfind("\n", start, end), text.rfind(" ", start, end))
                end = cut + 1 if cut > start else end
            spans.append((start, end))
            start = end
        return spans

    def _vectors(self, pieces: list[str]) -> tuple[np.ndarray, np.ndarray]:
        counts = self._check().transform(pieces).toarray()
        dense = np.sign(counts) * np.log1p(np.abs(counts))
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        tokens = np.abs(counts).sum(axis=1)
        return dense / np.where(norms > 0, norms, 1.0), tokens

    def embed_documents(
        self, texts: Sequence[str], role: str = "passage"
    ) -> list[DocumentEmbedding]:
        """One `DocumentEmbedding` per text (role is accepted and ignored).

        Raises:
            EmptyTextError: a text without a lexical token.
            InvalidInputError: a single string instead of a list, or a bad role.
        """
        if isinstance(texts, str):
            raise InvalidInputError("embed_documents takes a list of texts, not one string")
        if role not in ("query", "passage"):
            raise InvalidInputError(f"role must be 'query' or 'passage', not {role!r}")
        out = []
        for text in texts:
            spans = self._chunks(text)
            chunks, tokens = self._vectors([text[a:b] for a, b in spans])
            keep = tokens > 0
            if not keep.any():
                raise EmptyTextError("the text has no word to embed")
            chunks, tokens = chunks[keep], tokens[keep]
            spans = [s for s, k in zip(spans, keep, strict=True) if k]
            pooled = (chunks * tokens[:, None]).sum(axis=0)
            pooled /= np.linalg.norm(pooled) or 1.0
            out.append(
                DocumentEmbedding(
                    chunks=chunks.astype(np.float32),
                    pooled=pooled.astype(np.float32),
                    chunk_spans=spans,
                    n_tokens=int(tokens.sum()),
                    chunk_tokens=[int(t) for t in tokens],
                )
            )
        return out

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) pooled vectors."""
        return np.stack([d.pooled for d in self.embed_documents(texts, "passage")])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) pooled vectors."""
        return np.stack([d.pooled for d in self.embed_documents(texts, "query")])
