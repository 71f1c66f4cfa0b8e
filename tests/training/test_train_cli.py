from __future__ import annotations

import json

import pytest

from api.cli import app, main, train_cmds


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A home with a small synthetic history in its store."""
    from data.catalog import seed_store
    from data.synthetic import generate_history
    from recommender.schemas import Application, IntakeRound, Outcome
    from recommender.store.database import Store

    root = tmp_path_factory.mktemp("home")
    history = generate_history(n_rounds=3, applications_per_round=15)
    store = Store(f"sqlite:///{root / 'peyvand.db'}")
    store.upgrade()
    seed_store(store)  # the houses, then their programs
    store.upsert_rounds([IntakeRound(**r) for r in history.rounds])
    store.upsert_applications([Application(**a) for a in history.applications])
    store.upsert_outcomes([Outcome(**o) for o in history.outcomes])
    store.close()
    return root


@pytest.fixture()
def cli(monkeypatch, home):
    """`main` with the hashing embedder instead of e5 (speed), train/evaluate registered."""
    from training.bow_embedder import HashingEmbedder

    monkeypatch.setattr("api.services.load_embedder", lambda settings: HashingEmbedder().fit())
    monkeypatch.delenv("PEYVAND_DATABASE_URL", raising=False)
    names = {c.name for c in app.registered_commands}
    if "train" not in names:
        train_cmds.register(app)

    def run(*args: str) -> int:
        return main(["--home", str(home), *args])

    return run


@pytest.mark.slow
def test_train_evaluate_and_models_commands(cli, home, capsys) -> None:
    assert cli("models", "rollback") == 1  # nothing to roll back to
    assert "نسخهٔ زندهٔ پیشینی برای بازگشت نیست" in capsys.readouterr().err
    # 68 training outcomes: fewer than the measured threshold, so nothing goes live and the
    # unsupervised fallback keeps serving
    assert cli("train", "--holdout-rounds", "1", "--estimator", "logistic") == 0
    out = capsys.readouterr().out
    assert "v0001: ثبت شد، زنده نشد" in out and "امتیاز بی‌آموزش می‌ماند" in out
    assert "با ۶۸ نتیجه آموزش دید، کمتر از ۶۰۰ نتیجهٔ لازم" in out
    assert (home / "registry" / "v0001" / "evaluation" / "report.html").is_file()
    assert cli("train", "--min-outcomes", "-1") == 1
    capsys.readouterr()

    assert cli("train", "--holdout-rounds", "1", "--estimator", "logistic",
               "--weights", "residency=1,funding=1,coverage=1", "--min-outcomes", "0") == 0
    assert "v0002: زنده شد" in capsys.readouterr().out

    assert cli("models", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(m["version"], m["live"]) for m in listed] == [("v0001", False), ("v0002", True)]
    assert all(m["trained_on_outcomes"] == 68 for m in listed)
    assert listed[1]["metrics"]["models"]["ranker"]["ndcg@10"] > 0
    assert "fewer than" in listed[0]["decision"]

    out_dir = home / "eval"
    assert cli("evaluate", "--out", str(out_dir), "--holdout-rounds", "1") == 0
    metrics = json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["models"]) == {"ranker", "bm25", "embedding", "popularity", "random"}
    assert "recall@50" in metrics["candidates"]
    assert 'dir="rtl"' in (out_dir / "report.html").read_text(encoding="utf-8")
    capsys.readouterr()

    assert cli("models", "list") == 0
    listing = capsys.readouterr().out
    assert "* v0002" in listing and "  v0001" in listing
    # an admin may still make a version live by hand (an explicit override of the threshold)
    assert cli("models", "promote", "v0001") == 0
    assert cli("models", "rollback") == 0
    assert "بازگشت انجام شد: v0002 زنده است" in capsys.readouterr().out
    assert cli("models", "promote", "v0009") == 1
    assert cli("models", "promote", "v0002") == 0
    assert cli("train", "--weights", "speed=2") == 1
