"""The network operator's view of the whole network: what each house offers and uses, where
demand (applications) and supply (programs, seats, budget) meet per sector, the sectors with
demand and no program, and the referrals between houses.

Every figure is read through the store it is given (`Store.where_visible` on the tenant
tables), so the network operator's unscoped store (`Scope.everything`) sees the whole network
and a scoped store would see only its part. Counting is done in SQL where it is plain (counts
and sums grouped by house, program, round, referral route); the sector lists, stored as JSON,
are grouped by their distinct value in SQL and split per sector here. Business plans are never
read.

Meaning of each figure:

Per house (`HouseFigures`, one per organization, by id):
    programs / inactive_programs: the house's programs that are active / not active.
    seats: residency seats of its active programs (`Program.residency_seats`, summed).
    applications: applications submitted to the house (`Application.org_id`).
    seats_offered: seats of the house's intake rounds: for each round of the house and each
        program it lists, the round's seat override, else the program's `residency_seats`
        (the allocation's rule, `allocation.capacity.round_capacity`), summed over rounds.
    seats_granted: outcomes with `residency_granted` for a (round, program) pair counted in
        `seats_offered` (an outcome's round is its own `round_id`, else its application's).
    fill_rate: seats_granted / seats_offered; None when the house offered no seats in a round.
        Not clipped: a house that granted more seats than its rounds listed shows above 1.
    budget_offered: budget of the house's rounds: the round's budget override, else the
        program's `funding_max x max(1, seats)` (the allocation's rule), summed.
    residency_granted: every outcome with `residency_granted` at the house's programs (any
        round, or none: imported history too).
    funding_granted: `funded_amount` summed over every outcome at the house's programs (rial).
    referrals_sent / referrals_received: referrals from / to the house, any status.

Per sector (`SectorFigures`; an application or program naming several sectors counts fully in
each, so sector figures do not add up to the network's totals):
    applications: applications naming the sector (demand). Applications naming no sector are
        not guessed into one: they are counted once in `NetworkSummary.applications_without_sector`
        (shown as "unknown").
    programs / seats / budget: the network's active programs naming the sector, their
        residency seats, and their budget `funding_max x max(1, residency_seats)` (what a
        round gives a program when it names no budget), summed (supply).
    applications_per_seat: applications / seats; None without seats.
    is_gap: the sector has applications and no active program (what the network should open
        next). `NetworkSummary.gaps` lists them, most demanded first.

Totals (`NetworkTotals`): the same figures over the whole network, each program, application
and outcome counted once (including those of no house); `applications_without_house` are the
applications submitted to the whole network rather than to one house.

Referrals (`ReferralFlow`): how many referrals went from one house to another in each status;
`from_org` None is the network operator (a referral not made by a house).

Sectors are listed in the taxonomy's order (`recommender/sectors.json`), then slugs the
taxonomy does not know, alphabetically; only sectors with demand or supply appear.

May import: recommender.schemas, recommender.taxonomy, recommender.store (reading).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from recommender.schemas import Organization
from recommender.store.tables import (
    ApplicationRow,
    IntakeRoundRow,
    OutcomeRow,
    ProgramRow,
    ReferralRow,
    RoundProgramRow,
)
from recommender.taxonomy import load_sectors

if TYPE_CHECKING:
    from recommender.store.database import Store

__all__ = [
    "HouseFigures",
    "NetworkSummary",
    "NetworkTotals",
    "ReferralFlow",
    "SectorFigures",
    "network_summary",
]


class _Figures(BaseModel):
    model_config = ConfigDict(frozen=True)


class HouseFigures(_Figures):
    """One house's supply and use (see the module docstring for each figure)."""

    org_id: str
    name: str
    kind: str
    province: str
    city: str
    active: bool
    programs: int
    inactive_programs: int
    seats: int
    applications: int
    seats_offered: int
    seats_granted: int
    fill_rate: float | None
    budget_offered: int
    residency_granted: int
    funding_granted: int
    referrals_sent: int
    referrals_received: int


class SectorFigures(_Figures):
    """Demand and supply of one sector across the network."""

    sector: str
    name_fa: str
    applications: int
    programs: int
    seats: int
    budget: int
    applications_per_seat: float | None
    is_gap: bool


class ReferralFlow(_Figures):
    """How many referrals went from one house (None: the network operator) to another in one
    status."""

    from_org: str | None
    to_org: str
    status: str
    count: int


class NetworkTotals(_Figures):
    """The whole network at once (each program, application and outcome counted once)."""

    houses: int
    active_houses: int
    programs: int
    inactive_programs: int
    seats: int
    applications: int
    applications_without_house: int
    seats_offered: int
    seats_granted: int
    fill_rate: float | None
    residency_granted: int
    funding_granted: int
    referrals: int


