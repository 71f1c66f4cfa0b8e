"""Several API processes follow one another: a process whose catalogue or live model changed
elsewhere reloads (api/follow.py), and never serves a mix of two loads."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from api.engine import RecommenderHolder
from api.follow import Follower, service_stamp
from api.settings import Settings
from data.catalog import seed_store
from recommender.store.database import Store


class Loaded:
    """What a loader returns: which load it was (a stand-in for a whole Recommender)."""

    def __init__(self, n: int) -> None:
        self.n = n


@pytest.fixture
def shared(tmp_path: Path):
    with Store(f"sqlite:///{tmp_path / 'p.db'}") as store:
        store.upgrade()
        seed_store(store)
        yield store, Settings(home=tmp_path / "home", database_url=store.url)


def _process(store: Store, settings: Settings) -> RecommenderHolder:
    counter = itertools.count(1)
    holder = RecommenderHolder(
        loader=lambda previous: Loaded(next(counter)),  # type: ignore[arg-type,return-value]
        warm=False,
        stamp=lambda: service_stamp(store, settings),
    )
    holder.load()
    return holder


def test_a_change_made_by_one_process_reloads_the_other(shared):
    store, settings = shared
    a, b = _process(store, settings), _process(store, settings)
    follow_b = Follower(b, interval=5)
    assert not follow_b.check()  # nothing changed
    program = store.list_programs()[0]
    store.upsert_programs([program.model_copy(update={"residency_seats": 99})])  # "process a"
    a.reload_in_background()
    assert follow_b.check()  # b sees the new stamp and reloads
    b.get_settled(30)
    a.get_settled(30)
    assert b.get().n == 2 and a.get().n == 2  # type: ignore[attr-defined]
    assert b.loaded_stamp == service_stamp(store, settings)
    assert not follow_b.check()  # in step again: no second reload


def test_a_promotion_changes_the_stamp(shared):
    store, settings = shared
    from recommender.ranking.registry import ModelRegistry

    before = service_stamp(store, settings)
    registry = ModelRegistry(settings.registry_dir)
    (registry.dir.versions_root / "v0001").mkdir(parents=True)
    registry.dir.promote("v0001")  # the pointer only: what `models promote` moves
    assert registry.live_version() == "v0001"
    assert service_stamp(store, settings) != before


def test_a_store_that_is_away_for_a_moment_is_tried_again(shared):
    store, settings = shared
    holder = _process(store, settings)

    def away() -> str:
        raise OSError("database is away")

    holder.stamp = away
    assert not Follower(holder, interval=5).check()  # logged, no reload, no exception
    assert holder.get().n == 1  # type: ignore[attr-defined]


def test_serve_with_several_processes_hands_uvicorn_the_app_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    import uvicorn

    from api.cli import main

    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append((a, k)))
    monkeypatch.delenv("PEYVAND_HOME", raising=False)
    home = tmp_path / "home"
    assert main(["--home", str(home), "serve", "--workers", "2", "--port", "8799"]) == 0
    [(args, kwargs)] = calls
    assert args == ("api.main:create_app",) and kwargs["factory"] and kwargs["workers"] == 2
    assert kwargs["timeout_worker_healthcheck"] >= 30  # a process loading its model is alive
    import os

    assert os.environ["PEYVAND_HOME"] == str(home.resolve())  # the processes' settings
    assert "PEYVAND_RATELIMIT_URL" in capsys.readouterr().err  # one counter per process
    monkeypatch.delenv("PEYVAND_HOME")
    assert main(["--home", str(home), "serve", "--workers", "0"]) == 2  # usage error


def test_serve_with_the_database_away_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    import uvicorn

    from api.cli import main

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    monkeypatch.setenv("PEYVAND_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/x")
    assert main(["--home", str(tmp_path / "h"), "serve"]) == 1
    err = capsys.readouterr().err
    assert "پایگاه داده" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
