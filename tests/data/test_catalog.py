"""The sample catalogue: schema-valid, varied, and consistent with the sector list."""

from __future__ import annotations

import re
from collections import Counter
from itertools import combinations

import pytest

from data.catalog import load_programs, sample_plan
from recommender.constants import PROGRAM_KINDS
from recommender.schemas import Program
from recommender.taxonomy import load_sectors, sector_slugs

REQUIRED_SECTORS = {
    "fintech", "health", "agritech", "edtech", "games", "creative_culture", "media", "tourism",
    "smart_city", "mobility", "ecommerce", "logistics", "energy", "environment", "ai",
    "hardware_iot", "handicrafts_fashion", "construction",
}
REQUIRED_PROVINCES = {
    "تهران", "اصفهان", "خراسان رضوی", "فارس", "آذربایجان شرقی", "خوزستان", "البرز", "قم",
    "کرمان", "گیلان", "مازندران", "یزد",
}
_PERSIAN = re.compile(r"[\u0600-\u06FF]")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"[.!؟?]", text) if len(s.strip()) > 10]


@pytest.fixture(scope="module")
def programs() -> list[Program]:
    return load_programs()


def test_sectors_have_the_required_slugs_and_keywords():
    sectors = load_sectors()
    slugs = [s["slug"] for s in sectors]
    assert len(sectors) >= 18
    assert len(slugs) == len(set(slugs))
    assert REQUIRED_SECTORS <= set(slugs)
    assert sector_slugs() == set(slugs)
    for sector in sectors:
        assert set(sector) == {"slug", "name_fa", "name_en", "keywords_fa", "keywords_en"}
        assert 10 <= len(sector["keywords_fa"]) <= 20, sector["slug"]
        assert len(set(sector["keywords_fa"])) == len(sector["keywords_fa"])
        assert all(_PERSIAN.search(k) for k in sector["keywords_fa"])
        assert sector["keywords_en"] and _PERSIAN.search(sector["name_fa"])


def test_load_sectors_returns_a_fresh_copy():
    first = load_sectors()
    first[0]["slug"] = "changed"
    assert load_sectors()[0]["slug"] != "changed"


def test_every_program_validates_against_the_contract(programs):
    assert len(programs) >= 80
    ids = [p.id for p in programs]
    assert len(ids) == len(set(ids))
    for program in programs:  # round trip through the import form too
        assert Program.model_validate(program.model_dump()) == program


def test_every_kind_and_at_least_twelve_provinces(programs):
    kinds = Counter(p.kind for p in programs)
    assert set(kinds) == set(PROGRAM_KINDS)
    assert min(kinds.values()) >= 5
    provinces = {p.province for p in programs}
    assert len(provinces) >= 12
    assert REQUIRED_PROVINCES <= provinces
    assert all(p.city and _PERSIAN.search(p.city) for p in programs)


def test_program_sectors_are_known_slugs(programs):
    known = sector_slugs()
    used = {s for p in programs for s in p.sectors}
    assert used <= known
    assert REQUIRED_SECTORS <= used
    assert all(p.sectors for p in programs)


def test_money_seats_and_flags_are_realistic(programs):
    for p in programs:
        if p.kind == "vc_fund":
            assert p.residency_seats == 0
            assert 10_000_000_000 <= p.funding_min <= p.funding_max <= 200_000_000_000
            assert p.equity_percent is not None and p.equity_percent > 0
        if p.kind == "grant_program":
            assert p.residency_seats == 0 and p.equity_percent is None
            assert p.funding_max <= 5_000_000_000
        if p.kind in {"accelerator", "creative_house"}:
            assert 5 <= p.residency_seats <= 40
        if p.kind == "accelerator":
            assert p.equity_percent is not None
    assert any(p.requires_knowledge_based for p in programs)
    assert any(p.accepts_remote for p in programs)
    assert any(not p.accepts_remote for p in programs)
    inactive = [p for p in programs if not p.active]
    assert 1 <= len(inactive) <= len(programs) // 10


def test_descriptions_are_persian_and_distinct(programs):
    texts = [p.description for p in programs]
    assert len(set(texts)) == len(texts)
    assert len({p.name for p in programs}) == len(programs)
    sentence_sets = {p.id: set(_sentences(p.description)) for p in programs}
    for p in programs:
        assert 3 <= len(sentence_sets[p.id]) <= 6, p.id
        assert len(_PERSIAN.findall(p.description)) > 0.8 * len(p.description.replace(" ", "")) - 40
    for a, b in combinations(sentence_sets, 2):
        assert len(sentence_sets[a] & sentence_sets[b]) <= 2, (a, b)
    openings = Counter(" ".join(t.split()[:2]) for t in texts)
    assert openings.most_common(1)[0][1] <= 5  # not one template


def test_descriptions_mention_their_sectors(programs):
    """Text fit must be learnable: each program's text uses its sectors' vocabulary."""
    words = {
        s["slug"]: {w for k in s["keywords_fa"] for w in k.split() if len(w) >= 3}
        for s in load_sectors()
    }
    for p in programs:
        for slug in p.sectors:
            assert any(w in p.description for w in words[slug]), (p.id, slug)


def test_sample_plan_is_a_persian_business_plan():
    plan = sample_plan()
    assert 1_800 <= len(plan) <= 2_600
    assert _PERSIAN.search(plan)
    assert "ساختگی" in plan  # labelled as fictional
    assert "کشاورزی" in plan and "سرمایه" in plan


def test_houses_of_the_network_and_who_runs_each_program(programs):
    """The sample network: 15+ fictional houses in 12+ provinces; every program is run by one
    of them and every house runs at least two programs."""
    from data.catalog import load_organization_dicts, load_organizations
    from recommender.constants import ORG_KINDS
    from recommender.schemas import Organization

    houses = load_organizations()
    assert len(houses) >= 15
    assert set(load_organization_dicts()[0]) == set(Organization.model_fields)
    ids = [h.id for h in houses]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9-]*", i) for i in ids)
    assert len({h.province for h in houses}) >= 12
    assert {h.kind for h in houses} <= set(ORG_KINDS)
    assert {"creative_house", "innovation_center", "incubator", "fund"} <= {h.kind for h in houses}
    assert all(_PERSIAN.search(h.name) and _PERSIAN.search(h.city) and h.active for h in houses)
    owned = Counter(p.org_id for p in programs)
    assert set(owned) == set(ids)
    assert min(owned.values()) >= 2
    assert all(sum(p.active for p in programs if p.org_id == i) >= 1 for i in ids)


def test_seed_store_puts_houses_before_their_programs(store):
    from data.catalog import load_organizations, seed_store

    created, _ = seed_store(store)
    assert created == len(load_programs())
    assert {o.id for o in store.list_organizations()} == {o.id for o in load_organizations()}
    assert store.get_program("ch-001").org_id == "isfahan-creative"