class NetworkSummary(_Figures):
    """The network operator's view: per house, per sector, the gaps and the referrals."""

    totals: NetworkTotals
    houses: list[HouseFigures]
    sectors: list[SectorFigures]
    applications_without_sector: int
    gaps: list[SectorFigures]
    referrals: list[ReferralFlow]

    @property
    def is_empty(self) -> bool:
        """Nothing to show yet: no program (active or not), application or referral."""
        t = self.totals
        return not (t.programs or t.inactive_programs or t.applications or t.referrals)


def _program_budget(funding_max: int, seats: int) -> int:
    # The allocation's budget of a program when the round names none (capacity.round_capacity).
    return int(funding_max) * max(1, int(seats))


def _sector_order(slugs: Iterable[str]) -> list[tuple[str, str]]:
    """(slug, Persian name) in the taxonomy's order, then unknown slugs alphabetically."""
    known = [(s["slug"], s.get("name_fa") or s["slug"]) for s in load_sectors()]
    wanted = set(slugs)
    ordered = [(slug, name) for slug, name in known if slug in wanted]
    listed = {slug for slug, _ in ordered}
    return ordered + [(slug, slug) for slug in sorted(wanted - listed)]


def _as_list(value: Any) -> list[str]:
    # A JSON column reads back as a list on both backends; be lenient with anything else.
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class _Read:
    """What the summary reads from the store (grouped rows, no business plans)."""

    orgs: list[Organization]
    programs: list[Any]  # (id, org_id, active, sectors, residency_seats, funding_max)
    apps_per_house: dict[str | None, int]
    sector_lists: list[Any]  # (sectors, applications with exactly that list)
    round_parts: list[Any]  # (org_id, round_id, program_id, seats, budget)
    outcomes: list[Any]  # (program_id, round_id, residency granted, funded) per pair
    routes: list[Any]  # (from_org, to_org, status, count)


def _read(store: Store) -> _Read:
    with store.session() as s:
        orgs = store.list_organizations(session=s)
        programs = s.execute(
            sa.select(
                ProgramRow.id,
                ProgramRow.org_id,
                ProgramRow.active,
                ProgramRow.sectors,
                ProgramRow.residency_seats,
                ProgramRow.funding_max,
            )
        ).all()
        apps_visible = store.where_visible(ApplicationRow)
        apps_per_house = s.execute(
            sa.select(ApplicationRow.org_id, sa.func.count())
            .where(apps_visible)
            .group_by(ApplicationRow.org_id)
        ).all()
        # Distinct sector lists and how many applications carry each (JSON compares as a
        # value on both backends: text on SQLite, jsonb on PostgreSQL).
        sector_lists = s.execute(
            sa.select(ApplicationRow.sectors, sa.func.count())
            .where(apps_visible)
            .group_by(ApplicationRow.sectors)
        ).all()
        round_parts = s.execute(
            sa.select(
                IntakeRoundRow.org_id,
                RoundProgramRow.round_id,
                RoundProgramRow.program_id,
                RoundProgramRow.seats,
                RoundProgramRow.budget,
            )
            .join(IntakeRoundRow, IntakeRoundRow.id == RoundProgramRow.round_id)
            .where(store.where_visible(IntakeRoundRow))
        ).all()
        outcome_round = sa.func.coalesce(OutcomeRow.round_id, ApplicationRow.round_id)
        granted = sa.case((OutcomeRow.residency_granted.is_(True), 1), else_=0)
        outcomes = s.execute(
            sa.select(
                OutcomeRow.program_id,
                outcome_round,
                sa.func.sum(granted),
                sa.func.sum(OutcomeRow.funded_amount),
            )
            .outerjoin(ApplicationRow, ApplicationRow.id == OutcomeRow.application_id)
            .where(store.where_visible(OutcomeRow))
            .group_by(OutcomeRow.program_id, outcome_round)
        ).all()
        routes = s.execute(
            sa.select(ReferralRow.from_org, ReferralRow.to_org, ReferralRow.status, sa.func.count())
            .where(store.where_visible(ReferralRow))
            .group_by(ReferralRow.from_org, ReferralRow.to_org, ReferralRow.status)
        ).all()
    return _Read(
        orgs=orgs,
        programs=list(programs),
        apps_per_house={org: int(n) for org, n in apps_per_house},
        sector_lists=list(sector_lists),
        round_parts=list(round_parts),
        outcomes=list(outcomes),
        routes=list(routes),
    )


_HOUSE_COUNTS = (
    "programs",
    "inactive_programs",
    "seats",
    "applications",
    "seats_offered",
    "seats_granted",
    "budget_offered",
    "residency_granted",
    "funding_granted",
    "referrals_sent",
    "referrals_received",
)


