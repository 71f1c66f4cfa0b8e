"""Accepting a round's allocation: every pair the allocation gives a residency seat or money
becomes a decision, in one step and all or nothing (issue 12, "accept the allocation").

The allocation is the one a round run saved (`recommender.rounds.problem`, allocation.json
in the run's folder: `allocation_pairs` reads it). Each pair goes through the very checks of
`recommender.workflow.decide` (the program's `funding_max`, the round's remaining budget,
the house of the program) inside ONE transaction: when any pair fails a check, nothing is
stored, and the error lists every pair that failed and why (`AllocationRefused`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from recommender.errors import InvalidInputError, NotFoundError, PeyvandError, bilingual
from recommender.rounds.problem import result_from_dict
from recommender.store.database import Store
from recommender.store.workflow import Decision
from recommender.text.persian import format_number
from recommender.workflow import Actor, _record_decision, _require_staff

__all__ = [
    "ACCEPT_NOTE",
    "AllocationPair",
    "AllocationRefused",
    "Refusal",
    "accept_allocation",
    "allocation_pairs",
]

#: The note each decision made by accepting an allocation carries (unless one is given).
ACCEPT_NOTE = "پذیرش تخصیص دوره"


class AllocationPair(Protocol):
    """What one allocated pair gives (`recommender.allocation.result.PairDecision`)."""

    @property
    def application_id(self) -> str: ...
    @property
    def program_id(self) -> str: ...
    @property
    def residency(self) -> bool: ...
    @property
    def funding_amount(self) -> int: ...


@dataclass(frozen=True)
class Refusal:
    """One pair of the allocation that failed a decision's check; `reason` is bilingual."""

    application_id: str
    program_id: str
    reason: str


class AllocationRefused(InvalidInputError):
    """The allocation was not accepted: `refusals` lists each failing pair; nothing stored."""

    def __init__(self, round_id: str, refusals: Sequence[Refusal], n_pairs: int) -> None:
        self.round_id = round_id
        self.refusals = list(refusals)
        self.n_pairs = n_pairs
        n = len(self.refusals)
        english = (
            f"the allocation of round '{round_id}' was not accepted: {n} of its {n_pairs} "
            "decisions fail a check, so none was stored: "
            + "; ".join(
                f"{r.application_id} at {r.program_id}: {r.reason.split(' — ')[0]}"
                for r in self.refusals[:20]
            )
        )
        persian = (
            f"تخصیص پذیرفته نشد: {format_number(n)} تصمیم از {format_number(n_pairs)} تصمیم "
            "آن از بررسی‌ها نگذشت و هیچ تصمیمی ثبت نشد."
        )
        super().__init__(bilingual(english, persian))


def allocation_pairs(state: Mapping[str, Any], round_id: str) -> list[Any]:
    """The pairs of a saved allocation (allocation.json read by
    `rounds.problem.load_allocation_state`), checked to be `round_id`'s.

    Raises:
        InvalidInputError: the allocation is another round's, or cannot be read.
    """
    if state.get("round_id") != round_id:
        raise InvalidInputError(
            bilingual(
                f"the saved allocation is of round '{state.get('round_id')}', not '{round_id}'",
                "تخصیص ذخیره‌شده از دورهٔ دیگری است.",
            )
        )
    return list(result_from_dict(state.get("result") or {}).decisions)


def _persian_reason(exc: PeyvandError) -> str:
    text = str(exc)
    if " — " in text:
        return text
    if isinstance(exc, NotFoundError):
        return bilingual(text, "درخواست یا برنامه پیدا نشد یا در اختیار این خانه نیست.")
    return bilingual(text, "این تصمیم از بررسی‌ها نگذشت.")


def accept_allocation(
    store: Store,
    actor: Actor,
    round_id: str,
    pairs: Sequence[AllocationPair],
    *,
    note: str = ACCEPT_NOTE,
    today: dt.date | None = None,
) -> list[Decision]:
    """Turn the round's allocation into decisions, all or nothing.

    Each pair (residency, funding amount) is decided as `workflow.decide` would: a residency
    granted when the pair has a seat, its amount funded; the decisions are corrections of
    any earlier ones (the history is kept). A decision on a pair the allocation leaves out
    stands. Every pair is checked (the failures are all
    listed) and, when one fails, the transaction is rolled back.

    Args:
        store: the caller's scoped store.
        actor: the caller (staff of the round's house, the network operator or admin).
        round_id: the round; another house's is a NotFoundError.
        pairs: the allocated pairs (`allocation_pairs`), each program one of the round's.
        note: the note of every decision.
        today: the decisions' date (default: today).

    Returns:
        The decisions stored, in the allocation's order.

    Raises:
        PermissionDeniedError: an applicant.
        NotFoundError: a round the caller cannot see.
        InvalidInputError: an allocation that gives nothing.
        AllocationRefused: one or more pairs fail a check (nothing is stored).
    """
    _require_staff(actor)
    today = today or dt.date.today()
    if not pairs:
        raise InvalidInputError(
            bilingual(
                "the allocation gives no seat and no money to anyone: nothing to accept",
                "این تخصیص به هیچ درخواستی صندلی یا سرمایه‌ای نمی‌دهد؛ چیزی برای پذیرفتن نیست.",
            )
        )
    decisions: list[Decision] = []
    refusals: list[Refusal] = []
    with store.session() as s:
        intake = store.get_round(round_id, session=s)
        # Programs are locked in one order, so two acceptances never wait on each other.
        for pair in sorted(pairs, key=lambda p: (p.program_id, p.application_id)):
            if pair.program_id not in intake.program_ids:
                reason = bilingual(
                    f"the program '{pair.program_id}' is not in the round",
                    "این برنامه در این دوره نیست.",
                )
                refusals.append(Refusal(pair.application_id, pair.program_id, reason))
                continue
            try:
                decision = _record_decision(
                    store,
                    s,
                    actor,
                    pair.application_id,
                    pair.program_id,
                    residency_granted=bool(pair.residency),
                    funded_amount=int(pair.funding_amount),
                    note=note,
                    today=today,
                )
            except (InvalidInputError, NotFoundError) as exc:
                reason = _persian_reason(exc)
                refusals.append(Refusal(pair.application_id, pair.program_id, reason))
                continue
            decisions.append(decision)
        if refusals:
            raise AllocationRefused(round_id, refusals, len(pairs))  # rolls everything back
        store.audit(
            actor.name,
            "accept_allocation",
            "round",
            round_id,
            detail={"decisions": len(decisions)},
            session=s,
        )
    order = {(p.application_id, p.program_id): i for i, p in enumerate(pairs)}
    return sorted(decisions, key=lambda d: order[(d.application_id, d.program_id)])
