"""The loaded `Recommender` of a running app: loaded once in the background at start-up, shared
by every request, with a cap on concurrent calls (the model and index are CPU-bound; more
threads than cores only add latency).

The real loader is `api.services.load_recommender(settings)`; tests pass a fake instance
whose `recommend` answers with the library's own `pipeline.RecommendationList`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from recommender import schemas
from recommender.errors import PeyvandError
from recommender.scoring.pipeline import RecommendationList, Recommender

from .security import safe_traceback

logger = logging.getLogger(__name__)


class NotReadyError(PeyvandError, RuntimeError):
    """The recommender (model + index) is not loaded (yet, or it failed to load)."""

    #: seconds a client should wait before asking again (the `Retry-After` of the 503)
    retry_after: int = 10


# A one-page Persian plan for the warm-up request (no real applicant's text).
WARMUP_PLAN = (
    "ما یک سامانهٔ پرداخت و کیف پول دیجیتال برای فروشگاه‌های کوچک ساخته‌ایم. محصول اولیه آماده "
    "است و پانصد کاربر فعال در تهران داریم. تیم ما چهار نفر است و برای توسعهٔ بازار به سرمایه و "
    "فضای کار در یک شتاب‌دهنده نیاز داریم."
)


#: Loads a Recommender; a reload passes the current instance (None on the first load), so the
#: loader can reuse its embedding model instead of loading a second copy.
Loader = Callable[[Recommender | None], Recommender]


def warm_up(instance: Recommender) -> None:
    """Run what a first request runs (a staff match by text, an applicant's suggestions by
    application) once, so lazy loads (normalizer tables, tokenizer, runtime sessions, the
    explainer's vocabulary) happen before `/readyz` says ready. Failures are logged only."""
    started = time.monotonic()
    try:
        instance.recommend(text=WARMUP_PLAN, top=10)
        application = schemas.Application(
            id="warm-up", startup_name="گرم‌کردن", business_plan=WARMUP_PLAN,
            sectors=["fintech"], stage="mvp", province="تهران", city="تهران", team_size=4,
            funding_ask=2_000_000_000, needs_residency=True,
        )
        instance.recommend(application=application, top=10)
    except Exception as exc:  # a warm-up never decides whether the service starts
        logger.warning("warm-up request failed (%s)", type(exc).__name__)
        return
    logger.info("recommender warmed up in %.1f s", time.monotonic() - started)


def release_memory() -> None:
    """Collect reference cycles now (the old model and index sit in cycles that a gen-2 pass
    may not reach for a long time) and hand freed heap pages back to the OS (glibc)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        trim = getattr(libc, "malloc_trim", None)
        if trim is not None:
            trim(0)
    except OSError:
        pass


class RecommenderHolder:
    """Holds one Recommender for the app.

    Args:
        loader: returns a loaded Recommender, given the current one (None at first); None
            when the instance is given.
        instance: an already-loaded recommender.
        max_concurrent: at most this many `recommend` calls run at once; others wait.
        warm: run `warm_up` on a freshly loaded recommender before it serves (and before
            `/readyz` says ready).
        stamp: what the shared store and registry hold now, as a digest
            (`api.follow.service_stamp`); each load records the stamp it was loaded from, so
            a `Follower` can tell when another process changed them.
    """

    def __init__(
        self,
        loader: Loader | None = None,
        instance: Recommender | None = None,
        max_concurrent: int = 4,
        warm: bool = True,
        stamp: Callable[[], str] | None = None,
    ) -> None:
        self.loader = loader
        self.warm = warm
        self.stamp = stamp
        self.loaded_stamp: str | None = None
        self._instance = instance
        self._state = "ready" if instance is not None else ("loading" if loader else "absent")
        self._reason = "" if instance is not None else "no recommender is configured"
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, max_concurrent))
        self._thread: threading.Thread | None = None
        self._reloading = False
        self._reload_again = False
        self._loading = False  # the first background load is running
        self._settled = threading.Event()  # set while no load or reload is in progress
        self._settled.set()

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
        self._settled.clear()
        self._loading = True

        def run() -> None:
            try:
                self.load()
            finally:
                with self._lock:
                    self._loading = False
                    if not self._reloading:
                        self._settled.set()

        self._thread = threading.Thread(target=run, name="peyvand-load", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background load; True when ready."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._state == "ready"

    @property
    def idle(self) -> bool:
        """No load or reload is in progress."""
        return self._settled.is_set()

    def load(self) -> None:
        """Load now (in this thread)."""
        assert self.loader is not None
        started = time.monotonic()
        previous = self._instance
        try:
            # Read before loading: a change made during the load shows as a new stamp later.
            stamp = self.stamp() if self.stamp is not None else None
            instance = self.loader(previous)
            if self.warm:
                warm_up(instance)
        except PeyvandError as exc:
            self._state, self._reason = "failed", str(exc).splitlines()[0][:500]
            logger.warning("recommender not loaded: %s", self._reason)
            return
        except Exception as exc:
            self._state = "failed"
            self._reason = f"loading the recommender failed ({type(exc).__name__})"
            logger.error("recommender not loaded\n%s", safe_traceback(exc))
            return
        finally:
            del previous
        with self._lock:
            self._instance = instance
            self._state, self._reason = "ready", ""
            self.loaded_stamp = stamp
        del instance
        # The replaced model and index are unreachable now (requests still using them hold
        # their own references until they finish); give their memory back.
        release_memory()
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
            self._settled.clear()
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
                    if not self._loading:
                        self._settled.set()
                    return
                self._reload_again = False

    def get_settled(self, timeout: float = 900.0) -> Recommender:
        """The recommender once the load or reload in progress (after a catalogue change) has
        finished, so a job sees every program the store has. Raises: NotReadyError."""
        if not self._settled.wait(timeout):
            logger.warning("the recommender did not finish reloading in %.0f s", timeout)
        return self.get()

    def get(self) -> Recommender:
        """The loaded recommender. Raises: NotReadyError."""
        if self._instance is None:
            raise NotReadyError(
                f"matching is not available right now: {self._reason or self._state}"
            )
        return self._instance

    def recommend(self, **kwargs: Any) -> RecommendationList:
        """`Recommender.recommend(**kwargs)`, at most `max_concurrent` at a time."""
        recommender = self.get()
        with self._slots:
            return recommender.recommend(**kwargs)

