"""`peyvand recommend` and `peyvand index build`, through `api.cli.main`, with a fake embedder
(the real model is exercised by the slow end-to-end test at the bottom)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import api.services as services
from api.cli import main
from api.settings import Settings
from recommender.store.database import Store
from recommender.text.persian import format_number
from tests.recommender._pipeline_fakes import (
    PLAN_AGRI,
    PLAN_FINTECH,
    FakeEmbedder,
    make_application,
    make_programs,
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PEYVAND_DATABASE_URL", raising=False)
    monkeypatch.delenv("PEYVAND_HOME", raising=False)
    monkeypatch.setattr(services, "load_embedder", lambda settings: FakeEmbedder())
    home = tmp_path / "home"
    settings = Settings(home=home)
    store = services.open_store(settings)
    with store:
        store.upsert_programs(make_programs())
        store.upsert_applications([make_application(), make_application(
            id="app-idea", stage="idea", knowledge_based=False)])
    return home


@pytest.fixture
def indexed(home: Path) -> Path:
    services.build_index(Settings(home=home))
    return home


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.txt"
    path.write_text(PLAN_FINTECH, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def e5_model_dir() -> Path:
    """The converted default model (built once into PEYVAND_MODEL_CACHE, then reused)."""
    import os

    from recommender.embedding.e5_convert import build_default_model

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = Path(__file__).resolve().parents[2]
    cache = Path(os.environ.get("PEYVAND_MODEL_CACHE", root / ".cache" / "models"))
    return build_default_model(cache / "multilingual-e5-small")


def run(home: Path, *args: str) -> int:
    return main(["--home", str(home), *args])


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err


def test_json_output_is_a_list_best_first_with_the_contract_fields(
    indexed: Path, plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(indexed, "recommend", "--text-file", str(plan_file), "--top", "3", "--json") == 0
    captured = capsys.readouterr()
    items = json.loads(captured.out)
    assert isinstance(items, list) and len(items) == 3
    for item in items:
        for key in ("program_id", "name", "score", "p_residency", "p_funding",
                    "expected_funding", "reasons", "factors"):
            assert key in item
        assert 1 <= len(item["reasons"]) <= 3
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    assert items[0]["p_residency"] is None  # no trained model yet
    assert "یادداشت: هنوز مدل آموزش‌دیده‌ای نیست" in captured.err
    _no_traceback(captured.err)


def test_stored_application_with_filters(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(indexed, "recommend", "--application", "app-1", "--json",
               "--province", "اصفهان", "--kind", "innovation_center", "--kind", "incubator")
    assert code == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["program_id"] for i in items] == ["fin-isf", "agri-isf"] or \
        [i["program_id"] for i in items] == ["agri-isf", "fin-isf"]


def test_ineligible_programs_are_named_on_stderr(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(indexed, "recommend", "--application", "app-idea", "--json") == 0
    captured = capsys.readouterr()
    ids = {i["program_id"] for i in json.loads(captured.out)}
    assert "health-vc" not in ids
    assert "(health-vc) کنار گذاشته شد" in captured.err and "دانش‌بنیان" in captured.err


def test_table_output_in_persian(
    indexed: Path, plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(indexed, "recommend", "--text-file", str(plan_file), "--top", "2") == 0
    out = capsys.readouterr().out
    assert "برنامه‌های پیشنهادی" in out and "دلیل‌ها" in out


def test_a_filter_nothing_passes_is_an_empty_list_and_a_reason(
    indexed: Path, plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(indexed, "recommend", "--text-file", str(plan_file), "--json",
               "--province", "کرمان")
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out) == []
    assert "استان" in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--application", "nope"], "درخواستی با شناسهٔ «\u2068nope\u2069» پیدا نشد."),
        ([], "دقیقاً یکی از --text-file، --text-dir یا --application را بدهید"),
        (["--text-dir", "/no/such/folder"], "پوشهٔ /no/such/folder نیست"),
        (["--text-file", "x.txt", "--application", "app-1"], "دقیقاً یکی از"),
        (["--application", "app-1", "--fact", "stage=mvp"], "ویژگی‌های درخواست ثبت‌شده"),
        (["--text-file", "x.txt", "--fact", "colour=blue"], "ویژگی «colour» شناخته نیست"),
        (["--text-file", "x.txt", "--fact", "stage"], "NAME=VALUE"),
        (["--text-file", "/no/such/plan.txt"], "پروندهٔ /no/such/plan.txt نیست"),
        (["--kind", "spaceship", "--application", "app-1"], "نوع برنامهٔ «spaceship» شناخته نیست"),
        (["--stage", "adult", "--application", "app-1"], "مرحلهٔ «adult» شناخته نیست"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    indexed: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(indexed, "recommend", *args) == 1
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    _no_traceback(err)


@pytest.mark.parametrize("content", ["", "   \n\n  ", "... ؟! «» ،،"])
def test_empty_text_file_is_an_error(
    indexed: Path, tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.txt"
    path.write_text(content, encoding="utf-8")
    assert run(indexed, "recommend", "--text-file", str(path)) == 1
    err = capsys.readouterr().err
    assert "empty" in err or "no word" in err
    _no_traceback(err)


def test_no_index_yet_says_what_to_run(
    home: Path, plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(home, "recommend", "--text-file", str(plan_file)) == 1
    err = capsys.readouterr().err
    assert "peyvand index build" in err
    _no_traceback(err)


def test_index_built_with_another_model_is_refused(
    indexed: Path, plan_file: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(services, "load_embedder", lambda s: FakeEmbedder("another-model"))
    assert run(indexed, "recommend", "--text-file", str(plan_file)) == 1
    err = capsys.readouterr().err
    assert "another-model" in err and "peyvand index build" in err
    assert len(err.strip().splitlines()) == 1


def test_corrupt_live_model_is_a_clear_error(
    indexed: Path, plan_file: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from recommender.errors import CorruptArtifactError

    def corrupt(settings: Settings, model_id: str) -> None:
        raise CorruptArtifactError("cannot read the ranker in registry/v1: bad checksum")

    monkeypatch.setattr(services, "load_live_ranker", corrupt)
    assert run(indexed, "recommend", "--text-file", str(plan_file)) == 1
    err = capsys.readouterr().err
    assert "cannot read the ranker" in err
    _no_traceback(err)


def _register_trained_ranker(home: Path) -> Path:
    """A small FitRanker fitted on random features, registered and made live."""
    import numpy as np

    from recommender.ranking.features import FEATURE_NAMES
    from recommender.ranking.ranker import FitRanker
    from recommender.ranking.registry import ModelRegistry

    rng = np.random.default_rng(0)
    X = rng.random((240, len(FEATURE_NAMES)))
    y_res = (X[:, 0] + 0.3 * rng.random(240) > 0.6).astype(int)
    y_fund = (X[:, 1] + 0.3 * rng.random(240) > 0.6).astype(int)
    funded = y_fund * 1_000_000_000
    ranker = FitRanker(estimator="logistic", calibration="sigmoid").fit(
        X, y_res, y_fund, funded, embedding_model_id=FakeEmbedder().model_id_
    )
    registry = ModelRegistry(Settings(home=home).registry_dir)
    version = registry.register(ranker, metrics={"ndcg@10": 0.5})
    registry.promote(version)
    return registry.root / version


def test_live_trained_ranker_gives_probabilities(
    indexed: Path, plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _register_trained_ranker(indexed)
    assert run(indexed, "recommend", "--text-file", str(plan_file), "--json") == 0
    captured = capsys.readouterr()
    items = json.loads(captured.out)
    hosting = [i for i in items if i["offers_residency"]]
    assert hosting and all(0.0 <= i["p_residency"] <= 1.0 for i in hosting)
    # residency does not apply to a program without seats: null, never 0
    assert all(i["p_residency"] is None for i in items if not i["offers_residency"])
    assert all(i["expected_funding"] is not None for i in items)
    assert "no trained model" not in captured.err


def test_corrupt_live_model_file_is_a_clear_error(
    indexed: Path, plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _register_trained_ranker(indexed)
    (folder / "ranker.joblib").write_bytes(b"not a model")
    assert run(indexed, "recommend", "--text-file", str(plan_file)) == 1
    err = capsys.readouterr().err
    assert "cannot read the ranker" in err
    assert len(err.strip().splitlines()) == 1
    _no_traceback(err)


def test_index_build_command(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(home, "index", "build") == 0
    out = capsys.readouterr().out
    assert f"{format_number(len(make_programs()))} برنامه با fake-bow-48" in out
    assert (home / "index" / "CURRENT").is_file()


def test_index_build_with_no_programs_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(services, "load_embedder", lambda settings: FakeEmbedder())
    assert run(tmp_path / "empty-home", "index", "build") == 1
    assert "no programs to index" in capsys.readouterr().err


def test_programs_added_after_indexing_are_picked_up(
    indexed: Path, plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = make_programs()[1].model_copy(
        update={"id": "fin-new", "name": "شتاب‌دهنده تازه پرداخت", "province": "یزد"}
    )
    with Store(Settings(home=indexed).db_url) as store:
        store.upsert_programs([new])
    assert run(indexed, "recommend", "--text-file", str(plan_file), "--json",
               "--province", "یزد") == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["program_id"] for i in items] == ["fin-new"]


@pytest.mark.slow
def test_end_to_end_with_the_real_default_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, e5_model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The offline multilingual-e5-small: index the sample catalogue, recommend for the
    sample plan."""
    from data.catalog import sample_plan, seed_store

    monkeypatch.delenv("PEYVAND_DATABASE_URL", raising=False)
    monkeypatch.setenv("PEYVAND_MODEL_CACHE", str(e5_model_dir.parent))
    home = tmp_path / "home"
    with services.open_store(Settings(home=home)) as store:
        seed_store(store)  # the houses, then their programs
    plan = tmp_path / "plan.txt"
    plan.write_text(sample_plan(), encoding="utf-8")
    assert run(home, "index", "build") == 0
    capsys.readouterr()
    assert run(home, "recommend", "--text-file", str(plan), "--json", "--top", "5") == 0
    items = json.loads(capsys.readouterr().out)
    assert len(items) == 5 and all(item["reasons"] for item in items)


