"""A small in-memory rate limiter (sliding window per key), used on the login form and the
applicant endpoints.

Why not slowapi: the limits here are few and keyed by account or client address, and an
in-memory window per process is enough for one server. Several API processes share their
counters in Redis instead (`RedisRateLimiter`, on the `limits` library's moving window; the
app uses it when `PEYVAND_QUEUE_URL` names a Redis), so a limit holds across processes and
machines. Refused requests get 429 with `Retry-After`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """At most `limit` requests per `window` seconds for one key."""

    limit: int
    window: float


DEFAULT_RULES: dict[str, Rule] = {
    # Password guessing: 10 tries a minute per client address and user name, and 30 a minute
    # per client address whatever the names (spraying many names from one address).
    "login": Rule(10, 60.0),
    "login_address": Rule(30, 60.0),
    # Applicant writes (submit, edit) and suggestion requests, per account.
    "applicant_write": Rule(30, 60.0),
    "applicant_suggest": Rule(60, 60.0),
}


class RateLimiter:
    """Sliding-window counters per (rule, key); thread-safe.

    Args:
        rules: limits by rule name (unknown rule names are not limited).
    """

    def __init__(self, rules: dict[str, Rule] | None = None) -> None:
        self.rules = dict(DEFAULT_RULES if rules is None else rules)
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def hit(self, rule: str, key: str, now: float | None = None) -> float | None:
        """Count one request; None when allowed, else the seconds to wait."""
        spec = self.rules.get(rule)
        if spec is None:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            self._calls += 1
            if self._calls % 1000 == 0:
                self._purge(now)
            window = self._hits.setdefault((rule, key), deque())
            while window and now - window[0] >= spec.window:
                window.popleft()
            if len(window) >= spec.limit:
                return max(0.0, spec.window - (now - window[0]))
            window.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()

    def _purge(self, now: float) -> None:
        longest = max((r.window for r in self.rules.values()), default=0.0)
        stale = [k for k, w in self._hits.items() if not w or now - w[-1] >= longest]
        for key in stale:
            del self._hits[key]


class LimiterUnavailableError(RuntimeError):
    """The shared counters (Redis) do not answer: the request is refused with 503."""


class RedisRateLimiter:
    """The same rules as `RateLimiter`, counted in Redis (a moving window per rule and key,
    `limits.strategies.MovingWindowRateLimiter`) so every API process shares them.

    Args:
        url: the Redis URL (`PEYVAND_QUEUE_URL`).
        rules: limits by rule name (unknown rule names are not limited).
        namespace: key prefix (several homes may share one Redis).
    """

    def __init__(
        self, url: str, rules: dict[str, Rule] | None = None, namespace: str = "peyvand"
    ) -> None:
        from limits import RateLimitItemPerSecond
        from limits.storage import RedisStorage
        from limits.strategies import MovingWindowRateLimiter

        self.rules = dict(DEFAULT_RULES if rules is None else rules)
        self.storage = RedisStorage(url, key_prefix=f"{namespace}:limits")
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.items = {
            name: RateLimitItemPerSecond(rule.limit, max(1, round(rule.window)))
            for name, rule in self.rules.items()
        }

    def hit(self, rule: str, key: str, now: float | None = None) -> float | None:
        """Count one request; None when allowed, else the seconds to wait."""
        import redis

        item = self.items.get(rule)
        if item is None:
            return None
        try:
            if self.limiter.hit(item, rule, key):
                return None
            stats = self.limiter.get_window_stats(item, rule, key)
        except redis.RedisError as exc:
            raise LimiterUnavailableError(type(exc).__name__) from exc
        return max(0.0, stats.reset_time - time.time())

    def reset(self) -> None:
        """Forget every count (all keys under this limiter's prefix)."""
        self.storage.reset()
