"""Calls into the Recommender shared by the API routes, the web pages and the round job."""

from __future__ import annotations

import time
from typing import Any

from recommender import schemas as contracts
from recommender.errors import NotFoundError
from recommender.retrieval.filters import ProgramFilter
from recommender.store.database import Store

from .accounts import Accounts, User
from .engine import RecommenderHolder
from .metrics import Metrics
from .schemas import MatchResponse


def run_match(
    holder: RecommenderHolder,
    metrics: Metrics | None,
    source: str,
    *,
    text: str | None = None,
    application: contracts.Application | None = None,
    filters: ProgramFilter | None = None,
    top: int = 10,
    facts: dict[str, Any] | None = None,
) -> MatchResponse:
    """`Recommender.recommend(...)` as a MatchResponse, timed under `source` ("match",
    "suggest", "web"); `facts` corrects the facts read from free text."""
    started = time.perf_counter()
    result = holder.recommend(
        text=text, application=application, filters=filters, top=top, facts=facts
    )
    if metrics is not None:
        metrics.recommend_latency.labels(source).observe(time.perf_counter() - started)
    return MatchResponse.from_result(result)


def visible_application(
    store: Store, accounts: Accounts, user: User, application_id: str, action: str
) -> contracts.Application:
    """The application if `user` may see it: its owner, or staff (then the read is audited).

    Raises:
        NotFoundError: unknown id, or an applicant asking for someone else's application
            (the same answer, so ids of others cannot be probed).
    """
    if not user.is_staff and accounts.owner_of(application_id) != user.id:
        raise NotFoundError(f"no application with id '{application_id}'")
    application = store.get_application(application_id)
    if user.is_staff:
        store.audit(user.actor, action, "application", application_id)
    return application
