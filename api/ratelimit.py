"""A small in-memory rate limiter (sliding window per key), used on the login form and the
applicant endpoints.

Why not slowapi: the limits here are few and keyed by account or client address, and an
in-memory window per process is enough for one server; behind several replicas put the
limit in the proxy (nginx `limit_req`) as well. Refused requests get 429 with `Retry-After`.
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
