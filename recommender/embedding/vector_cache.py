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
from typing import Any

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


class VectorCache:
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

    def get_many(
        self, model_id: str, role: str, text_hashes: Sequence[str]
    ) -> dict[str, DocumentEmbedding]:
        """The cached embeddings among `text_hashes` for this model and role."""
        found: dict[str, DocumentEmbedding] = {}
        unique = list(dict.fromkeys(text_hashes))
        with self._lock:
            for start in range(0, len(unique), _BATCH):
                part = unique[start : start + _BATCH]
                marks = ",".join("?" * len(part))
                rows = self._conn.execute(
                    "SELECT text_sha256, dim, n_chunks, n_tokens, chunks, pooled, spans,"
                    " chunk_tokens FROM document_vectors"
                    f" WHERE model_id = ? AND role = ? AND text_sha256 IN ({marks})",
                    [model_id, role, *part],
                ).fetchall()
                for sha, *rest in rows:
                    found[sha] = _embedding(*rest)
        return found

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

    def __enter__(self) -> VectorCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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


class SqlVectorCache:
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

    def get_many(
        self, model_id: str, role: str, text_hashes: Sequence[str]
    ) -> dict[str, DocumentEmbedding]:
        """The cached embeddings among `text_hashes` for this model and role."""
        sa, table = self._sa, self._table
        found: dict[str, DocumentEmbedding] = {}
        unique = list(dict.fromkeys(text_hashes))
        with self._engine.connect() as connection:
            for start in range(0, len(unique), _BATCH):
                rows = connection.execute(
                    sa.select(
                        table.c.text_sha256, table.c.dim, table.c.n_chunks, table.c.n_tokens,
                        table.c.chunks, table.c.pooled, table.c.spans, table.c.chunk_tokens,
                    ).where(
                        table.c.model_id == model_id,
                        table.c.role == role,
                        table.c.text_sha256.in_(unique[start : start + _BATCH]),
                    )
                ).all()
                for sha, *rest in rows:
                    found[sha] = _embedding(*rest)
        return found

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

    def __enter__(self) -> SqlVectorCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_vector_cache(location: str | Path) -> VectorCache | SqlVectorCache:
    """The cache at `location`: a database URL (`postgresql+psycopg://...`) is the store's
    table; anything else is a SQLite file path."""
    if isinstance(location, str) and "://" in location:
        return SqlVectorCache(location)
    return VectorCache(location)