def test_text_dir_ranks_every_plan_one_json_line_each_and_reports_bad_files(
    indexed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "a-fintech.txt").write_text(PLAN_FINTECH, encoding="utf-8")
    (folder / "b-agri.txt").write_text(PLAN_AGRI, encoding="utf-8")
    (folder / "c-empty.txt").write_text("  \n", encoding="utf-8")
    (folder / "d-broken.pdf").write_bytes(b"not a pdf at all")
    (folder / "notes.md").write_text("not a plan", encoding="utf-8")
    code = run(indexed, "recommend", "--text-dir", str(folder), "--top", "2", "--json")
    captured = capsys.readouterr()
    assert code == 1  # two files failed; the others were still ranked
    lines = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert [line["file"] for line in lines] == [
        "a-fintech.txt", "b-agri.txt", "c-empty.txt", "d-broken.pdf"]
    good, bad = lines[:2], lines[2:]
    for line in good:
        assert len(line["items"]) == 2 and "program_id" in line["items"][0]
        assert set(line["facts"]) >= {"stage", "province", "funding_ask", "sectors"}
    assert good[0]["facts"]["province"]["value"] == "اصفهان"
    assert good[0]["facts"]["team_size"]["value"] == 5
    assert all("error" in line and "items" not in line for line in bad)
    assert "c-empty.txt" in captured.err and "d-broken.pdf" in captured.err
    assert "۲ طرح از ۴ رتبه‌بندی نشد" in captured.err
    _no_traceback(captured.err)


