"""Calls into the Recommender shared by the API routes, the web pages and the round job."""

from __future__ import annotations

import time
from typing import Any

from recommender import schemas as contracts
from recommender.errors import InvalidInputError
from recommender.retrieval.filters import ProgramFilter
from recommender.store.database import Store

from .accounts import User
from .engine import RecommenderHolder
from .metrics import Metrics
from .schemas import MatchResponse


def run_match(
    holder: RecommenderHolder,
    metrics: Metrics | None,
    source: str,
    *,
    store: Store | None = None,
    text: str | None = None,
    application: contracts.Application | None = None,
    filters: ProgramFilter | None = None,
    top: int = 10,
    facts: dict[str, Any] | None = None,
) -> MatchResponse:
    """`Recommender.recommend(...)` as a MatchResponse, timed under `source` ("match",
    "suggest", "web"); `facts` corrects the facts read from free text.

    The whole network's programs are searched whoever asks (a house filter narrows them);
    each item carries its house (`org_id`) and, with `store`, the house's name (one query
    per answer, never one per item).

    Raises:
        InvalidInputError: the filter names a house that does not exist.
    """
    names = store.org_names() if store is not None else None
    if names is not None and filters is not None and filters.org_id is not None:
        if filters.org_id not in names:
            raise InvalidInputError(f"no house with id '{filters.org_id}'")
    started = time.perf_counter()
    result = holder.recommend(
        text=text, application=application, filters=filters, top=top, facts=facts
    )
    if metrics is not None:
        metrics.recommend_latency.labels(source).observe(time.perf_counter() - started)
    if names is not None:
        result.name_houses(names)
    return MatchResponse.from_result(result)


def visible_application(
    store: Store, user: User, application_id: str, action: str
) -> contracts.Application:
    """The application if `user` may see it (`store` is scoped to `user`, see deps.store_for):
    its owner, staff of its house or of a house it is referred to, the network operator and
    admin. A staff read is audited.

    Raises:
        NotFoundError: unknown id, or one the user may not see (the same answer, so ids of
            others cannot be probed).
    """
    application = store.get_application(application_id)
    if user.is_staff:
        store.audit(user.actor, action, "application", application_id)
    return application
