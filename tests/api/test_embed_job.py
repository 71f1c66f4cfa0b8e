"""The `plans_embed` job (api/embed_tasks.py) run whole, as the API's job thread runs it
without a queue: every plan the caller's house sees, in chunks, embedded with the model a
round's scoring uses; a house sees only its own. The queue run is in test_queue.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.embed_tasks import SPLIT
from api.jobs import JobContext
from recommender.errors import InvalidInputError, NotFoundError
from tests.recommender._round_fixtures import ROUND_ID, FakeEmbedder, fill_store, make_model


def _context(store: Any, tmp_path: Path, params: dict[str, Any], embedder: FakeEmbedder) -> Any:
    reports: list[tuple[float, str]] = []
    ctx = JobContext(
        job_id="j1", params=params, store=store, output_dir=tmp_path,
        services={"scoring_model": make_model(embedder=embedder)},
        _report=lambda fraction, message: reports.append((fraction, message)),
    )
    return ctx, reports


def test_every_plan_the_house_sees_is_embedded_in_chunks(store: Any, tmp_path: Path) -> None:
    fill_store(store, 11)
    embedder = FakeEmbedder()
    ctx, reports = _context(store, tmp_path, {"org_id": None, "chunk_size": 4}, embedder)
    result = SPLIT.run_whole(ctx)
    assert result["n_plans"] == 11 and result["n_chunks"] == 3 and result["n_empty"] == 0
    assert embedder.calls == 11 and embedder.batches == 3  # one model call per chunk
    assert reports[-1][1] == "۲ از ۳ بخش از طرح‌ها آماده شد"  # Persian digits
    only_round = SPLIT.run_whole(
        _context(store, tmp_path, {"round_id": ROUND_ID, "chunk_size": 50}, FakeEmbedder())[0]
    )
    assert only_round["n_plans"] == 11 and only_round["n_chunks"] == 1


def test_another_house_sees_none_of_the_plans_and_not_the_round(
    store: Any, tmp_path: Path
) -> None:
    from recommender.schemas import Organization

    fill_store(store, 5)
    store.upsert("orgs", [Organization(id="other-house", name="خانهٔ دیگر", city="قم",
                                       province="قم")])
    embedder = FakeEmbedder()
    ctx, _ = _context(store, tmp_path, {"org_id": "other-house"}, embedder)
    assert SPLIT.run_whole(ctx)["n_plans"] == 0 and embedder.calls == 0
    ctx, _ = _context(store, tmp_path, {"org_id": "other-house", "round_id": ROUND_ID}, embedder)
    with pytest.raises(NotFoundError):
        SPLIT.run_whole(ctx)


@pytest.mark.parametrize("size", [0, "many"])
def test_a_bad_chunk_size_is_refused_before_any_work(
    store: Any, tmp_path: Path, size: Any
) -> None:
    fill_store(store, 3)
    embedder = FakeEmbedder()
    ctx, _ = _context(store, tmp_path, {"chunk_size": size}, embedder)
    with pytest.raises(InvalidInputError):
        SPLIT.run_whole(ctx)
    assert embedder.calls == 0
