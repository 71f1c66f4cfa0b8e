"""`peyvand models build-default`, through `api.cli.main`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.cli import main
from api.cli.model_cmds import models_app
from recommender.embedding.e5_convert import build_default_model

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def built_model_dir() -> Path:
    """The shared converted model (same place as tests/recommender's `e5_model_dir`)."""
    cache = Path(os.environ.get("PEYVAND_MODEL_CACHE", REPO_ROOT / ".cache" / "models"))
    return build_default_model(cache / "multilingual-e5-small")


def test_build_default_prints_the_model_dir_and_is_a_fast_no_op(
    built_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from api import services

    monkeypatch.setenv("PEYVAND_MODEL_CACHE", str(built_model_dir.parent))
    readers: list[Path] = []  # the sector reader's own build is tested in test_sector_model
    monkeypatch.setattr(services, "load_sector_model", lambda s: readers.append(s.models_dir))
    before = (built_model_dir / "model.safetensors").stat().st_mtime_ns
    assert main(["--home", str(tmp_path / "home"), "models", "build-default"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        str(built_model_dir), str(built_model_dir.parent / "sector-reader")
    ]
    assert readers == [built_model_dir.parent]
    assert (built_model_dir / "model.safetensors").stat().st_mtime_ns == before  # not rebuilt


def test_the_models_group_is_open_for_more_commands() -> None:
    names = {cmd.name for cmd in models_app.registered_commands}
    assert "build-default" in names
