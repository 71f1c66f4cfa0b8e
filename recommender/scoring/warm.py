"""Embedding stored business plans ahead of use: after a call's thousands of plans are
imported, their vectors are made once, in chunks any queue worker can run (`api.embed_tasks`),
so a staff match, an applicant's suggestions and the round's scoring find them ready.

The texts embedded are exactly those matching embeds (`normalization.normalize` of the plan,
the recommender's plan role), so the vectors land under the same cache keys; on PostgreSQL
that cache is the store's own table, shared by every process of the service. Plans already
cached cost a look-up only, so a chunk run twice (a worker killed mid-chunk) redoes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recommender.scoring.core import embed_plans, has_words
from recommender.store.database import Store
from recommender.text.normalization import normalize

__all__ = ["EmbedResult", "application_ids", "embed_stored_plans"]


@dataclass(frozen=True)
class EmbedResult:
    """What one `embed_stored_plans` call did.

    Attributes:
        n_plans: applications whose plans were looked at.
        n_empty: plans with no word (nothing to embed).
        n_embedded_chunks: chunks sent to the model (0 when every plan was cached already).
        seconds: wall time.
    """

    n_plans: int
    n_empty: int
    n_embedded_chunks: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_plans": self.n_plans,
            "n_empty": self.n_empty,
            "n_embedded_chunks": self.n_embedded_chunks,
            "seconds": round(self.seconds, 3),
        }


def application_ids(store: Store, round_id: str | None = None) -> list[str]:
    """The ids (sorted) of the applications `store` sees, or of one round's.

    Raises:
        NotFoundError: `round_id` is not a round `store` sees.
    """
    if round_id:
        store.get_round(round_id)  # another house's round is missing, like an unknown one
    return [a.id for a in store.list_applications(round_id or None)]


def embed_stored_plans(
    store: Store, ids: Sequence[str], embedder: Any, role: str
) -> EmbedResult:
    """Embed the plans of the applications `ids` (ids `store` no longer sees are skipped).

    Args:
        store: the store, scoped as the job's caller.
        ids: application ids.
        embedder: the recommender's fitted embedder (its cache keeps the vectors).
        role: the recommender's plan role.
    """
    started = time.perf_counter()
    texts = [normalize(a.business_plan) for a in store.list_applications(ids=ids)]
    before = int(getattr(embedder, "n_encoded_", 0))
    dim = int(getattr(embedder, "dim_", 0))
    embed_plans(embedder, texts, role, dim)
    return EmbedResult(
        n_plans=len(texts),
        n_empty=sum(1 for text in texts if not has_words(text)),
        n_embedded_chunks=int(getattr(embedder, "n_encoded_", 0)) - before,
        seconds=time.perf_counter() - started,
    )
