"""`peyvand round score` through `api.cli.main`, and the `round_score` job function, on
SQLite and PostgreSQL (the `db_url` fixture, given to the CLI as PEYVAND_DATABASE_URL)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from api.cli import main, round_cmds
from api.jobs import JobRegistry
from api.round_jobs import register, round_score_job
from recommender.store.database import Store
from recommender.text.persian import format_number
from tests.recommender._round_fixtures import ROUND_ID, fill_store, make_model

N_APPS, N_PROGS = 12, 6


@pytest.fixture
def home(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PEYVAND_DATABASE_URL", db_url)
    monkeypatch.delenv("PEYVAND_HOME", raising=False)
    loaded: list[int] = []

    def fake_load(settings: Any) -> Any:
        loaded.append(1)
        return make_model()

    monkeypatch.setattr(round_cmds, "load_scoring_model", fake_load)
    home = tmp_path / "home"
    assert main(["--home", str(home), "init"]) == 0
    with Store(db_url) as store:
        fill_store(store, N_APPS)
    return home


def run(home: Path, *args: str) -> int:
    return main(["--home", str(home), "round", "score", *args])


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    return err.splitlines()[-1] if err else ""


def test_score_writes_the_committee_files(home: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run(home, ROUND_ID, "--out", str(out), "--top", "3") == 0
    printed = capsys.readouterr()
    n_apps, n_progs = format_number(N_APPS), format_number(N_PROGS)
    assert f"دورهٔ {ROUND_ID}: {n_apps} درخواست × {n_progs} برنامه" in printed.out
    assert "۱۲ امتیاز تازه، ۰ از پیش" in printed.out
    assert f"{n_apps} از {n_apps} درخواست امتیاز گرفت" in printed.err  # progress (not a terminal)
    for name in ("scores.csv", "shortlists.csv", "summary.json", "report.xlsx", "report.html"):
        assert (out / name).is_file(), name
    assert not (out / "allocation.csv").exists()
    with (out / "scores.csv").open(encoding="utf-8-sig") as handle:
        assert len(list(csv.DictReader(handle))) == N_APPS * N_PROGS
    # again: nothing to score, the same numbers
    before = (out / "scores.csv").read_bytes()
    assert run(home, ROUND_ID, "--out", str(out), "--top", "3", "-q") == 0
    assert "۰ امتیاز تازه، ۱۲ از پیش" in capsys.readouterr().out
    assert (out / "scores.csv").read_bytes() == before


def test_default_folder_is_in_the_home(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(home, ROUND_ID, "-q") == 0
    assert (home / "rounds" / ROUND_ID / "summary.json").is_file()


def test_allocate_then_what_if(home: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run(home, ROUND_ID, "--out", str(out), "--allocate", "--time-limit", "20", "-q") == 0
    printed = capsys.readouterr().out
    assert "تخصیص: optimal (بهینه: بله" in printed
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["optimal"] is True
    used = [p["program_id"] for p in summary["programs"] if p["seats_used"]][0]
    assert run(home, ROUND_ID, "--out", str(out), "-q", "--what-if",
               f"{used}:seats=0;edu-shz:budget=0") == 0
    printed = capsys.readouterr().out
    assert "سناریو: مقدار هدف" in printed and f"  {used}: ظرفیت" in printed
    assert "  - اقامت " in printed
    what_if = json.loads((out / "what_if.json").read_text(encoding="utf-8"))
    assert what_if["seat_changes"] == {used: 0} and what_if["budget_changes"] == {"edu-shz": 0}
    # the saved allocation is still the baseline
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["objective"] == (
        summary["objective"]
    )


def test_pins_and_vetoes_files(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(home, ROUND_ID, "--out", str(out), "--allocate", "-q") == 0
    with (out / "allocation.csv").open(encoding="utf-8-sig") as handle:
        first = next(csv.DictReader(handle))
    vetoes = tmp_path / "vetoes.csv"
    vetoes.write_text(f"application_id,program_id\n{first['application_id']},"
                      f"{first['program_id']}\n", encoding="utf-8")
    assert run(home, ROUND_ID, "--out", str(out), "--allocate", "-q",
               "--vetoes", str(vetoes)) == 0
    with (out / "allocation.csv").open(encoding="utf-8-sig") as handle:
        pairs = {(r["application_id"], r["program_id"]) for r in csv.DictReader(handle)}
    assert (first["application_id"], first["program_id"]) not in pairs


def test_infeasible_pins_exit_1_with_the_allocators_message(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pins = tmp_path / "pins.json"
    pins.write_text(json.dumps([["R1-a02", "health-vc"], ["R1-a02", "agri-isf"]]))
    vetoes = tmp_path / "vetoes.json"
    vetoes.write_text(json.dumps([{"application_id": "R1-a02", "program_id": "health-vc"}]))
    code = run(home, ROUND_ID, "--out", str(tmp_path / "o"), "--allocate", "-q",
               "--pins", str(pins), "--vetoes", str(vetoes))
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("خطا: تصمیم‌های قطعی (pins) با هم شدنی نیستند:\n  ")
    assert "pinned and also vetoed: R1-a02 -> health-vc" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope",), "خطا: دوره‌ای با شناسهٔ «\u2068nope\u2069» پیدا نشد."),
        ((ROUND_ID, "--what-if", "fin-teh:seats=many"), "خطا: «seats=many» برای برنامهٔ fin-teh"),
        ((ROUND_ID, "--pins", "/no/such/pins.json"), "خطا: پروندهٔ /no/such/pins.json (pins) نیست."),
    ],
)
def test_bad_input_is_one_line(home: Path, capsys: pytest.CaptureFixture[str],
                               args: tuple[str, ...], message: str) -> None:
    assert run(home, *args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(message)


def test_round_without_applications_and_unwritable_folder(
    home: Path, tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from recommender.schemas import IntakeRound

    with Store(db_url) as store:
        store.upsert_rounds([IntakeRound(id="R2", name="خالی", opens_on="2026-01-01",
                                         closes_on="2026-02-01", program_ids=["fin-teh"])])
    assert run(home, "R2") == 1
    assert error_line(capsys) == (
        "خطا: دورهٔ «R2» هیچ درخواستی ندارد؛ نخست درخواست‌هایی با round_id «R2» وارد کنید."
    )
    taken = tmp_path / "taken"
    taken.write_text("x")
    assert run(home, ROUND_ID, "--out", str(taken)) == 1
    assert error_line(capsys) == (
        f"خطا: گزارش‌ها در {taken} نوشته نشد: این یک پرونده است، نه پوشه."
    )


def test_round_score_job_runs_on_the_library(store: Store, tmp_path: Path) -> None:
    fill_store(store, N_APPS)
    model = make_model(version="v7")
    seen: list[tuple[float, float, str]] = []
    ctx = SimpleNamespace(
        params={"round_id": ROUND_ID, "top": 3, "allocate": True},
        store=store,
        output_dir=tmp_path / "job",
        services={},
        progress=lambda done, total, message: seen.append((done, total, message)),
    )
    (tmp_path / "job").mkdir()
    result = round_score_job(ctx, model)
    assert result["round_id"] == ROUND_ID and result["allocation"]["optimal"] is True
    assert result["scoring"]["model_version"] == "v7"
    assert {"scores.csv", "allocation.csv", "report.xlsx", "summary.json"} <= set(result["files"])
    assert seen[-1][:2] == (N_APPS, N_APPS) and "درخواست" in seen[-1][2]
    json.dumps(result)  # the job's result is stored as JSON

    registry = JobRegistry()
    register(registry)
    kind = registry.get("round_score")
    assert kind is not None and kind.function is round_score_job
    placeholder = JobRegistry()
    placeholder.register("round_score", round_score_job, "given")
    register(placeholder, model=model)  # a registry that has the kind keeps it
    assert placeholder.get("round_score").title == "given"  # type: ignore[union-attr]


@pytest.mark.slow
def test_score_on_the_real_recommender_glue(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`load_scoring_model` through `api.services.load_recommender` (index, features, the
    unsupervised fallback) with the bag-of-words embedder instead of e5."""
    services = pytest.importorskip("api.services")
    from api.settings import Settings
    from tests.recommender._round_fixtures import FakeEmbedder

    monkeypatch.setenv("PEYVAND_DATABASE_URL", db_url)
    monkeypatch.setattr(services, "load_embedder", lambda settings: FakeEmbedder())
    home = tmp_path / "home"
    assert main(["--home", str(home), "init"]) == 0
    with Store(db_url) as store:
        fill_store(store, N_APPS)
        services.build_index(Settings(home=home, database_url=db_url), store=store,
                             embedder=FakeEmbedder())
    out = tmp_path / "out"
    assert run(home, ROUND_ID, "--out", str(out), "--allocate", "-q", "--workers", "1") == 0
    printed = capsys.readouterr().out
    assert "مدل unsupervised؛ ۱۲ امتیاز تازه، ۰ از پیش" in printed
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["model_version"] == "unsupervised" and summary["optimal"] is True
    assert summary["embedding_model"] == "fake-bow-32"
