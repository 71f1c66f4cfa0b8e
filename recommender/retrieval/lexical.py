"""BM25 lexical scoring over hazm tokens (`recommender.text.normalization.tokenize`), on `bm25s`.

The lexical side of candidate retrieval: it catches exact names, acronyms and sector terms
that a small embedding model can blur; `program_lexical_text` is what it indexes of a
program. Scores are raw BM25 (Lucene variant), >= 0, one per indexed document; the fusion with
dense scores lives in `recommender.retrieval.fusion`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import bm25s
import numpy as np

from recommender.errors import CorruptArtifactError, InvalidInputError
from recommender.estimator import PeyvandEstimator
from recommender.schemas import Program
from recommender.text.normalization import tokenize

# bm25s sets its own logger to DEBUG on import; its progress chatter is not for users.
logging.getLogger("bm25s").setLevel(logging.WARNING)

__all__ = ["BM25Index", "program_lexical_text"]

logger = logging.getLogger(__name__)

_CONFIG_FILE = "bm25_config.json"
_FORMAT = "peyvand.bm25_index"
_FORMAT_VERSION = 1
METHODS: tuple[str, ...] = ("lucene", "robertson", "atire", "bm25l", "bm25+")


def program_lexical_text(
    program: Program, sector_terms: Mapping[str, Sequence[str]] | None = None
) -> str:
    """The text BM25 indexes for a program: name, description and sector keywords.

    Args:
        program: the program.
        sector_terms: Persian names/keywords per sector slug (from recommender/sectors.json); a slug
            without an entry contributes its own words ("food_tech" -> "food tech").

    Returns:
        One text (raw; `BM25Index` tokenizes it).
    """
    terms = sector_terms or {}
    sector_words = [
        " ".join(terms[slug]) if slug in terms else slug.replace("_", " ")
        for slug in program.sectors
    ]
    return "\n".join([program.name, program.description, *sector_words])


class BM25Index(PeyvandEstimator):
    """BM25 over the lexical tokens of a fixed list of documents.

    Args:
        k1: term-frequency saturation.
        b: document-length normalization (0 = none, 1 = full).
        method: the bm25s scoring variant, one of `METHODS`.

    Attributes:
        n_docs_: number of indexed documents (set by `fit`).
        retriever_: the fitted `bm25s.BM25`.
    """

    _fitted_attribute = "retriever_"
    _fit_hint = "fit(docs) or load(path)"

    def __init__(self, k1: float = 1.5, b: float = 0.75, method: str = "lucene") -> None:
        self.k1 = k1
        self.b = b
        self.method = method

    def fit(self, docs: Sequence[str]) -> BM25Index:
        """Index `docs` (raw or normalized text; tokenized here).

        Args:
            docs: the documents, in the order their scores will be returned.

        Returns:
            self.

        Raises:
            InvalidInputError: when `docs` is empty or has no token at all, or `method` is
                unknown.
        """
        if self.method not in METHODS:
            raise InvalidInputError(f"unknown BM25 method '{self.method}'; use one of {METHODS}")
        if isinstance(docs, str):
            raise InvalidInputError("BM25Index.fit takes a sequence of documents, not one text")
        if len(docs) == 0:
            raise InvalidInputError("cannot build a lexical index over zero documents")
        corpus_tokens = [tokenize(doc) for doc in docs]
        if not any(corpus_tokens):
            raise InvalidInputError("none of the documents has a word to index")
        # bm25s needs every document to have a token; the empty token it adds scores nothing.
        corpus_tokens = [tokens or [""] for tokens in corpus_tokens]
        retriever = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        retriever.index(corpus_tokens, show_progress=False)
        self.retriever_ = retriever
        self.n_docs_ = len(docs)
        return self

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed document for `query`.

        Each distinct query token counts once, so a long business plan that repeats a word
        does not drown out its other words.

        Args:
            query: raw or normalized text.

        Returns:
            Array (n_docs,) float32, >= 0; all zeros when no query token is in the index.
        """
        return self.scores_for_tokens(tokenize(query))

    def scores_for_tokens(self, tokens: Sequence[str]) -> np.ndarray:
        """Like `scores`, for tokens already made by `normalization.tokenize`.

        Args:
            tokens: lexical tokens.

        Returns:
            Array (n_docs,) float32.
        """
        self._check_fitted()
        retriever = self.retriever_
        ids = retriever.get_tokens_ids([t for t in dict.fromkeys(tokens) if t])
        if not ids:
            return np.zeros(self.n_docs_, dtype=np.float32)
        return np.asarray(retriever.get_scores_from_ids(ids), dtype=np.float32)

    def save(self, path: str | Path) -> Path:
        """Write the index into the folder `path` (created; existing files replaced).

        Args:
            path: a folder.

        Returns:
            The folder.
        """
        self._check_fitted()
        retriever = self.retriever_
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        retriever.save(str(folder), show_progress=False)
        config = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "params": self.get_params(),
            "n_docs": self.n_docs_,
        }
        (folder / _CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, path: str | Path) -> BM25Index:
        """Read an index written by `save`.

        Args:
            path: the folder given to `save`.

        Returns:
            The fitted index.

        Raises:
            CorruptArtifactError: when the folder is missing, incomplete or unreadable.
        """
        folder = Path(path)
        try:
            config = json.loads((folder / _CONFIG_FILE).read_text(encoding="utf-8"))
            if config.get("format") != _FORMAT:
                raise ValueError("not a lexical index")
            if config.get("format_version") != _FORMAT_VERSION:
                raise ValueError(f"unsupported format version {config.get('format_version')}")
            index = cls(**config["params"])
            retriever = bm25s.BM25.load(str(folder), show_progress=False)
            n_docs = int(config["n_docs"])
            if int(retriever.scores["num_docs"]) != n_docs:
                raise ValueError("document count does not match the config")
        except CorruptArtifactError:
            raise
        except Exception as exc:  # numpy, json and bm25s each raise their own kinds
            raise CorruptArtifactError(f"cannot read the lexical index in {folder}: {exc}") from exc
        index.retriever_ = retriever
        index.n_docs_ = n_docs
        return index
