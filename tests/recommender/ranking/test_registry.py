from __future__ import annotations

import json

import numpy as np
import pytest

from recommender.errors import CorruptArtifactError, InvalidInputError, NotFoundError
from recommender.ranking.features import FEATURE_NAMES
from recommender.ranking.ranker import FitRanker
from recommender.ranking.registry import ModelRegistry


def tiny_ranker(seed: int) -> FitRanker:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, len(FEATURE_NAMES)))
    y_res = (X[:, 0] + 0.5 * rng.normal(size=120) > 0).astype(int)
    y_fund = (X[:, 1] + 0.5 * rng.normal(size=120) > 0).astype(int)
    amount = y_fund * 1e9
    return FitRanker(estimator="logistic", calibration="sigmoid").fit(
        X, y_res, y_fund, amount, embedding_model_id="m1", data_fingerprint=f"fp{seed}"
    )


def test_empty_registry(tmp_path) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    assert registry.live() is None and registry.list() == []
    with pytest.raises(NotFoundError):
        registry.promote("v0001")
    with pytest.raises(InvalidInputError):
        registry.rollback()


def test_register_promote_rollback(tmp_path) -> None:
    registry = ModelRegistry(tmp_path)
    first, second = tiny_ranker(1), tiny_ranker(2)
    v1 = registry.register(first, {"models": {"ranker": {"ndcg@10": 0.5}}}, {"note": "a"})
    assert v1 == "v0001" and registry.live() is None  # registered, not live
    meta = json.loads((tmp_path / v1 / "meta.json").read_text(encoding="utf-8"))
    assert meta["feature_names"] == FEATURE_NAMES
    assert meta["data_fingerprint"] == "fp1" and meta["embedding_model_id"] == "m1"
    assert meta["metrics"]["models"]["ranker"]["ndcg@10"] == 0.5 and meta["created_at"]
    assert meta["note"] == "a" and meta["version"] == v1

    registry.promote(v1)
    v2 = registry.register(second, {})
    registry.promote(v2)
    X = np.random.default_rng(0).normal(size=(5, len(FEATURE_NAMES)))
    version, live = registry.live()
    assert version == "v0002"
    np.testing.assert_allclose(live.predict(X).score, second.predict(X).score)
    assert [(e.version, e.live) for e in registry.list()] == [("v0001", False), ("v0002", True)]

    assert registry.rollback() == "v0001"
    version, live = registry.live()
    assert version == "v0001"
    np.testing.assert_allclose(live.predict(X).score, first.predict(X).score)
    with pytest.raises(InvalidInputError):
        registry.rollback()
    assert registry.get("v0002").live is False


def test_damaged_files_are_reported(tmp_path) -> None:
    registry = ModelRegistry(tmp_path)
    version = registry.register(tiny_ranker(1), {})
    (tmp_path / version / "ranker.joblib").write_bytes(b"garbage")
    with pytest.raises(CorruptArtifactError):
        registry.promote(version)
    (tmp_path / "live.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorruptArtifactError):
        registry.live()


def test_versions_keep_counting_and_no_staging_left(tmp_path) -> None:
    registry = ModelRegistry(tmp_path)
    versions = [registry.register(tiny_ranker(i), {}) for i in range(3)]
    assert versions == ["v0001", "v0002", "v0003"]
    assert sorted(p.name for p in tmp_path.iterdir()) == versions
