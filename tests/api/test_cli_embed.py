"""`peyvand applications embed [--round R]` through `api.cli.main`: the stored plans' vectors
made ahead, in this process, with the model a round's scoring uses (the `plans_embed` job's
own work, `api.embed_tasks.embed_here`), on SQLite and PostgreSQL; Persian lines and exits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.cli import main, round_cmds
from recommender.store.database import Store
from tests.recommender._round_fixtures import ROUND_ID, FakeEmbedder, fill_store, make_model


@pytest.fixture
def home(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, FakeEmbedder]:
    monkeypatch.setenv("PEYVAND_DATABASE_URL", db_url)
    monkeypatch.delenv("PEYVAND_HOME", raising=False)
    embedder = FakeEmbedder()
    monkeypatch.setattr(round_cmds, "load_scoring_model",
                        lambda settings: make_model(embedder=embedder))
    home = tmp_path / "home"
    assert main(["--home", str(home), "init"]) == 0
    with Store(db_url) as store:
        fill_store(store, 7)
    return home, embedder


def test_every_stored_plan_or_one_rounds_is_embedded(
    home: tuple[Path, FakeEmbedder], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, embedder = home
    assert main(["--home", str(folder), "applications", "embed"]) == 0
    out = capsys.readouterr().out
    assert "۷ طرح آماده است" in out and "ثانیه" in out
    assert "۰ از ۱ بخش از طرح‌ها آماده شد" in out  # progress, Persian digits
    assert embedder.calls == 7
    assert main(["--home", str(folder), "applications", "embed", "--round", ROUND_ID]) == 0
    assert "۷ طرح آماده است" in capsys.readouterr().out


def test_an_unknown_round_is_a_plain_error_before_the_model_loads(
    home: tuple[Path, FakeEmbedder], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, embedder = home

    def refuse(settings: Any) -> Any:
        raise AssertionError("the model was loaded for an unknown round")

    monkeypatch.setattr(round_cmds, "load_scoring_model", refuse)
    code = main(["--home", str(folder), "applications", "embed", "--round", "no-such-round"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert "no-such-round" in err and embedder.calls == 0
