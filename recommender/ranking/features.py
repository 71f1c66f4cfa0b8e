"""Features of an (application, program) pair: the input of the rankers.

`FEATURES` is the one documented feature table (name, meaning, Persian label, group); the
columns of `FeatureBuilder.transform` follow it, in order. Everything is computed with numpy
over all pairs at once: per-application arrays (n_app,), per-program arrays (n_prog,) and
pair matrices (n_app, n_prog) are gathered by the pair indices, so 2,000 applications x 150
programs take well under a second once the plans are embedded. The builder holds the program
side and gathers; the columns of each feature group are computed in `pair_columns`.

The hard rules (not learned) live in `recommender.eligibility`: a program the application
cannot enter gets a Persian reason and is shown, if at all, as ineligible.

Conventions:

- semantic scores are cosine similarities of L2-normalized vectors (plan chunks, the pooled
  plan vector, program vectors), in [-1, 1];
- the lexical score is raw BM25 of the plan against each program's text; `lex_bm25_norm` divides
  it by the application's best program (normalized per application);
- an application's sectors are its declared sectors; when it declares none, the `infer_sectors`
  sectors whose centroid (mean vector of the programs listing that sector) is closest to the
  plan stand in for them (`sectors_declared` = 0 tells the model so);
- money is in rial; the "log-distance" of an ask from a program's range is how many factors of
  ten it lies outside [funding_min, funding_max] (0 inside, capped at 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import check_is_fitted

from recommender.constants import KIND_LABELS_FA, PROGRAM_KINDS, STAGES
from recommender.eligibility import place_key as _place_key
from recommender.errors import InvalidInputError, NotFittedError
from recommender.estimator import PeyvandEstimator
from recommender.ranking.pair_columns import (
    PlanEmbedding,
    applicant_columns,
    eligibility_columns,
    lexical_columns,
    money_columns,
    place_columns,
    residency_columns,
    sector_columns,
    semantic_columns,
    semantic_matrices,
    stage_columns,
    unit_rows,
)
from recommender.schemas import Application, Program

__all__ = [
    "FEATURES",
    "FEATURE_GROUPS_FA",
    "FEATURE_NAMES",
    "FeatureBuilder",
    "FeatureSpec",
    "all_pairs",
    "feature_table_markdown",
]

@dataclass(frozen=True)
class FeatureSpec:
    """One column of the feature matrix.

    Attributes:
        name: column name (snake_case, stable: saved with trained models).
        meaning: what it measures, in English (for developers and the README).
        label_fa: short Persian label (for reports and explanations).
        group: semantic | lexical | sector | stage | place | money | residency | eligibility
            | load | kind | applicant.
    """

    name: str
    meaning: str
    label_fa: str
    group: str


FEATURE_GROUPS_FA: dict[str, str] = {
    "semantic": "شباهت معنایی",
    "lexical": "هم‌پوشانی واژگانی",
    "sector": "حوزهٔ کاری",
    "stage": "مرحلهٔ رشد",
    "place": "مکان",
    "money": "تأمین مالی",
    "residency": "استقرار",
    "eligibility": "شرایط پذیرش",
    "load": "رقابت",
    "kind": "نوع برنامه",
    "applicant": "متقاضی",
}

FEATURES: list[FeatureSpec] = [
    # semantic
    FeatureSpec(
        "sem_pooled",
        "cosine of the pooled plan vector and the program vector",
        "شباهت معنایی کل طرح با برنامه",
        "semantic",
    ),
    FeatureSpec(
        "sem_best_chunk",
        "cosine of the plan's most similar chunk and the program vector",
        "شباهت نزدیک‌ترین بخش طرح با برنامه",
        "semantic",
    ),
    FeatureSpec(
        "sem_top3_mean",
        "mean cosine of the plan's 3 most similar chunks (all chunks when fewer)",
        "میانگین شباهت سه بخش نزدیک‌تر طرح",
        "semantic",
    ),
    FeatureSpec(
        "sem_pooled_z",
        "sem_pooled as a z-score among all programs for the same application",
        "برتری معنایی این برنامه نسبت به برنامه‌های دیگر",
        "semantic",
    ),
    # lexical
    FeatureSpec(
        "lex_bm25_norm",
        "BM25 of plan -> program text divided by the application's best program (0..1)",
        "هم‌پوشانی واژه‌های طرح با برنامه",
        "lexical",
    ),
    FeatureSpec(
        "lex_bm25_log",
        "log(1 + raw BM25 of plan -> program text)",
        "قوت هم‌پوشانی واژگانی",
        "lexical",
    ),
    # sector
    FeatureSpec(
        "sector_jaccard",
        "Jaccard of the application's sectors (declared, else inferred) and the program's",
        "هم‌پوشانی حوزه‌های کاری",
        "sector",
    ),
    FeatureSpec(
        "sector_any",
        "1 when the application and program share at least one sector",
        "حوزهٔ کاری مشترک",
        "sector",
    ),
    FeatureSpec(
        "sectors_declared",
        "1 when the application declared its sectors, 0 when they were inferred from the plan",
        "حوزه‌های کاری اعلام‌شده",
        "sector",
    ),
    # stage
    FeatureSpec(
        "stage_match",
        "1 when the program accepts the application's stage",
        "پذیرش مرحلهٔ رشد استارتاپ",
        "stage",
    ),
    FeatureSpec(
        "stage_distance",
        "steps (of 3) from the application's stage to the nearest stage the program accepts",
        "فاصله از مرحله‌های پذیرفته‌شده",
        "stage",
    ),
    # place
    FeatureSpec("same_city", "1 when program and application are in the same city",
                "هم‌شهری بودن", "place"),
    FeatureSpec("same_province", "1 when program and application are in the same province",
                "هم‌استانی بودن", "place"),
    FeatureSpec("remote_accepted", "1 when the program accepts remote participants",
                "پذیرش حضور از راه دور", "place"),
    FeatureSpec(
        "place_ok",
        "1 when same province or the program accepts remote participants",
        "دسترسی مکانی",
        "place",
    ),
    # money
    FeatureSpec("program_funds", "1 when the program funds at all (funding_max > 0)",
                "تأمین مالی برنامه", "money"),
    FeatureSpec(
        "funding_inside",
        "1 when the ask (> 0) lies in [funding_min, funding_max]",
        "مبلغ درخواستی در بازهٔ برنامه",
        "money",
    ),
    FeatureSpec(
        "funding_ratio_max",
        "funding ask / program funding_max (capped at 10; 0 when the program does not fund)",
        "نسبت مبلغ درخواستی به سقف برنامه",
        "money",
    ),
    FeatureSpec(
        "funding_log_distance",
        "factors of ten the ask lies outside the program's range (0 inside; 3 when the program "
        "does not fund but money is asked)",
        "فاصلهٔ مبلغ درخواستی از بازهٔ برنامه",
        "money",
    ),
    FeatureSpec("funding_ask_log", "log10(1 + funding ask in rial)", "مبلغ درخواستی",
                "money"),
    FeatureSpec("equity_percent", "equity the program takes, percent (0 when none given)",
                "سهم برنامه از شرکت", "money"),
    # residency
    FeatureSpec("needs_residency", "1 when the application asks for residency (a seat)",
                "نیاز به استقرار", "residency"),
    FeatureSpec("seats_log", "log(1 + the program's residency seats)", "ظرفیت استقرار",
                "residency"),
    FeatureSpec(
        "residency_unmet",
        "1 when the application needs residency and the program has no seats",
        "نبود ظرفیت استقرار برای نیاز متقاضی",
        "residency",
    ),
    # eligibility
    FeatureSpec("kb_required", "1 when the program requires a knowledge-based company",
                "نیاز به دانش‌بنیان بودن", "eligibility"),
    FeatureSpec(
        "kb_ok",
        "1 when the knowledge-based requirement is met (not required, or held)",
        "برآوردن شرط دانش‌بنیان",
        "eligibility",
    ),
    FeatureSpec("program_active", "1 when the program is active", "فعال بودن برنامه",
                "eligibility"),
    FeatureSpec(
        "eligible",
        "1 when no hard rule of eligibility() excludes the pair",
        "واجد شرایط بودن",
        "eligibility",
    ),
    # load
    FeatureSpec(
        "program_load",
        "applications per seat in past rounds (from history; median of known when unknown)",
        "رقابت در دوره‌های گذشته (متقاضی به ازای هر ظرفیت)",
        "load",
    ),
    FeatureSpec("program_load_known", "1 when the program has history for program_load",
                "سابقهٔ برنامه", "load"),
    # applicant
    FeatureSpec("team_size_log", "log(1 + team size)", "اندازهٔ تیم", "applicant"),
    # kind (one-hot)
    *[
        FeatureSpec(f"kind_{kind}", f"1 when the program's kind is {kind}",
                    KIND_LABELS_FA[kind], "kind")
        for kind in PROGRAM_KINDS
    ],
]

FEATURE_NAMES: list[str] = [spec.name for spec in FEATURES]
_COLUMN = {name: i for i, name in enumerate(FEATURE_NAMES)}


def feature_table_markdown() -> str:
    """The feature table as Markdown (for the README and reports)."""
    lines = ["| # | feature | group | meaning | برچسب |", "|---|---|---|---|---|"]
    for i, spec in enumerate(FEATURES, start=1):
        lines.append(f"| {i} | `{spec.name}` | {spec.group} | {spec.meaning} | {spec.label_fa} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- builder


def all_pairs(n_applications: int, n_programs: int) -> np.ndarray:
    """Every (application, program) index pair, application-major.

    Returns:
        Array (n_applications * n_programs, 2) int64: row i*n_programs + j is (i, j).
    """
    apps = np.repeat(np.arange(n_applications, dtype=np.int64), n_programs)
    progs = np.tile(np.arange(n_programs, dtype=np.int64), n_applications)
    return np.stack([apps, progs], axis=1)


class FeatureBuilder(PeyvandEstimator):
    """Builds the `FEATURES` matrix for (application, program) pairs.

    Args:
        top_chunks: how many best chunks `sem_top3_mean` averages.
        infer_sectors: how many sectors stand in for an application that declares none.

    Attributes:
        programs_: the programs, in column order of the pair matrices.
        program_ids_: their ids.
        program_vectors_: (n_prog, dim) float32, L2-normalized.
        sector_slugs_: the sectors seen in the programs, sorted.
        sector_centroids_: (n_sectors, dim) L2-normalized mean vector of each sector's programs.
        program_load_: (n_prog,) applications per seat (unknown -> median of known).
        program_load_known_: (n_prog,) 1.0 where the load came from history.
        dim_: vector dimension.
    """

    def __init__(self, top_chunks: int = 3, infer_sectors: int = 2) -> None:
        self.top_chunks = top_chunks
        self.infer_sectors = infer_sectors

    @property
    def feature_names_(self) -> list[str]:
        """Column names of `transform`'s output (= FEATURE_NAMES)."""
        return list(FEATURE_NAMES)

    def fit(
        self,
        programs: Sequence[Program],
        program_vectors: np.ndarray,
        program_load: Mapping[str, float] | None = None,
    ) -> FeatureBuilder:
        """Learn the program side: vectors, sector centroids, per-program arrays, load.

        Args:
            programs: the catalogue; its order is the program index of `transform`'s pairs.
            program_vectors: (n_prog, dim) program embeddings (normalized here).
            program_load: program id -> applications per seat in past rounds (see
                `recommender.store.history.program_load`); missing ids get the median of the
                known.

        Returns:
            self.

        Raises:
            InvalidInputError: on empty input, a shape mismatch or non-finite vectors.
        """
        if self.top_chunks < 1 or self.infer_sectors < 0:
            raise InvalidInputError("top_chunks must be >= 1 and infer_sectors >= 0")
        programs = list(programs)
        vectors = np.asarray(program_vectors, dtype=np.float32)
        if not programs:
            raise InvalidInputError("cannot build features without programs")
        if vectors.ndim != 2 or vectors.shape[0] != len(programs):
            raise InvalidInputError(
                f"program_vectors must have shape ({len(programs)}, dim), got {vectors.shape}"
            )
        if not np.isfinite(vectors).all():
            raise InvalidInputError("program_vectors contain NaN or infinite values")
        self.programs_ = programs
        self.program_ids_ = [p.id for p in programs]
        self.program_vectors_ = unit_rows(vectors).astype(np.float32)
        self.dim_ = int(vectors.shape[1])

        slugs = sorted({s for p in programs for s in p.sectors})
        self.sector_slugs_ = slugs
        member = self._sector_matrix([p.sectors for p in programs])  # (n_prog, n_sec)
        self._program_sectors = member
        if slugs:
            sums = member.T @ self.program_vectors_
            self.sector_centroids_ = unit_rows(sums).astype(np.float32)
        else:
            self.sector_centroids_ = np.zeros((0, self.dim_), dtype=np.float32)

        loads = dict(program_load or {})
        known = np.array([p.id in loads for p in programs], dtype=np.float32)
        values = [float(loads[p.id]) for p in programs if p.id in loads]
        fill = float(np.median(values)) if values else 0.0
        self.program_load_ = np.array(
            [float(loads.get(p.id, fill)) for p in programs], dtype=np.float32
        )
        self.program_load_known_ = known
        self._prepare_program_arrays()
        return self

    def _sector_matrix(self, sector_lists: Sequence[Sequence[str]]) -> np.ndarray:
        column = {slug: j for j, slug in enumerate(self.sector_slugs_)}
        out = np.zeros((len(sector_lists), len(column)), dtype=np.float32)
        for i, sectors in enumerate(sector_lists):
            for slug in sectors:
                j = column.get(slug)
                if j is not None:
                    out[i, j] = 1.0
        return out

    def _prepare_program_arrays(self) -> None:
        ps = self.programs_
        stage_sets = np.zeros((len(ps), len(STAGES)), dtype=bool)
        for i, p in enumerate(ps):
            for s in p.stages:
                stage_sets[i, STAGES.index(s)] = True
        self._stage_sets = stage_sets
        self._prog = {
            "city": np.array([_place_key(p.city) for p in ps], dtype=object),
            "province": np.array([_place_key(p.province) for p in ps], dtype=object),
            "remote": np.array([p.accepts_remote for p in ps], dtype=np.float32),
            "fmin": np.array([p.funding_min for p in ps], dtype=np.float64),
            "fmax": np.array([p.funding_max for p in ps], dtype=np.float64),
            "equity": np.array([p.equity_percent or 0.0 for p in ps], dtype=np.float32),
            "seats": np.array([p.residency_seats for p in ps], dtype=np.float64),
            "kb": np.array([p.requires_knowledge_based for p in ps], dtype=np.float32),
            "active": np.array([p.active for p in ps], dtype=np.float32),
            "kind": np.array([PROGRAM_KINDS.index(p.kind) for p in ps], dtype=np.int64),
        }

    # ------------------------------------------------------------------ transform

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "program_vectors_")
        except Exception as exc:
            raise NotFittedError("FeatureBuilder is not fitted; call fit(programs, ...)") from exc

    def semantic_matrices(
        self, plans: Sequence[PlanEmbedding]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The three semantic scores for every (application, program).

        Args:
            plans: per application, its embedding (`chunks` (n_chunks, dim), `pooled` (dim,)).

        Returns:
            (pooled, best_chunk, top_mean), each (n_app, n_prog) float32.
        """
        self._check_fitted()
        return semantic_matrices(plans, self.program_vectors_, self.top_chunks)

    def transform(
        self,
        applications: Sequence[Application],
        plans: Sequence[PlanEmbedding],
        lexical: np.ndarray | None = None,
        pairs: np.ndarray | None = None,
    ) -> np.ndarray:
        """The feature matrix of the given (application, program) pairs.

        Args:
            applications: the applicants (plans[i] is applications[i]'s plan embedding).
            plans: per application, its `DocumentEmbedding` (chunks, pooled).
            lexical: (n_app, n_prog) raw BM25 of each plan against each program's text, in
                the program order of `fit`; None means no lexical evidence (zeros).
            pairs: (n_pairs, 2) int indices (application, program); None means every pair,
                application-major (see `all_pairs`).

        Returns:
            Array (n_pairs, len(FEATURES)) float32, columns in FEATURE_NAMES order.

        Raises:
            NotFittedError: before `fit`.
            InvalidInputError: on mismatched lengths, shapes or out-of-range pair indices.
        """
        self._check_fitted()
        apps = list(applications)
        lex, pairs = self._checked_inputs(apps, plans, lexical, pairs)
        out = np.zeros((len(pairs), len(FEATURES)), dtype=np.float32)
        if len(pairs) == 0:
            return out
        a, p = pairs[:, 0], pairs[:, 1]
        for name, values in self._pair_columns(apps, plans, lex, a, p).items():
            out[:, _COLUMN[name]] = values
        # kind one-hot
        first_kind = _COLUMN[f"kind_{PROGRAM_KINDS[0]}"]
        out[np.arange(len(pairs)), first_kind + self._prog["kind"][p]] = 1.0
        return out

    def _checked_inputs(
        self,
        apps: list[Application],
        plans: Sequence[PlanEmbedding],
        lexical: np.ndarray | None,
        pairs: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`transform`'s lexical matrix (zeros when None; negatives and NaN to 0) and pair
        indices (every pair when None), checked against the applications and programs."""
        n_app, n_prog = len(apps), len(self.programs_)
        if len(plans) != n_app:
            raise InvalidInputError(f"{len(plans)} plan embeddings for {n_app} applications")
        if lexical is None:
            lex = np.zeros((n_app, n_prog), dtype=np.float32)
        else:
            lex = np.asarray(lexical, dtype=np.float32)
            if lex.shape != (n_app, n_prog):
                raise InvalidInputError(
                    f"lexical must have shape ({n_app}, {n_prog}), got {lex.shape}"
                )
            lex = np.nan_to_num(np.maximum(lex, 0.0))
        if pairs is None:
            pairs = all_pairs(n_app, n_prog)
        pairs = np.asarray(pairs, dtype=np.int64)
        if pairs.ndim != 2 or pairs.shape[1] != 2:
            raise InvalidInputError(f"pairs must have shape (n_pairs, 2), got {pairs.shape}")
        if pairs.size and (
            pairs.min() < 0 or pairs[:, 0].max() >= n_app or pairs[:, 1].max() >= n_prog
        ):
            raise InvalidInputError("pair indices out of range")
        return lex, pairs

    def _application_sectors(
        self, apps: list[Application], plans: Sequence[PlanEmbedding]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n_app, n_sectors) sector membership of each application — declared, else the
        `infer_sectors` sectors whose centroid is closest to its pooled plan vector — and
        (n_app,) 1.0 where the sectors were declared."""
        declared = np.array([bool(x.sectors) for x in apps], dtype=np.float32)
        app_sec = self._sector_matrix([x.sectors for x in apps])
        if self.infer_sectors and self.sector_slugs_ and (declared == 0).any():
            undeclared = np.flatnonzero(declared == 0)
            sims = unit_rows(pooled_vectors(plans, undeclared)) @ self.sector_centroids_.T
            k = min(self.infer_sectors, sims.shape[1])
            top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
            app_sec[undeclared] = 0.0
            app_sec[undeclared[:, None], top] = 1.0
        return app_sec, declared

    def _pair_columns(
        self,
        apps: list[Application],
        plans: Sequence[PlanEmbedding],
        lex: np.ndarray,
        a: np.ndarray,
        p: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Every column but the kind one-hot, by feature group (`pair_columns`): each side's
        arrays gathered by the pair indices `a` (application) and `p` (program)."""
        semantic = semantic_columns(*self.semantic_matrices(plans), a, p)
        prog = {key: values[p] for key, values in self._prog.items()}
        app_sec, declared = self._application_sectors(apps, plans)
        stage_idx = np.array([STAGES.index(x.stage) for x in apps], dtype=np.int64)[a]
        accepted = self._stage_sets[p, stage_idx]
        app_city = np.array([_place_key(x.city) for x in apps], dtype=object)[a]
        app_prov = np.array([_place_key(x.province) for x in apps], dtype=object)[a]
        ask = np.array([x.funding_ask for x in apps], dtype=np.float64)[a]
        needs = np.array([x.needs_residency for x in apps], dtype=bool)[a]
        holds_kb = np.array([x.knowledge_based for x in apps], dtype=bool)[a]
        team = np.array([x.team_size for x in apps], dtype=np.float64)[a]
        return {
            **semantic,
            **lexical_columns(lex, a, p),
            **sector_columns(app_sec[a], self._program_sectors[p], declared[a]),
            **stage_columns(accepted, self._stage_sets[p], stage_idx),
            **place_columns(app_city, app_prov, prog),
            **money_columns(ask, prog),
            **residency_columns(needs, prog),
            **eligibility_columns(holds_kb, needs, accepted, prog),
            "program_load": self.program_load_[p],
            "program_load_known": self.program_load_known_[p],
            **applicant_columns(team),
        }


def pooled_vectors(plans: Sequence[PlanEmbedding], rows: np.ndarray | None = None) -> np.ndarray:
    """The pooled vectors of `plans` (optionally only `rows`), stacked: (n, dim) float32."""
    chosen = [plans[int(i)] for i in rows] if rows is not None else list(plans)
    return np.stack([np.asarray(pl.pooled, dtype=np.float32).reshape(-1) for pl in chosen])
