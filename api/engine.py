"""The loaded `Recommender` of a running app: loaded once in the background at start-up, shared
by every request, with a cap on concurrent calls (the model and index are CPU-bound; more
threads than cores only add latency).

The real loader is `api.services.load_recommender(settings)`; tests pass a fake instance.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from recommender.errors import PeyvandError

from .security import safe_traceback

logger = logging.getLogger(__name__)


class NotReadyError(PeyvandError, RuntimeError):
    """The recommender (model + index) is not loaded (yet, or it failed to load)."""


class RecommenderHolder:
    """Holds one Recommender for the app.

    Args:
        loader: zero-argument callable returning a loaded Recommender (or None when the
            instance is given).
        instance: an already-loaded recommender.
        max_concurrent: at most this many `recommend` calls run at once; others wait.
    """

    def __init__(
        self,
        loader: Callable[[], Any] | None = None,
        instance: Any | None = None,
        max_concurrent: int = 4,
    ) -> None:
        self.loader = loader
        self._instance = instance
        self._state = "ready" if instance is not None else ("loading" if loader else "absent")
        self._reason = "" if instance is not None else "no recommender is configured"
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, max_concurrent))
        self._thread: threading.Thread | None = None
        self._reloading = False
        self._reload_again = False

    @property
    def state(self) -> str:
        """`ready`, `loading`, `failed` or `absent`."""
        return self._state

    @property
    def reason(self) -> str:
        """Why it is not ready, in plain words."""
        return self._reason

    def load_in_background(self) -> None:
        if self._instance is not None or self.loader is None:
            return
        self._state, self._reason = "loading", "the model and index are still loading"
        self._thread = threading.Thread(target=self.load, name="peyvand-load", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background load; True when ready."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._state == "ready"

    def load(self) -> None:
        """Load now (in this thread)."""
        assert self.loader is not None
        started = time.monotonic()
        try:
            instance = self.loader()
        except PeyvandError as exc:
            self._state, self._reason = "failed", str(exc).splitlines()[0][:500]
            logger.warning("recommender not loaded: %s", self._reason)
            return
        except Exception as exc:
            self._state = "failed"
            self._reason = f"loading the recommender failed ({type(exc).__name__})"
            logger.error("recommender not loaded\n%s", safe_traceback(exc))
            return
        with self._lock:
            self._instance = instance
            self._state, self._reason = "ready", ""
        logger.info("recommender loaded in %.1f s", time.monotonic() - started)

    def reload_in_background(self) -> None:
        """Load a fresh recommender (after the catalogue changed) and swap it in when done;
        the current one keeps answering meanwhile. Calls during a reload coalesce into one
        more reload."""
        if self.loader is None:
            return
        with self._lock:
            if self._reloading:
                self._reload_again = True
                return
            self._reloading = True
        threading.Thread(target=self._reload_loop, name="peyvand-reload", daemon=True).start()

    def _reload_loop(self) -> None:
        while True:
            had = self._instance is not None
            self.load()
            if had and self._state == "failed":
                # Keep answering from the previous instance; the failure is logged.
                self._state = "ready"
            with self._lock:
                if not self._reload_again:
                    self._reloading = False
                    return
                self._reload_again = False

    def get(self) -> Any:
        """The loaded recommender. Raises: NotReadyError."""
        if self._instance is None:
            raise NotReadyError(
                f"matching is not available right now: {self._reason or self._state}"
            )
        return self._instance

    def recommend(self, **kwargs: Any) -> Any:
        """`Recommender.recommend(**kwargs)`, at most `max_concurrent` at a time."""
        recommender = self.get()
        with self._slots:
            return recommender.recommend(**kwargs)


def _plain(value: Any) -> dict[str, Any]:
    if hasattr(value, "to_dict"):
        return dict(value.to_dict())
    if hasattr(value, "model_dump"):
        return dict(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return dict(value)
    return {name: getattr(value, name) for name in ITEM_FIELDS if hasattr(value, name)}


def _factors(value: Any) -> dict[str, float]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()}
    return {str(k): float(v) for k, v in value}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


ITEM_FIELDS = (
    "program_id",
    "name",
    "score",
    "p_residency",
    "p_funding",
    "expected_funding",
    "reasons",
    "factors",
)
EXTRA_FIELDS = ("kind", "province", "rank", "dense_score", "lexical_score", "evidence_span")
LIST_FIELDS = ("empty_reason", "ranker", "model_version", "embedding_model")


def recommendation_items(result: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """(items, notes) of a `pipeline.RecommendationList` (or a plain list of items).

    Each item has ITEM_FIELDS (what `recommend --json` prints at least; probabilities are None
    without a trained model) plus whichever of EXTRA_FIELDS the recommender gives.
    """
    raw_items = result if isinstance(result, list) else getattr(result, "items", [])
    notes = [] if isinstance(result, list) else list(getattr(result, "notes", None) or [])
    items: list[dict[str, Any]] = []
    for raw in raw_items or []:
        data = _plain(raw)
        item: dict[str, Any] = {
            "program_id": str(data.get("program_id")),
            "name": str(data.get("name") or ""),
            "score": float(data.get("score") or 0.0),
            "p_residency": _number(data.get("p_residency")),
            "p_funding": _number(data.get("p_funding")),
            "expected_funding": _number(data.get("expected_funding")),
            "reasons": [str(r) for r in data.get("reasons") or []],
            "factors": _factors(data.get("factors")),
        }
        for name in EXTRA_FIELDS:
            if data.get(name) is not None:
                item[name] = data[name]
        items.append(item)
    return items, [str(n) for n in notes]


def recommendation_meta(result: Any) -> dict[str, Any]:
    """LIST_FIELDS of a RecommendationList that has them (empty_reason, ranker, ...)."""
    return {name: getattr(result, name) for name in LIST_FIELDS if hasattr(result, name)}