def _house_counts(read: _Read, flows: list[ReferralFlow]) -> dict[str | None, dict[str, int]]:
    """Each house's counts (key None: rows of no house)."""
    program_org = {p.id: p.org_id for p in read.programs}
    program_seats = {p.id: int(p.residency_seats) for p in read.programs}
    program_funding = {p.id: int(p.funding_max) for p in read.programs}
    house: dict[str | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_HOUSE_COUNTS, 0))
    for p in read.programs:
        figures = house[p.org_id]
        figures["programs" if p.active else "inactive_programs"] += 1
        if p.active:
            figures["seats"] += int(p.residency_seats)
    for org_id, count in read.apps_per_house.items():
        house[org_id]["applications"] += count

    offered_pairs: set[tuple[str, str]] = set()
    for org_id, round_id, program_id, seats, budget in read.round_parts:
        n_seats = program_seats.get(program_id, 0) if seats is None else int(seats)
        if budget is None:
            budget = _program_budget(program_funding.get(program_id, 0), n_seats)
        house[org_id]["seats_offered"] += n_seats
        house[org_id]["budget_offered"] += int(budget)
        offered_pairs.add((round_id, program_id))

    for program_id, round_id, n_granted, funded in read.outcomes:
        figures = house[program_org.get(program_id)]
        figures["residency_granted"] += int(n_granted or 0)
        figures["funding_granted"] += int(funded or 0)
        if (round_id, program_id) in offered_pairs:
            figures["seats_granted"] += int(n_granted or 0)

    for flow in flows:
        house[flow.from_org]["referrals_sent"] += flow.count
        house[flow.to_org]["referrals_received"] += flow.count
    return house


def network_summary(store: Store) -> NetworkSummary:
    """The network's figures, read through `store` (see the module docstring).

    Args:
        store: the store as the reader sees it; the network operator's and admin's see the
            whole network.

    Returns:
        The summary: houses by id, sectors in taxonomy order, gaps by demand (most first),
        referral routes by (from, to, status).
    """
    read = _read(store)
    flows = sorted(
        (
            ReferralFlow(from_org=f, to_org=t, status=st, count=int(n))
            for f, t, st, n in read.routes
        ),
        key=lambda r: (r.from_org or "", r.to_org, r.status),
    )
    house = _house_counts(read, flows)
    houses = [
        HouseFigures(
            org_id=o.id,
            name=o.name,
            kind=o.kind,
            province=o.province,
            city=o.city,
            active=o.active,
            fill_rate=_rate(house[o.id]["seats_granted"], house[o.id]["seats_offered"]),
            **house[o.id],
        )
        for o in read.orgs
    ]
    sectors, without_sector = _sector_figures(read.programs, read.sector_lists)
    every = list(house.values())

    def total(name: str) -> int:
        return sum(h[name] for h in every)

    totals = NetworkTotals(
        houses=len(read.orgs),
        active_houses=sum(1 for o in read.orgs if o.active),
        programs=total("programs"),
        inactive_programs=total("inactive_programs"),
        seats=total("seats"),
        applications=total("applications"),
        applications_without_house=read.apps_per_house.get(None, 0),
        seats_offered=total("seats_offered"),
        seats_granted=total("seats_granted"),
        fill_rate=_rate(total("seats_granted"), total("seats_offered")),
        residency_granted=total("residency_granted"),
        funding_granted=total("funding_granted"),
        referrals=sum(f.count for f in flows),
    )
    gaps = sorted((x for x in sectors if x.is_gap), key=lambda x: -x.applications)
    return NetworkSummary(
        totals=totals,
        houses=houses,
        sectors=sectors,
        applications_without_sector=without_sector,
        gaps=gaps,
        referrals=flows,
    )


def _sector_figures(
    programs: Iterable[Any], sector_lists: Iterable[Any]
) -> tuple[list[SectorFigures], int]:
    """Per-sector demand and supply, and the applications that name no sector."""
    demand: dict[str, int] = defaultdict(int)
    without_sector = 0
    for value, count in sector_lists:
        slugs = set(_as_list(value))
        if not slugs:
            without_sector += int(count)
        for slug in slugs:
            demand[slug] += int(count)
    supply: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # programs, seats, budget
    for p in programs:
        if not p.active:
            continue
        for slug in set(_as_list(p.sectors)):
            figures = supply[slug]
            figures[0] += 1
            figures[1] += int(p.residency_seats)
            figures[2] += _program_budget(p.funding_max, p.residency_seats)
    sectors = []
    for slug, name in _sector_order(set(demand) | set(supply)):
        n_programs, seats, budget = supply.get(slug, (0, 0, 0))
        sectors.append(
            SectorFigures(
                sector=slug,
                name_fa=name,
                applications=demand.get(slug, 0),
                programs=n_programs,
                seats=seats,
                budget=budget,
                applications_per_seat=_rate(demand.get(slug, 0), seats),
                is_gap=demand.get(slug, 0) > 0 and n_programs == 0,
            )
        )
    return sectors, without_sector
