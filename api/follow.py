"""Keep every API process of one service on the same catalogue and model.

A service may run several API processes (`uvicorn --workers N`, or processes on several
machines over one PostgreSQL). Each holds its own loaded `Recommender` (index, live ranker
and the programs' current records). The process that changes the catalogue or promotes a
model reloads at once (`RecommenderHolder.reload_in_background`); the others follow within
`PEYVAND_FOLLOW_INTERVAL` seconds (default 5; 0 turns following off): a `Follower` thread
compares the **stamp** of what is in the shared store and registry now — a digest of every
program's record plus the registry's live version — with the stamp its own recommender was
loaded from, and reloads when they differ.

Why polling a digest rather than a message (Redis pub/sub, PostgreSQL LISTEN/NOTIFY): it
needs no extra moving part, works on SQLite and PostgreSQL alike, catches changes made by
any writer (the CLI, another machine, a restore from backup) and cannot miss a message sent
while a process was starting. Its cost is one read of the programs table per interval
(~20 ms for 2,000 programs).

No request mixes two versions: a request takes one `Recommender` object (index, ranker and
program records together) and keeps it to the end; a reload builds a whole new one and swaps
the reference in one step.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recommender.store.database import Store

    from .engine import RecommenderHolder
    from .settings import Settings

logger = logging.getLogger(__name__)


def service_stamp(store: Store, settings: Settings) -> str:
    """A digest of what a loaded recommender depends on: every program's record (all houses:
    the index serves the network) and the registry's live model version."""
    from recommender.ranking.registry import ModelRegistry

    digest = hashlib.sha256()
    for program in sorted(store.list_programs(), key=lambda p: p.id):
        digest.update(json.dumps(program.model_dump(mode="json"), sort_keys=True).encode())
        digest.update(b"\n")
    live = None
    if settings.registry_dir.exists():
        live = ModelRegistry(settings.registry_dir).live_version()
    digest.update(f"live={live}".encode())
    return digest.hexdigest()


class Follower:
    """A daemon thread that reloads `holder` when `stamp()` differs from the stamp its
    recommender was loaded from.

    Args:
        holder: the process's recommender holder (its `stamp` is set by each load).
        interval: seconds between checks.
    """

    def __init__(self, holder: RecommenderHolder, interval: float) -> None:
        self.holder = holder
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """One check; True when it started a reload."""
        holder = self.holder
        if holder.stamp is None or not holder.idle:
            return False
        try:
            now = holder.stamp()
        except Exception as exc:  # the store is away for a moment: try again next time
            logger.warning("could not read the service stamp (%s)", type(exc).__name__)
            return False
        if holder.loaded_stamp is None or now == holder.loaded_stamp:
            return False
        logger.info("the catalogue or the live model changed elsewhere; reloading")
        holder.reload_in_background()
        return True

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="peyvand-follow", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()


StampFunction = Callable[[], str]
