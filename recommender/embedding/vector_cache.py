"""A cache of document embeddings, so unchanged text is never embedded twice.

Keyed by (model id, sha256 of the normalized text, role): a vector made by one model is never
returned for another, and "query: " and "passage: " vectors of the same text stay apart. Each
row keeps the chunk vectors, their character spans and token counts, the pooled vector and the
text's token count. The text itself is never stored (plans are confidential).

Two places, one interface (`open_vector_cache` picks by location):

- `VectorCache`: a SQLite file — a home on one machine (the embedded default);
- `SqlVectorCache`: the store's `document_vectors` table (migration 0009) — a service on
  PostgreSQL, where every API process and queue worker on every machine shares it, so a plan
  embedded by one worker (a round's chunk, a `plans_embed` task) is found by all the others.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from recommender.embedding.documents import DocumentEmbedding
from recommender.errors import CorruptArtifactError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS document_vectors (
    model_id    TEXT    NOT NULL,
    text_sha256 TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    dim         INTEGER NOT NULL,
    n_chunks    INTEGER NOT NULL,
    n_tokens    INTEGER NOT NULL,
    chunks      BLOB    NOT NULL,
    pooled      BLOB    NOT NULL,
    spans       TEXT    NOT NULL,
    chunk_tokens TEXT   NOT NULL,
    created_at  REAL    NOT NULL,
    PRIMARY KEY (model_id, text_sha256, role)
)
"""
_BATCH = 500
# The columns a look-up reads, in `_embedding`'s order (after the hash).
_READ = ("text_sha256", "dim", "n_chunks", "n_tokens", "chunks", "pooled", "spans", "chunk_tokens")


