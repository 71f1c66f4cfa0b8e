"""benchmarks/learning_curve.py: the rule that defines "enough" decisions, and a tiny run of the
script end to end (JSON and figure written, the embedder named)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from recommender.ranking.registry import MIN_TRAINING_OUTCOMES, trained_on_outcomes

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "learning_curve.py"


@pytest.fixture(scope="module")
def lc():
    spec = importlib.util.spec_from_file_location("learning_curve", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(n, share, margin):
    return {"decisions": n, "share_beating_unsupervised": share, "margin_mean": margin}


def test_enough_is_the_size_from_which_every_larger_one_beats_the_fallback(lc) -> None:
    rows = [
        _row(100, 0.5, -0.02),
        _row(200, 0.95, 0.01),
        _row(400, 0.8, 0.01),
        _row(800, 1.0, 0.03),
        _row("all", 1.0, 0.05),
    ]
    assert lc.enough(rows, 0.9) == 800  # 400 fails, so 200 does not count
    assert lc.enough(rows, 0.8) == 200
    assert lc.enough([_row(100, 1.0, 0.01), _row("all", 0.5, -0.01)], 0.9) is None


def test_summary_pools_histories_and_measures_margins_per_history(lc) -> None:
    per_history = [
        ({100: [0.5, 0.7], 0: [0.8]}, {"unsupervised": 0.6}),
        ({100: [0.4, 0.45], 0: [0.6]}, {"unsupervised": 0.5}),
    ]
    rows = lc.summarize(per_history, [100, 0])
    assert [r["decisions"] for r in rows] == [100, "all"]
    assert rows[0]["runs"] == 4 and rows[0]["share_beating_unsupervised"] == 0.25
    assert rows[0]["margin_min"] == pytest.approx(-0.1)
    assert rows[1]["margin_mean"] == pytest.approx(0.15)


def test_trained_on_outcomes_reads_old_and_new_meta() -> None:
    assert trained_on_outcomes({"trained_on_outcomes": 12, "n_train_pairs": 9}) == 12
    assert trained_on_outcomes({"n_train_pairs": 9}) == 9
    assert trained_on_outcomes({}) is None
    assert MIN_TRAINING_OUTCOMES > 0


@pytest.mark.slow
def test_the_script_runs_and_writes_its_results(lc, tmp_path, capsys) -> None:
    out, fig = tmp_path / "lc.json", tmp_path / "lc.svg"
    assert (
        lc.main(
            [
                "--sizes",
                "60,0",
                "--seeds",
                "2",
                "--history-seeds",
                "1",
                "--n-rounds",
                "4",
                "--per-round",
                "30",
                "--estimator",
                "logistic",
                "--out",
                str(out),
                "--figure",
                str(fig),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "embedder: hashing-bow" in printed and "enough" in printed
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["embedder"].startswith("hashing-bow")
    assert [r["decisions"] for r in result["curve"]] == [60, "all"]
    assert result["curve"][0]["runs"] == 2 and result["curve"][1]["runs"] == 1
    assert {"unsupervised", "bm25"} <= set(result["histories"][0]["baselines_ndcg10"])
    assert fig.read_bytes().startswith(b"<?xml") and b"<svg" in fig.read_bytes()
    again = tmp_path / "again.svg"
    assert lc.main(["--redraw", str(out), "--figure", str(again)]) == 0
    assert again.read_bytes().startswith(b"<?xml")
