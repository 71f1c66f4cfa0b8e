"""Rate limits on the login form and the applicant endpoints, kept by the `limits` library.

Where the counters live is one setting, `PEYVAND_RATELIMIT_URL`: `memory://` (the default:
one process, as `make run` starts it) or `redis://host:6379/N` for a service of several API
processes, where a limit must hold across all of them (a password guesser spreading tries
over the replicas meets the same counter). `limits` is a well-kept library (the one Flask-
Limiter and slowapi use) with the same moving-window rule in memory and in Redis, so there
is no hand-written counting left here. Refused requests get 429 with `Retry-After`; a
counter store that cannot be reached answers 503 with `Retry-After` (api/deps.check_rate),
and at start-up it stops the service with one clear line.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from recommender.errors import ConfigurationError, bilingual

__all__ = ["DEFAULT_RULES", "RateLimiter", "RateStoreUnavailable", "Rule"]


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


class RateStoreUnavailable(RuntimeError):
    """The counters' store (Redis) did not answer; the request cannot be counted."""


class RateLimiter:
    """Moving-window counters per (rule, key), in the store `url` names.

    Args:
        rules: limits by rule name (unknown rule names are not limited).
        url: `memory://` (this process only) or a `redis://` URL (shared by every process).

    Raises:
        ConfigurationError: a URL `limits` does not know, or a store that does not answer.
    """

    def __init__(self, rules: dict[str, Rule] | None = None, url: str = "memory://") -> None:
        self.rules = dict(DEFAULT_RULES if rules is None else rules)
        self.url = url
        try:
            found = storage_from_string(url, wrap_exceptions=True)
            if not isinstance(found, Storage):  # an asyncio store (async+redis://)
                raise TypeError("asyncio storage")
            self._storage: Storage = found
        except Exception as exc:  # limits raises ConfigurationError/ImportError of its own
            raise ConfigurationError(
                bilingual(
                    f"rate-limit store {_safe(url)!r} cannot be used: {type(exc).__name__}",
                    f"نشانی شمارندهٔ محدودیت درخواست‌ها ({_safe(url)}) به کار نمی‌آید",
                )
            ) from None
        if not self._storage.check():
            raise ConfigurationError(
                bilingual(
                    f"rate-limit store {_safe(url)} does not answer",
                    f"شمارندهٔ محدودیت درخواست‌ها در {_safe(url)} پاسخ نمی‌دهد؛ "
                    "Redis را راه بیندازید یا PEYVAND_RATELIMIT_URL را درست کنید",
                )
            )
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._items: dict[str, RateLimitItem] = {
            name: RateLimitItemPerSecond(rule.limit, max(1, math.ceil(rule.window)))
            for name, rule in self.rules.items()
        }

    def hit(self, rule: str, key: str) -> float | None:
        """Count one request; None when allowed, else the seconds to wait.

        Raises:
            RateStoreUnavailable: the store did not answer (the caller answers 503).
        """
        item = self._items.get(rule)
        if item is None:
            return None
        try:
            if self._strategy.hit(item, rule, key):
                return None
            stats = self._strategy.get_window_stats(item, rule, key)
        except StorageError as exc:
            raise RateStoreUnavailable(type(exc.storage_error).__name__) from None
        return max(0.0, stats.reset_time - time.time())

    def reset(self) -> None:
        """Forget every counter (tests; an operator after a false alarm)."""
        try:
            self._storage.reset()
        except (StorageError, NotImplementedError):
            pass


def _safe(url: str) -> str:
    """The URL without a password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"
