"""Round scoring and allocation inputs (`recommender.rounds`), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from recommender.allocation.capacity import round_capacity
from recommender.eligibility import eligibility
from recommender.errors import InfeasibleError, InvalidInputError, NotFoundError
from recommender.rounds.problem import build_allocation_problem, result_from_dict
from recommender.rounds.run import run_round
from recommender.rounds.scoring import TextPreparer, score_round
from recommender.rounds.staff_files import parse_what_if, read_pairs, read_province_minimums
from recommender.rounds.stored import latest_run, load_round_scores, round_inputs, upsert_scores
from recommender.schemas import IntakeRound, RoundProgram
from recommender.store.database import Store
from recommender.store.tables import Base, RoundRunRow, RoundScoreRow
from tests.recommender._round_fixtures import (
    ROUND_ID,
    FakeEmbedder,
    fill_store,
    make_applications,
    make_model,
    make_programs,
    make_round,
)

N_APPS, N_PROGS = 12, 6


class Killed(BaseException):
    """Stands in for the process being killed between two batches."""


@pytest.fixture
def filled(store: Store) -> Store:
    fill_store(store, N_APPS)
    return store


def stored_rows(store: Store, round_id: str = ROUND_ID) -> list[tuple]:
    t = RoundScoreRow.__table__
    with store.session() as s:
        return s.execute(
            sa.select(t.c.application_id, t.c.program_id, t.c.score, t.c.model_version)
            .where(t.c.round_id == round_id)
            .order_by(t.c.application_id, t.c.program_id)
        ).all()


def test_migration_creates_exactly_the_round_tables(store: Store) -> None:
    ours = {"round_scores", "round_runs"}

    def include(obj: object, name: str | None, type_: str, *_: object) -> bool:
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is None or getattr(table, "name", None) in ours

    with store.engine.connect() as connection:
        assert ours <= set(sa.inspect(connection).get_table_names())
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include}
        )
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []
    assert store.schema_revision() == store.head_revision()


def test_scores_every_pair_in_batches(filled: Store) -> None:
    model = make_model()
    seen: list[tuple[int, int]] = []
    run = score_round(
        filled, ROUND_ID, model, batch_size=5, progress=lambda d, t: seen.append((d, t))
    )
    s = run.scores
    assert s.shape == (N_APPS, N_PROGS)
    assert s.application_ids == sorted(a.id for a in make_applications(N_APPS))
    assert s.program_ids == [p.program_id for p in make_round().programs]
    assert np.isfinite(s.score).all() and ((s.score >= 0) & (s.score <= 1)).all()
    assert s.p_residency is not None and s.p_funding is not None
    assert s.model_version == "v1" and run.run.status == "succeeded"
    assert (run.n_scored, run.n_reused) == (N_APPS, 0)
    # one embed call and one predict per batch of 5, progress after each committed batch
    assert model.embedder.batches == 3 and model.embedder.calls == N_APPS
    assert seen == [(0, 12), (5, 12), (10, 12), (12, 12)]
    rows = stored_rows(filled)
    assert len(rows) == N_APPS * N_PROGS
    assert {r[3] for r in rows} == {"v1"}
    # eligibility is the documented hard rule, pair by pair
    apps = {a.id: a for a in make_applications(N_APPS)}
    progs = {p.id: p for p in make_programs()}
    expected = np.array(
        [[eligibility(apps[a], progs[p]) is None for p in s.program_ids] for a in s.application_ids]
    )
    assert np.array_equal(s.eligible, expected)
    assert 0 < expected.sum() < expected.size


def test_vectorized_scores_match_pair_by_pair_reference(filled: Store) -> None:
    from recommender.text.normalization import normalize, tokenize

    model = make_model()
    s = score_round(filled, ROUND_ID, model, batch_size=7).scores
    builder = model.feature_builder
    apps = {a.id: a for a in make_applications(N_APPS)}
    position = {pid: j for j, pid in enumerate(builder.program_ids_)}
    for i, app_id in enumerate(s.application_ids):
        app = apps[app_id]
        text = normalize(app.business_plan)
        plan = FakeEmbedder().embed_documents([text])[0]
        lexical = model.lexical.scores_for_tokens(tokenize(text))[None, :]
        for j, pid in enumerate(s.program_ids):
            X = builder.transform([app], [plan], lexical, pairs=np.array([[0, position[pid]]]))
            out = model.ranker.predict(X)
            assert s.score[i, j] == pytest.approx(float(out.score[0]), abs=1e-6)
            assert s.p_funding[i, j] == pytest.approx(float(out.p_funding[0]), abs=1e-6)


def test_killed_run_resumes_without_losing_or_duplicating(filled: Store, tmp_path: Path) -> None:
    reference = score_round(filled, ROUND_ID, make_model(), batch_size=4, force=True).scores
    with filled.session() as s:
        s.execute(sa.delete(RoundScoreRow.__table__))

    def kill_after_two_batches(done: int, total: int) -> None:
        if done >= 8:
            raise Killed()

    model = make_model()
    with pytest.raises(Killed):
        score_round(filled, ROUND_ID, model, batch_size=4, progress=kill_after_two_batches)
    assert len(stored_rows(filled)) == 8 * N_PROGS  # two committed batches, nothing half-written
    run = latest_run(filled, ROUND_ID)
    assert run is not None and run.status == "interrupted" and run.n_done == 8

    model2 = make_model()
    resumed = score_round(filled, ROUND_ID, model2, batch_size=4)
    assert (resumed.n_reused, resumed.n_scored) == (8, 4)
    assert model2.embedder.calls == 4  # only the missing applications were embedded
    rows = stored_rows(filled)
    assert len(rows) == N_APPS * N_PROGS
    assert len({(r[0], r[1]) for r in rows}) == len(rows)
    np.testing.assert_allclose(resumed.scores.score, reference.score, atol=1e-9)
    assert np.array_equal(resumed.scores.eligible, reference.eligible)


def test_failed_batch_marks_the_run_failed(filled: Store) -> None:
    model = make_model()

    def broken(done: int, total: int) -> None:
        if done:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        score_round(filled, ROUND_ID, model, batch_size=6, progress=broken)
    run = latest_run(filled, ROUND_ID)
    assert run is not None and run.status == "failed" and run.error == "RuntimeError"
    assert run.finished_at is not None


def test_rescoring_same_model_and_data_is_skipped_and_identical(filled: Store) -> None:
    model = make_model()
    first = score_round(filled, ROUND_ID, model, batch_size=5)
    calls = model.embedder.calls
    again = score_round(filled, ROUND_ID, model, batch_size=3)
    assert (again.n_scored, again.n_reused) == (0, N_APPS)
    assert model.embedder.calls == calls
    assert np.array_equal(again.scores.score, first.scores.score)
    assert np.array_equal(again.scores.p_residency, first.scores.p_residency)
    assert again.scores.fingerprint == first.scores.fingerprint
    forced = score_round(filled, ROUND_ID, model, batch_size=5, force=True)
    assert forced.n_scored == N_APPS
    np.testing.assert_allclose(forced.scores.score, first.scores.score, atol=1e-12)


def test_changed_application_program_or_model_is_rescored(filled: Store) -> None:
    score_round(filled, ROUND_ID, make_model())
    app = make_applications(N_APPS)[3]
    filled.upsert_applications([app.model_copy(update={"funding_ask": 999_000_000})])
    assert score_round(filled, ROUND_ID, make_model()).n_scored == 1

    program = make_programs()[1]
    filled.upsert_programs([program.model_copy(update={"residency_seats": 9})])
    assert score_round(filled, ROUND_ID, make_model()).n_scored == N_APPS

    run = score_round(filled, ROUND_ID, make_model(version="v2"))
    assert run.n_scored == N_APPS and run.scores.model_version == "v2"
    assert {r[3] for r in stored_rows(filled)} == {"v2"}


def test_unsupervised_scores_have_no_probabilities(filled: Store) -> None:
    run = score_round(filled, ROUND_ID, make_model(trained=False))
    assert run.scores.model_version == "unsupervised"
    assert run.scores.p_residency is None and run.scores.expected_funding is None
    assert np.isfinite(run.scores.score).all()
    t = RoundScoreRow.__table__
    with filled.session() as s:
        assert s.scalar(sa.select(sa.func.count()).where(t.c.p_residency.is_not(None))) == 0


def test_departed_applications_and_programs_lose_their_rows(filled: Store) -> None:
    score_round(filled, ROUND_ID, make_model())
    leaving = make_applications(N_APPS)[0]
    filled.upsert_applications([leaving.model_copy(update={"round_id": "other"})])
    smaller = make_round()
    smaller = IntakeRound.model_validate(
        {**smaller.model_dump(), "programs": [p.model_dump() for p in smaller.programs[:4]],
         "program_ids": []}
    )
    filled.upsert_rounds([smaller])
    run = score_round(filled, ROUND_ID, make_model())
    assert run.scores.shape == (N_APPS - 1, 4)
    rows = stored_rows(filled)
    assert len(rows) == (N_APPS - 1) * 4
    assert leaving.id not in {r[0] for r in rows}


def test_upsert_twice_changes_nothing(filled: Store) -> None:
    score_round(filled, ROUND_ID, make_model())
    t = RoundScoreRow.__table__
    with filled.session() as s:
        rows = [dict(r._mapping) for r in s.execute(sa.select(t))]
    with filled.session() as s:
        upsert_scores(s, rows)
        upsert_scores(s, rows)
    assert len(stored_rows(filled)) == N_APPS * N_PROGS


def test_bad_rounds_are_refused_in_plain_words(store: Store) -> None:
    store.upsert_programs(make_programs())
    with pytest.raises(NotFoundError, match="no intake round with id 'nope'"):
        score_round(store, "nope", make_model())
    store.upsert_rounds([make_round()])
    with pytest.raises(InvalidInputError, match="has no applications"):
        score_round(store, ROUND_ID, make_model())
    store.upsert_rounds([IntakeRound(id="empty", name="خالی", opens_on="2026-01-01",
                                     closes_on="2026-02-01")])
    with pytest.raises(InvalidInputError, match="has no programs"):
        round_inputs(store, "empty")
    with store.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(RoundRunRow)) == 0


def test_round_program_missing_from_the_index_is_refused(filled: Store) -> None:
    extra = make_programs()[0].model_copy(update={"id": "new-prog"})
    filled.upsert_programs([extra])
    intake = make_round()
    filled.upsert_rounds([intake.model_copy(update={
        "programs": [*intake.programs, RoundProgram(program_id="new-prog")]})])
    with pytest.raises(InvalidInputError, match="new-prog .*not in the search index"):
        score_round(filled, ROUND_ID, make_model())


def test_capacity_falls_back_to_program_seats_and_funding(filled: Store) -> None:
    intake, programs, _ = round_inputs(filled, ROUND_ID)
    cap = {c.program_id: c for c in round_capacity(intake, {p.id: p for p in programs})}
    assert (cap["fin-teh"].seats, cap["fin-teh"].budget) == (2, 1_500_000_000)
    assert cap["fin-teh"].budget_source == "round"
    assert (cap["edu-shz"].seats, cap["edu-shz"].budget) == (3, 900_000_000)  # 300M x 3 seats
    assert (cap["health-vc"].seats, cap["health-vc"].budget) == (0, 3_000_000_000)
    assert cap["agri-isf"].budget == 0 and cap["agri-isf"].seats_source == "program"


def test_allocation_problem_pins_vetoes_and_infeasible_pins(filled: Store) -> None:
    from recommender.allocation.solver import Allocator

    scores = score_round(filled, ROUND_ID, make_model()).scores
    intake, programs, apps = round_inputs(filled, ROUND_ID)
    progs = {p.id: p for p in programs}
    problem = build_allocation_problem(intake, progs, apps, scores)
    assert problem.score.shape == scores.shape
    result = Allocator().solve(problem)
    assert result.optimal and result.decisions
    first = result.decisions[0]
    vetoed = build_allocation_problem(
        intake, progs, apps, scores, vetoes=[(first.application_id, first.program_id)]
    )
    again = Allocator().solve(vetoed)
    assert (first.application_id, first.program_id) not in {
        (d.application_id, d.program_id) for d in again.decisions
    }
    # three residency pins at a 2-seat program cannot all hold
    needing = [a.id for a in apps if a.needs_residency and eligibility(a, progs["fin-teh"]) is None]
    assert len(needing) >= 3
    pins = [(a, "fin-teh") for a in needing[:3]]
    with pytest.raises(InfeasibleError, match="fin-teh has 2 seats"):
        Allocator().solve(build_allocation_problem(intake, progs, apps, scores, pins=pins))
    with pytest.raises(InvalidInputError, match="unknown application"):
        build_allocation_problem(intake, progs, apps, scores, pins=[("ghost", "fin-teh")])


def test_staff_files(tmp_path: Path) -> None:
    as_json = tmp_path / "pins.json"
    as_json.write_text(json.dumps([{"application_id": "a1", "program_id": "p1"}, ["a2", "p2"]]))
    assert read_pairs(as_json) == [("a1", "p1"), ("a2", "p2")]
    as_csv = tmp_path / "vetoes.csv"
    as_csv.write_text("application_id,program_id\na3,p3\n", encoding="utf-8")
    assert read_pairs(as_csv, "vetoes") == [("a3", "p3")]
    bad = tmp_path / "bad.json"
    bad.write_text('[{"application_id": "a1"}]')
    with pytest.raises(InvalidInputError, match="row 1: give both"):
        read_pairs(bad)
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_pairs(tmp_path / "missing.csv")
    mins = tmp_path / "mins.json"
    mins.write_text(json.dumps({"تهران": 2}), encoding="utf-8")
    assert read_province_minimums(mins) == {"تهران": 2}
    mins_csv = tmp_path / "mins.csv"
    mins_csv.write_text("province,program_id,min_seats\nفارس,edu-shz,1\nتهران,,3\n", "utf-8")
    assert read_province_minimums(mins_csv) == {("فارس", "edu-shz"): 1, "تهران": 3}


def test_parse_what_if() -> None:
    seats, budget = parse_what_if("P-12:seats=5,budget=2_000_000_000; P-3:seats=0")
    assert seats == {"P-12": 5, "P-3": 0} and budget == {"P-12": 2_000_000_000}
    for bad in ("", "P-12", "P-12:seats=-1", "P-12:size=3", "P-12:seats=x"):
        with pytest.raises(InvalidInputError):
            parse_what_if(bad)


def test_what_if_compares_with_the_saved_allocation(filled: Store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    base = run_round(filled, ROUND_ID, make_model(), out, allocate=True)
    assert base.allocation is not None and (out / "allocation.json").is_file()
    saved = json.loads((out / "allocation.json").read_text(encoding="utf-8"))
    restored = result_from_dict(saved["result"])
    assert restored.decisions == base.allocation.decisions
    assert restored.objective == base.allocation.objective

    used = [u.program_id for u in base.allocation.programs if u.seats_used > 0][0]
    outcome = run_round(filled, ROUND_ID, make_model(), out, what_if=f"{used}:seats=0")
    w = outcome.what_if
    assert w is not None and not w.baseline_stale
    assert outcome.allocation.decisions == base.allocation.decisions  # the saved baseline
    assert not any(d.residency and d.program_id == used for d in w.result.decisions)
    assert {x["program_id"] for x in w.diff.residency_lost} >= {used}
    assert w.diff.objective_after <= w.diff.objective_before + 1e-9
    assert (out / "what_if.json").is_file()
    with pytest.raises(InvalidInputError, match="not in round"):
        run_round(filled, ROUND_ID, make_model(), out, what_if="ghost:seats=1")


def test_scores_load_back_and_report_missing_pairs(filled: Store) -> None:
    run = score_round(filled, ROUND_ID, make_model())
    back = load_round_scores(filled, ROUND_ID)
    assert back.shape == run.scores.shape
    order = [back.program_ids.index(p) for p in run.scores.program_ids]
    np.testing.assert_array_equal(back.score[:, order], run.scores.score)
    with pytest.raises(InvalidInputError, match="without a score"):
        load_round_scores(filled, ROUND_ID, [*run.scores.application_ids, "ghost"])


def test_ranks_put_eligible_first_then_best_score(filled: Store) -> None:
    s = score_round(filled, ROUND_ID, make_model()).scores
    ranks = s.ranks_for_application()
    for i in range(s.shape[0]):
        assert sorted(ranks[i]) == list(range(1, N_PROGS + 1))
        order = np.argsort(ranks[i])
        elig = s.eligible[i, order]
        assert list(elig) == sorted(elig, reverse=True)
        sc = s.score[i, order][elig]
        assert np.all(np.diff(sc) <= 1e-12)
    by_program = s.ranks_for_program()
    assert all(sorted(by_program[:, j]) == list(range(1, N_APPS + 1)) for j in range(N_PROGS))


@pytest.mark.slow
def test_parallel_text_preparation_matches_serial() -> None:
    texts = [a.business_plan for a in make_applications(20)]
    serial = TextPreparer(1)(texts)
    with TextPreparer(2, min_parallel=2) as parallel:
        assert parallel(texts) == serial


@pytest.mark.parametrize(("trained", "batch_size"), [(True, 1), (True, 100), (False, 100)])
def test_a_rounds_scores_are_what_recommend_gives_each_stored_application(
    filled: Store, trained: bool, batch_size: int
) -> None:
    """One scoring core (`scoring.core.ScoringCore`) serves `Recommender.recommend` and
    `score_round`: for every (application, program) pair of the round, the round's numbers
    equal what `recommend(application=...)` gives for that application's plan.

    The stored-application path is compared: its shown score is the ranker's (or, untrained,
    the unsupervised fallback's), the rule the README states for stored applications. Free
    text is not compared: its shown score is `ranking.compose_scores` of the plan's facts and
    that prior, which a round (stored applications only) never uses. Programs that `recommend`
    excludes by eligibility are the pairs the round marks ineligible.

    Tolerance: none beyond double rounding. The semantic features sum their cosines in
    float64 (`ranking.pair_columns.semantic_matrices`), so one plan and a batch of plans give
    the same float32 features although BLAS sums a matrix-vector and a matrix product in
    another order; the item's score is the round's rounded to 6 decimals.
    """
    rel = 1e-12
    from recommender.ranking.features import FeatureBuilder
    from recommender.retrieval.filters import ProgramFilter
    from recommender.rounds.scoring import ScoringModel
    from recommender.scoring.index import build_retriever
    from recommender.scoring.pipeline import Recommender

    programs = make_programs()
    embedder = FakeEmbedder()
    retriever = build_retriever(programs, embedder)
    builder = FeatureBuilder().fit(retriever.programs_, retriever.vectors_)
    ranker = make_model().ranker if trained else None
    recommender = Recommender(embedder, retriever, builder, ranker, ranker_version="v1",
                              programs=programs)
    run = score_round(filled, ROUND_ID, ScoringModel.from_recommender(recommender),
                      batch_size=batch_size)
    s = run.scores
    assert s.model_version == ("v1" if trained else "unsupervised")
    column = {pid: j for j, pid in enumerate(s.program_ids)}
    by_id = {a.id: a for a in make_applications(N_APPS)}
    n_compared = 0
    for i, app_id in enumerate(s.application_ids):
        out = recommender.recommend(
            application=by_id[app_id], filters=ProgramFilter(program_ids=s.program_ids),
            top=len(s.program_ids),
        )
        shown = {item.program_id for item in out.items}
        assert shown | {e.program_id for e in out.excluded} == set(s.program_ids)
        for item in out.items:
            j = column[item.program_id]
            assert abs(item.score - round(float(s.score[i, j]), 6)) <= 1e-9
            assert bool(s.eligible[i, j])
            if trained:
                assert s.p_residency is not None and s.p_funding is not None
                assert s.expected_funding is not None
                if item.offers_residency:
                    assert item.p_residency == pytest.approx(
                        s.p_residency[i, j], rel=rel, abs=1e-9
                    )
                else:  # not applicable to a program without seats (the matrix keeps a number)
                    assert item.p_residency is None
                assert item.p_funding == pytest.approx(s.p_funding[i, j], rel=rel, abs=1e-9)
                assert item.expected_funding == pytest.approx(
                    s.expected_funding[i, j], rel=rel, abs=1e-9
                )
            else:
                assert item.p_residency is None and s.p_residency is None
            n_compared += 1
        for excluded in out.excluded:
            assert not s.eligible[i, column[excluded.program_id]]
    assert n_compared >= N_APPS * N_PROGS // 2