class _Cache:
    """What both places share: look-ups deduplicated, in batches, rows decoded one way.
    A place supplies `_select` (the rows of `_READ` for one batch of hashes) and `close`."""

    def get_many(
        self, model_id: str, role: str, text_hashes: Sequence[str]
    ) -> dict[str, DocumentEmbedding]:
        """The cached embeddings among `text_hashes` for this model and role."""
        found: dict[str, DocumentEmbedding] = {}
        unique = list(dict.fromkeys(text_hashes))
        for start in range(0, len(unique), _BATCH):
            for sha, *rest in self._select(model_id, role, unique[start : start + _BATCH]):
                found[sha] = _embedding(*rest)
        return found

    def _select(self, model_id: str, role: str, hashes: list[str]) -> Sequence[Sequence[Any]]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VectorCache(_Cache):
    """Document embeddings on disk, one SQLite file (safe across threads and processes).

    Args:
        path: the SQLite file (created with its folder when missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(_SCHEMA)
            self._conn.commit()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise CorruptArtifactError(f"the vector cache {self.path} cannot be read") from exc

    def _select(self, model_id: str, role: str, hashes: list[str]) -> Sequence[Sequence[Any]]:
        marks = ",".join("?" * len(hashes))
        with self._lock:
            return self._conn.execute(
                f"SELECT {', '.join(_READ)} FROM document_vectors"
                f" WHERE model_id = ? AND role = ? AND text_sha256 IN ({marks})",
                [model_id, role, *hashes],
            ).fetchall()

    def put_many(
        self, model_id: str, role: str, items: Iterable[tuple[str, DocumentEmbedding]]
    ) -> int:
        """Store (text hash, embedding) pairs; returns how many rows were written."""
        now = time.time()
        rows = [_row(model_id, role, sha, doc, now) for sha, doc in items]
        if not rows:
            return 0
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO document_vectors VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows
            )
            self._conn.commit()
        return len(rows)

    def count(self, model_id: str | None = None) -> int:
        """Number of cached documents (of one model, or all)."""
        with self._lock:
            if model_id is None:
                (n,) = self._conn.execute("SELECT COUNT(*) FROM document_vectors").fetchone()
            else:
                (n,) = self._conn.execute(
                    "SELECT COUNT(*) FROM document_vectors WHERE model_id = ?", [model_id]
                ).fetchone()
        return int(n)

    def purge(self, keep_model_id: str) -> int:
        """Delete the vectors of every model other than `keep_model_id`; returns rows deleted."""
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM document_vectors WHERE model_id != ?", [keep_model_id]
            )
            self._conn.commit()
        return int(cur.rowcount)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _row(model_id: str, role: str, sha: str, doc: DocumentEmbedding, now: float) -> tuple[Any, ...]:
    """One cache row, in the column order of both tables."""
    return (
        model_id,
        sha,
        role,
        int(doc.chunks.shape[1]),
        int(doc.chunks.shape[0]),
        int(doc.n_tokens),
        np.ascontiguousarray(doc.chunks, dtype=np.float32).tobytes(),
        np.ascontiguousarray(doc.pooled, dtype=np.float32).tobytes(),
        json.dumps([[int(a), int(b)] for a, b in doc.chunk_spans]),
        json.dumps([int(n) for n in doc.chunk_tokens]),
        now,
    )


def _embedding(
    dim: int, n_chunks: int, n_tokens: int, chunks: bytes, pooled: bytes, spans: str,
    chunk_tokens: str,
) -> DocumentEmbedding:
    return DocumentEmbedding(
        chunks=np.frombuffer(chunks, dtype=np.float32).reshape(n_chunks, dim).copy(),
        pooled=np.frombuffer(pooled, dtype=np.float32).copy(),
        chunk_spans=[(int(a), int(b)) for a, b in json.loads(spans)],
        n_tokens=int(n_tokens),
        chunk_tokens=[int(n) for n in json.loads(chunk_tokens)],
    )


_COLUMNS = (
    "model_id", "text_sha256", "role", "dim", "n_chunks", "n_tokens", "chunks", "pooled",
    "spans", "chunk_tokens", "created_at",
)


class SqlVectorCache(_Cache):
    """Document embeddings in the store's `document_vectors` table (any process, any machine
    of the service). Same methods as `VectorCache`.

    Args:
        url: the store's database URL (its schema at 0009 or later).

    Raises:
        ConfigurationError: the database cannot be reached.
    """

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        from recommender.store.engine import make_engine, normalize_url
        from recommender.store.tables import DocumentVectorRow

        self.url = url
        self._sa = sa
        self._table: sa.Table = DocumentVectorRow.__table__  # type: ignore[assignment]
        self._engine = make_engine(normalize_url(url), echo=False)

    def _select(self, model_id: str, role: str, hashes: list[str]) -> Sequence[Sequence[Any]]:
        table = self._table
        with self._engine.connect() as connection:
            return connection.execute(
                self._sa.select(*(table.c[name] for name in _READ)).where(
                    table.c.model_id == model_id,
                    table.c.role == role,
                    table.c.text_sha256.in_(hashes),
                )
            ).all()

    def put_many(
        self, model_id: str, role: str, items: Iterable[tuple[str, DocumentEmbedding]]
    ) -> int:
        """Store (text hash, embedding) pairs (a row another process wrote first is kept:
        the same text and model give the same vectors); returns how many were given."""
        now = time.time()
        rows = [dict(zip(_COLUMNS, _row(model_id, role, sha, doc, now), strict=True))
                for sha, doc in items]
        if not rows:
            return 0
        if self._engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        statement = insert(self._table).on_conflict_do_nothing(
            index_elements=["model_id", "text_sha256", "role"]
        )
        with self._engine.begin() as connection:
            for start in range(0, len(rows), _BATCH):
                connection.execute(statement, rows[start : start + _BATCH])
        return len(rows)

    def count(self, model_id: str | None = None) -> int:
        """Number of cached documents (of one model, or all)."""
        sa, table = self._sa, self._table
        query = sa.select(sa.func.count()).select_from(table)
        if model_id is not None:
            query = query.where(table.c.model_id == model_id)
        with self._engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def purge(self, keep_model_id: str) -> int:
        """Delete the vectors of every model other than `keep_model_id`; returns rows deleted."""
        with self._engine.begin() as connection:
            result = connection.execute(
                self._table.delete().where(self._table.c.model_id != keep_model_id)
            )
        return int(result.rowcount)

    def close(self) -> None:
        self._engine.dispose()


def open_vector_cache(location: str | Path) -> VectorCache | SqlVectorCache:
    """The cache at `location`: a database URL (`postgresql+psycopg://...`) is the store's
    table; anything else is a SQLite file path."""
    if isinstance(location, str) and "://" in location:
        return SqlVectorCache(location)
    return VectorCache(location)
