"""`ProgramFilter`: the conditions staff put on candidate programs (house, province, kind,
sector, stage, seats, funding, remote, knowledge-based, a list of ids), each failure with a
Persian reason. The conditions shared with the applicant's hard eligibility rules (active, stage,
knowledge-based) come from `recommender.eligibility`, so each is written once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from recommender.constants import KIND_LABELS_FA
from recommender.eligibility import (
    inactive_reason,
    knowledge_based_reason,
    place_key,
    stage_reason,
)
from recommender.schemas import Program

__all__ = ["ProgramFilter"]


def _rial(amount: int) -> str:
    return f"{amount:,} ریال"


# One generic Persian sentence per failed condition, for summaries over many programs.
_REASON_SUMMARY_FA: dict[str, str] = {
    "inactive": "برنامه فعال نیست",
    "not_in_list": "برنامه در فهرست برنامه‌های این دوره نیست",
    "org": "برنامه از خانهٔ انتخاب‌شده نیست",
    "kind": "نوع برنامه جزو نوع‌های انتخاب‌شده نیست",
    "province": "برنامه در استان‌های انتخاب‌شده نیست",
    "remote": "برنامه حضور از راه دور را نمی‌پذیرد",
    "sector": "حوزهٔ کاری برنامه با حوزه‌های انتخاب‌شده هم‌خوان نیست",
    "stage": "برنامه این مرحلهٔ رشد را نمی‌پذیرد",
    "knowledge_based": "برنامه فقط شرکت‌های دانش‌بنیان را می‌پذیرد",
    "seats": "ظرفیت خالی برنامه کمتر از حد خواسته‌شده است",
    "funding": "مبلغ درخواستی در بازهٔ تأمین مالی برنامه نیست",
}


@dataclass
class ProgramFilter:
    """Conditions a program must meet to be a candidate. `None` means "no condition".

    Attributes:
        provinces: the program's province is one of these.
        kinds: the program's kind is one of these (see constants.PROGRAM_KINDS).
        sectors: the program covers at least one of these sector slugs.
        stage: the program accepts startups at this stage.
        active_only: drop inactive programs (default).
        min_open_seats: the program has at least this many open residency seats.
        open_seats: open seats per program id (e.g. what is left in a round); programs not in
            it count their `residency_seats`.
        funding_ask: the program can fund this amount (funding_min <= ask <= funding_max).
        funding_range: (low, high) in rial; the program's funding range overlaps it.
        accepts_remote: True keeps only programs that accept remote participants.
        knowledge_based: False drops programs that require a knowledge-based company.
        program_ids: the program is one of these ids (e.g. the programs of a round).
        org_id: the program is run by this house (`Program.org_id`); None: the whole network.
    """

    provinces: Collection[str] | None = None
    kinds: Collection[str] | None = None
    sectors: Collection[str] | None = None
    stage: str | None = None
    active_only: bool = True
    min_open_seats: int | None = None
    open_seats: Mapping[str, int] | None = None
    funding_ask: int | None = None
    funding_range: tuple[int, int] | None = None
    accepts_remote: bool | None = None
    knowledge_based: bool | None = None
    program_ids: Collection[str] | None = None
    org_id: str | None = None

    def has_conditions(self) -> bool:
        """True when the filter can drop an active program (any condition but `active_only`)."""
        return any(
            (
                self.provinces is not None,
                self.kinds is not None,
                self.sectors is not None,
                self.stage is not None,
                self.min_open_seats is not None,
                bool(self.funding_ask),
                self.funding_range is not None,
                bool(self.accepts_remote),
                self.knowledge_based is False,
                self.program_ids is not None,
                self.org_id is not None,
            )
        )

    def _failure(self, program: Program) -> tuple[str, str] | None:
        """(reason code, Persian reason) of the first condition `program` fails, or None."""
        if self.active_only and (reason := inactive_reason(program)) is not None:
            return "inactive", reason
        if self.program_ids is not None and program.id not in self.program_ids:
            return "not_in_list", "این برنامه در فهرست برنامه‌های انتخاب‌شده نیست."
        if self.org_id is not None and program.org_id != self.org_id:
            return "org", "این برنامه را خانهٔ دیگری برگزار می‌کند، نه خانهٔ انتخاب‌شده."
        if self.kinds is not None and program.kind not in self.kinds:
            label = KIND_LABELS_FA.get(program.kind, program.kind)
            return "kind", f"نوع این برنامه ({label}) جزو نوع‌های انتخاب‌شده نیست."
        if self.provinces is not None:
            wanted = {place_key(p) for p in self.provinces}
            if place_key(program.province) not in wanted:
                return "province", (
                    f"این برنامه در استان {program.province} است، نه در استان‌های انتخاب‌شده."
                )
        if self.accepts_remote and not program.accepts_remote:
            return "remote", "این برنامه حضور از راه دور را نمی‌پذیرد."
        if self.sectors is not None and not set(self.sectors) & set(program.sectors):
            return "sector", "حوزه‌های کاری این برنامه با حوزه‌های انتخاب‌شده هم‌خوان نیست."
        if self.stage is not None and (reason := stage_reason(program, self.stage)) is not None:
            return "stage", reason
        if self.knowledge_based is False and (
            reason := knowledge_based_reason(program, False, applicant=False)
        ) is not None:
            return "knowledge_based", reason
        if self.min_open_seats is not None:
            seats = program.residency_seats
            if self.open_seats is not None:
                seats = self.open_seats.get(program.id, seats)
            if seats < self.min_open_seats:
                return "seats", (
                    f"ظرفیت خالی این برنامه ({seats}) کمتر از حد خواسته‌شده "
                    f"({self.min_open_seats}) است."
                )
        if self.funding_ask is not None and self.funding_ask > 0:
            if program.funding_max <= 0:
                return "funding", "این برنامه تأمین مالی نمی‌کند."
            if not program.funding_min <= self.funding_ask <= program.funding_max:
                return "funding", (
                    f"مبلغ درخواستی ({_rial(self.funding_ask)}) در بازهٔ تأمین مالی این برنامه "
                    f"({_rial(program.funding_min)} تا {_rial(program.funding_max)}) نیست."
                )
        if self.funding_range is not None:
            low, high = self.funding_range
            if program.funding_max <= 0 or program.funding_max < low or program.funding_min > high:
                return "funding", (
                    f"بازهٔ تأمین مالی این برنامه ({_rial(program.funding_min)} تا "
                    f"{_rial(program.funding_max)}) با بازهٔ انتخاب‌شده هم‌پوشانی ندارد."
                )
        return None

    def matches(self, program: Program) -> tuple[bool, str | None]:
        """Whether `program` passes, and if not, why (one Persian sentence).

        Args:
            program: the program to check.

        Returns:
            (True, None) when it passes, else (False, reason of the first failed condition).
        """
        failure = self._failure(program)
        return (True, None) if failure is None else (False, failure[1])

    def explain_no_match(self, programs: Sequence[Program]) -> str:
        """A Persian sentence saying why none (or few) of `programs` pass, most common first.

        Args:
            programs: the programs that were filtered.

        Returns:
            The explanation, e.g. "هیچ برنامه‌ای با این شرط‌ها پیدا نشد. بیشترین دلیل‌ها: ...".
        """
        counts = Counter(
            failure[0] for failure in map(self._failure, programs) if failure is not None
        )
        if not programs:
            return "هنوز هیچ برنامه‌ای ثبت نشده است."
        if not counts:
            return "همهٔ برنامه‌ها با این شرط‌ها جور هستند."
        parts = [f"{_REASON_SUMMARY_FA[code]} ({n} برنامه)" for code, n in counts.most_common(3)]
        return "هیچ برنامه‌ای با این شرط‌ها پیدا نشد. بیشترین دلیل‌ها: " + "؛ ".join(parts) + "."