def test_text_dir_all_good_exits_0(
    indexed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "one.txt").write_text(PLAN_FINTECH, encoding="utf-8")
    assert run(indexed, "recommend", "--text-dir", str(folder)) == 0
    out = capsys.readouterr().out
    assert "one.txt" in out and "برنامه‌های پیشنهادی" in out and "استان" in out


def test_facts_of_a_text_file_go_to_stderr_and_corrections_are_used(
    indexed: Path, plan_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(indexed, "recommend", "--text-file", str(plan_file), "--json") == 0
    captured = capsys.readouterr()
    assert isinstance(json.loads(captured.out), list)  # stdout stays the contract's list
    prefix = "ویژگی‌های خوانده‌شده: "
    line = next(x for x in captured.err.splitlines() if x.startswith(prefix))
    facts = json.loads(line[len(prefix):])
    assert facts["stage"]["value"] == "mvp" and facts["province"]["value"] == "اصفهان"

    assert run(indexed, "recommend", "--text-file", str(plan_file), "--json",
               "--fact", "stage=growth", "--fact", "province=تهران") == 0
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if x.startswith(prefix))
    facts = json.loads(line[len(prefix):])
    assert facts["stage"] == {"value": "growth", "confidence": 1.0}
    assert facts["province"]["value"] == "تهران"
