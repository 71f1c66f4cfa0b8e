"""A round is its house's: it scores and allocates only programs that house runs."""

from __future__ import annotations

import pytest

from recommender.errors import InvalidInputError
from recommender.rounds.scoring import score_round
from recommender.rounds.stored import round_inputs
from recommender.schemas import Organization
from recommender.store.database import Store
from tests.recommender._round_fixtures import ROUND_ID, fill_store, make_model, make_programs


def test_a_round_scores_only_its_own_house_programs(store: Store) -> None:
    fill_store(store, 6)  # a single-house install: everything in the implicit house
    intake, programs, _ = round_inputs(store, ROUND_ID)
    assert intake.org_id == "main" and {p.org_id for p in programs} == {"main"}
    scored = score_round(store, ROUND_ID, make_model()).scores
    assert set(scored.program_ids) == {p.id for p in programs}


def test_a_program_moved_to_another_house_is_not_scored_in_the_round(store: Store) -> None:
    fill_store(store, 6)
    store.upsert_organizations(
        [Organization(id="other", name="خانه خلاق دیگر", province="فارس", city="شیراز")]
    )
    moved = make_programs()[0].model_copy(update={"org_id": "other"})
    store.upsert_programs([moved])
    with pytest.raises(InvalidInputError, match=f"another house: {moved.id}"):
        round_inputs(store, ROUND_ID)
    with pytest.raises(InvalidInputError, match="another house"):
        score_round(store, ROUND_ID, make_model())
