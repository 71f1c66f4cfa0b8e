"""Settings read from the environment (prefix PEYVAND_). Read only by api/, training/ and
the CLI; recommender/ takes plain constructor arguments."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PEYVAND_", extra="ignore")

    home: Path = Path(".peyvand")
    database_url: str | None = None
    embedding_model: str = "multilingual-e5-small"
    embedding_runtime: str = "auto"
    # Threads of the embedding runtime (None: the runtime's default). On a small shared
    # machine 1 gives the steadiest query latency (benchmarks/embedding_speed.py).
    embedding_threads: int | None = None
    model_cache: Path | None = None
    # Web sessions: the signing key (default: created once in HOME/session_secret) and
    # whether cookies are sent over HTTPS only (turn on behind TLS).
    session_secret: str | None = None
    secure_cookies: bool = False
    # Where rate-limit counters live: memory:// (one process) or redis://host:6379/N, shared by
    # every API process of one service (api/ratelimit.py).
    ratelimit_url: str = "memory://"
    # Seconds between checks that another process changed the catalogue or the live model
    # (api/follow.py); 0 turns following off.
    follow_interval: float = 5.0
    # The job queue (api.queue): a Redis URL, e.g. redis://127.0.0.1:6379/0. Unset: jobs run
    # in a thread of the API process. Set: `peyvand worker` processes run them.
    queue_url: str | None = None
    # Redis key prefix (several homes may share one Redis).
    queue_namespace: str = "peyvand"
    # A worker silent this long is taken for dead: its tasks go to the next worker.
    queue_heartbeat_s: float = 30.0
    # Applications per task when a round is scored by queue workers.
    queue_chunk_size: int = 200

    @cached_property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL: PEYVAND_DATABASE_URL, else a SQLite file in the home."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_home / 'peyvand.db'}"

    @property
    def models_dir(self) -> Path:
        """Where embedding models are built and cached (PEYVAND_MODEL_CACHE or HOME/models)."""
        return (self.model_cache or self.resolved_home / "models").expanduser().resolve()

    @property
    def index_dir(self) -> Path:
        return self.resolved_home / "index"

    @property
    def registry_dir(self) -> Path:
        return self.resolved_home / "registry"

    @property
    def vector_cache(self) -> str | Path:
        """Where embeddings are cached: on PostgreSQL the store itself (one cache for every
        API process and queue worker of the service, on every machine); otherwise a SQLite
        file in the home."""
        from sqlalchemy.engine import make_url

        from recommender.store.engine import normalize_url

        if make_url(normalize_url(self.db_url)).get_backend_name() == "postgresql":
            return self.db_url
        return self.resolved_home / "vectors.sqlite"
