"""The allocation problem of one round as arrays, and the objective weights.

`AllocationProblem` validates its input once (shapes, whole rial, known ids, pins, vetoes,
province minimums), so the model builder and the solver can trust it.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.errors import InvalidInputError

Pair = tuple[str, str]
ProvinceKey = str | tuple[str, str]


@dataclass(frozen=True)
class AllocationWeights:
    """Objective weights (configuration, not code).

    Attributes:
        residency: value of one residency seat, multiplied by ``score * p_residency``.
        funding: value of a grant of ``funding_unit`` rial, multiplied by
            ``score * p_funding``; linear in the amount.
        funding_award: fixed value of being funded at all, multiplied by
            ``score * p_funding``; larger values spread a budget over more applications.
            Since a funded pair receives at least ``max(grant_min, 1)`` rial, use it only
            with programs that set a meaningful ``grant_min``.
        funding_unit: the rial amount that ``funding`` is the value of. ``None`` (default)
            normalises per pair by the application's request (`expected_funding`): meeting a
            whole request is worth ``funding``, so money goes where it covers the largest
            share of a good fit's need. An int values every rial the same for everyone.
    """

    residency: float = 1.0
    funding: float = 1.0
    funding_award: float = 0.0
    funding_unit: int | None = None

    def __post_init__(self) -> None:
        for name in ("residency", "funding", "funding_award"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InvalidInputError(f"weight '{name}' must be a number >= 0, got {value!r}")
        if self.funding_unit is not None and not (
            isinstance(self.funding_unit, int | np.integer) and self.funding_unit > 0
        ):
            raise InvalidInputError(
                "weight 'funding_unit' must be a positive whole rial amount, "
                f"got {self.funding_unit!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _array(name: str, value: Any, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"'{name}' must be an array of {np.dtype(dtype).name}") from exc
    if arr.shape != shape:
        raise InvalidInputError(f"'{name}' has shape {arr.shape}, expected {shape}")
    return arr


def _whole_rial(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    arr = _array(name, value, shape, np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise InvalidInputError(f"'{name}' must hold whole numbers >= 0")
    return arr.astype(np.int64)


@dataclass(eq=False)
class AllocationProblem:
    """One round's allocation problem, as arrays (rows = applications, columns = programs).

    Attributes:
        application_ids: ``(n_applications,)`` unique ids.
        program_ids: ``(n_programs,)`` unique ids.
        score: ``(n_applications, n_programs)`` fit scores (higher is better).
        eligible: ``(n_applications, n_programs)`` bool; False pairs get nothing.
        needs_residency: ``(n_applications,)`` bool.
        funding_ask: ``(n_applications,)`` rial asked (0 = no funding wanted).
        seats: ``(n_programs,)`` residency seats.
        budget: ``(n_programs,)`` funding budget in rial.
        grant_min: ``(n_programs,)`` smallest grant per funded application, rial.
        grant_max: ``(n_programs,)`` largest grant per funded application, rial.
        p_residency: ``(n_applications, n_programs)`` P(residency) from the ranker;
            ``None`` = 1 everywhere.
        p_funding: ``(n_applications, n_programs)`` P(funding); ``None`` = 1 everywhere.
        expected_funding: ``(n_applications, n_programs)`` rial the application would take
            from each program (e.g. predicted by the funding ranker); ``None`` = its
            ``funding_ask`` for every program. A grant never exceeds it.
        app_province: ``(n_applications,)`` province names; needed for province minimums.
        pins: (application_id, program_id) pairs that must be in the allocation.
        vetoes: (application_id, program_id) pairs that must get nothing.
        province_min_seats: ``{province: n}`` (over all programs) and/or
            ``{(province, program_id): n}`` (at that program) minimum residencies.
    """

    application_ids: Sequence[str]
    program_ids: Sequence[str]
    score: np.ndarray
    eligible: np.ndarray
    needs_residency: np.ndarray
    funding_ask: np.ndarray
    seats: np.ndarray
    budget: np.ndarray
    grant_min: np.ndarray
    grant_max: np.ndarray
    p_residency: np.ndarray | None = None
    p_funding: np.ndarray | None = None
    expected_funding: np.ndarray | None = None
    app_province: Sequence[str] | None = None
    pins: Sequence[Pair] = ()
    vetoes: Sequence[Pair] = ()
    province_min_seats: Mapping[ProvinceKey, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.application_ids = [str(a) for a in self.application_ids]
        self.program_ids = [str(p) for p in self.program_ids]
        for name, ids in (
            ("application_ids", self.application_ids),
            ("program_ids", self.program_ids),
        ):
            dup = [i for i, n in Counter(ids).items() if n > 1]
            if dup:
                raise InvalidInputError(f"'{name}' repeats id(s): {', '.join(dup[:10])}")
        n_app, n_prog = len(self.application_ids), len(self.program_ids)
        pair, apps, progs = (n_app, n_prog), (n_app,), (n_prog,)
        self.score = _array("score", self.score, pair, np.float64)
        if not np.all(np.isfinite(self.score)):
            raise InvalidInputError("'score' holds NaN or infinite values")
        self.eligible = _array("eligible", self.eligible, pair, bool)
        self.needs_residency = _array("needs_residency", self.needs_residency, apps, bool)
        self.funding_ask = _whole_rial("funding_ask", self.funding_ask, apps)
        self.seats = _whole_rial("seats", self.seats, progs)
        self.budget = _whole_rial("budget", self.budget, progs)
        self.grant_min = _whole_rial("grant_min", self.grant_min, progs)
        self.grant_max = _whole_rial("grant_max", self.grant_max, progs)
        bad = [self.program_ids[j] for j in np.flatnonzero(self.grant_min > self.grant_max)]
        if bad:
            raise InvalidInputError(
                f"grant_min is larger than grant_max for: {', '.join(bad[:10])}"
            )
        for name in ("p_residency", "p_funding"):
            value = getattr(self, name)
            arr = np.ones(pair) if value is None else _array(name, value, pair, np.float64)
            if not np.all((arr >= 0) & (arr <= 1)):
                raise InvalidInputError(f"'{name}' must hold probabilities between 0 and 1")
            setattr(self, name, arr)
        if self.expected_funding is None:
            self.expected_funding = np.repeat(self.funding_ask[:, None], n_prog, axis=1)
        else:
            self.expected_funding = _whole_rial("expected_funding", self.expected_funding, pair)
        if self.app_province is not None:
            self.app_province = [
                str(p) for p in _array("app_province", list(self.app_province), apps, object)
            ]
        self.pins = self._pairs("pins", self.pins)
        self.vetoes = self._pairs("vetoes", self.vetoes)
        self.province_min_seats = self._province_minimums(dict(self.province_min_seats))

    @property
    def n_applications(self) -> int:
        return len(self.application_ids)

    @property
    def n_programs(self) -> int:
        return len(self.program_ids)

    def _pairs(self, name: str, pairs: Sequence[Pair]) -> list[Pair]:
        known_a, known_p = set(self.application_ids), set(self.program_ids)
        out: list[Pair] = []
        for item in pairs:
            if len(item) != 2:
                raise InvalidInputError(f"each of '{name}' must be (application_id, program_id)")
            a, p = str(item[0]), str(item[1])
            if a not in known_a:
                raise InvalidInputError(f"{name[:-1]} {a} -> {p}: unknown application {a}")
            if p not in known_p:
                raise InvalidInputError(f"{name[:-1]} {a} -> {p}: unknown program {p}")
            if (a, p) not in out:
                out.append((a, p))
        return out

    def _province_minimums(self, mins: dict[Any, Any]) -> dict[ProvinceKey, int]:
        if mins and self.app_province is None:
            raise InvalidInputError("province_min_seats needs app_province")
        known_p = set(self.program_ids)
        out: dict[ProvinceKey, int] = {}
        for key, value in mins.items():
            if not (isinstance(value, int | np.integer) and value >= 0):
                raise InvalidInputError(f"province minimum for {key!r} must be a whole number >= 0")
            if isinstance(key, tuple):
                if len(key) != 2 or str(key[1]) not in known_p:
                    raise InvalidInputError(f"province minimum key {key!r}: unknown program")
                out[(str(key[0]), str(key[1]))] = int(value)
            else:
                out[str(key)] = int(value)
        return out

    def with_capacity(
        self, seats: Mapping[str, int] | None = None, budget: Mapping[str, int] | None = None
    ) -> AllocationProblem:
        """A copy with some programs' seats and/or budgets set to new (absolute) values."""
        index = {p: j for j, p in enumerate(self.program_ids)}
        new_seats, new_budget = self.seats.copy(), self.budget.copy()
        for target, changes in ((new_seats, seats or {}), (new_budget, budget or {})):
            for pid, value in changes.items():
                if pid not in index:
                    raise InvalidInputError(f"unknown program {pid}")
                target[index[pid]] = value
        return dataclasses.replace(self, seats=new_seats, budget=new_budget)
