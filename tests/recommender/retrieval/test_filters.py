"""The house filter of `ProgramFilter`, and filters reading the programs' current records (a
program moved to another house since the index was built is filtered as it is now)."""

from __future__ import annotations

import pytest

from recommender.errors import InvalidInputError
from recommender.ranking.features import FeatureBuilder
from recommender.retrieval.filters import ProgramFilter
from recommender.scoring.index import build_retriever
from recommender.scoring.pipeline import Recommender
from tests.recommender._pipeline_fakes import (
    PLAN_FINTECH,
    FakeEmbedder,
    linear_fallback,
    make_programs,
)

HOUSE = {"fin-teh": "house-a", "fin-isf": "house-b", "grant-tech": "house-b"}


def _programs():
    return [p.model_copy(update={"org_id": HOUSE.get(p.id, "house-c")}) for p in make_programs()]


def test_the_house_filter_keeps_only_that_houses_programs_with_a_persian_reason():
    programs = _programs()
    only_a = ProgramFilter(org_id="house-a")
    assert only_a.has_conditions()
    kept = [p.id for p in programs if only_a.matches(p)[0]]
    assert kept == ["fin-teh"]
    ok, reason = only_a.matches(next(p for p in programs if p.id == "fin-isf"))
    assert not ok and "خانهٔ دیگری" in reason
    nowhere = ProgramFilter(org_id="nowhere")
    assert "برنامه از خانهٔ انتخاب‌شده نیست" in nowhere.explain_no_match(programs)
    assert ProgramFilter().matches(programs[0]) == (True, None)  # no house: the whole network


def _recommender(indexed, current) -> Recommender:
    embedder = FakeEmbedder()
    retriever = build_retriever(indexed, embedder)
    builder = FeatureBuilder().fit(current, retriever.vectors_)
    return Recommender(
        embedder, retriever, builder, None, programs=current, fallback=linear_fallback
    )


def test_items_carry_their_house_and_a_filter_narrows_the_network():
    programs = _programs()
    rec = _recommender(programs, programs)
    every = rec.recommend(text=PLAN_FINTECH, top=8)
    assert {i.org_id for i in every.items} >= {"house-a", "house-b"}  # the whole network
    assert all(i.org_id == HOUSE.get(i.program_id, "house-c") for i in every.items)
    only_b = rec.recommend(text=PLAN_FINTECH, filters=ProgramFilter(org_id="house-b"), top=8)
    assert {i.program_id for i in only_b.items} == {"fin-isf", "grant-tech"}
    named = only_b.name_houses({"house-b": "مرکز ب"})
    assert {i.org_name for i in named.items} == {"مرکز ب"}
    assert named.items[0].to_dict()["org_name"] == "مرکز ب"


def test_a_program_moved_to_another_house_is_filtered_as_it_is_now():
    indexed = _programs()
    # Since the index was built, fin-teh moved from house A to house B.
    current = [
        p.model_copy(update={"org_id": "house-b"}) if p.id == "fin-teh" else p for p in indexed
    ]
    rec = _recommender(indexed, current)
    in_b = rec.recommend(text=PLAN_FINTECH, filters=ProgramFilter(org_id="house-b"), top=8)
    assert "fin-teh" in {i.program_id for i in in_b.items}  # found under its new house
    in_a = rec.recommend(text=PLAN_FINTECH, filters=ProgramFilter(org_id="house-a"), top=8)
    assert in_a.items == [] and in_a.empty_reason  # no longer under its old one
    assert (
        rec.retriever.program("fin-teh").org_id == "house-b"
    )  # the filters' records are the current ones


def test_records_for_the_filters_must_be_the_indexed_programs_in_order():
    programs = _programs()
    retriever = build_retriever(programs, FakeEmbedder())
    same = retriever.with_records(programs)
    assert same.programs_ == retriever.programs_ and same.index_ is retriever.index_
    with pytest.raises(InvalidInputError):
        retriever.with_records(list(reversed(programs)))
    moved = [p.model_copy(update={"active": False}) for p in programs]
    view = retriever.with_records(moved)
    assert view.passing_positions(None).size == 0  # every program inactive now
    assert retriever.passing_positions(None).size == len(programs) - 1  # the index is intact
