"""Fixtures of the service tests: a tiny Persian catalogue, a fake Recommender with the real
one's answer shape, and a running app (SQLite file and PostgreSQL, via the root `db_url`)
with one account per role.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.accounts import Accounts
from api.embed_tasks import register as register_embed_jobs
from api.jobs import default_registry
from api.main import create_app
from api.ratelimit import Rule
from api.round_jobs import register as register_round_jobs
from api.settings import Settings
from recommender import schemas
from recommender.errors import EmptyTextError
from recommender.retrieval.filters import ProgramFilter
from recommender.scoring.pipeline import Recommendation, RecommendationList, Recommender
from recommender.text.facts import read_facts
from tests.recommender._round_fixtures import make_model

PROGRAMS = [
    schemas.Program(
        id="fin-teh",
        name="شتاب‌دهنده پرداخت نو",
        kind="accelerator",
        description="شتاب‌دهنده برای تیم‌های فین‌تک، پرداخت و کیف پول در تهران.",
        sectors=["fintech"],
        stages=["mvp", "early_revenue"],
        province="تهران",
        city="تهران",
        residency_seats=10,
        funding_min=1_000_000_000,
        funding_max=10_000_000_000,
        accepts_remote=True,
    ),
    schemas.Program(
        id="agri-isf",
        name="مرکز رشد کشاورزی هوشمند",
        kind="incubator",
        description="مرکز رشد برای کشاورزی هوشمند، آبیاری و گلخانه در اصفهان.",
        sectors=["agritech"],
        stages=["idea", "mvp"],
        province="اصفهان",
        city="اصفهان",
        residency_seats=5,
    ),
    schemas.Program(
        id="health-fund",
        name="صندوق سلامت دیجیتال",
        kind="vc_fund",
        description="صندوق سرمایه‌گذاری در سلامت دیجیتال، پزشکی از راه دور و داروخانه آنلاین.",
        sectors=["healthtech"],
        stages=["early_revenue", "growth"],
        province="تهران",
        funding_min=5_000_000_000,
        funding_max=50_000_000_000,
    ),
    schemas.Program(
        id="creative-shz",
        name="خانه خلاق شیراز",
        kind="creative_house",
        description="خانه خلاق برای گردشگری، صنایع دستی و فرهنگ در شیراز.",
        sectors=["tourism"],
        province="فارس",
        city="شیراز",
        residency_seats=8,
    ),
]

PLAN = (
    "ما یک کیف پول دیجیتال و درگاه پرداخت برای فروشگاه‌های کوچک ساخته‌ایم. "
    "محصول اولیه آماده است و پانصد کاربر فعال داریم؛ رمز-محرمانه-۴۲۷۱."
)
WORD = re.compile(r"[\w\u200c]+")


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with test-sized costs (the real defaults take ~0.5 s per hash on a busy box)."""
    from argon2 import PasswordHasher

    from api import security

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(security, "_hasher", cheap)
    monkeypatch.setattr(security, "_DUMMY_HASH", cheap.hash("dummy"))


class FakeRecommender:
    """Ranks programs by shared words with the plan; honours program_ids/kinds/provinces/
    active_only filters; counts calls. Answers with the library's own
    `pipeline.RecommendationList`."""

    def __init__(self, programs: list[schemas.Program], delay: float = 0.0) -> None:
        self.programs = list(programs)
        self.delay = delay
        self.calls = 0

    def recommend(
        self,
        text: str | None = None,
        application: schemas.Application | None = None,
        filters: ProgramFilter | None = None,
        top: int | None = None,
        facts: dict | None = None,
    ) -> RecommendationList:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        raw = text if text is not None else application.business_plan  # type: ignore[union-attr]
        words = set(WORD.findall(raw))
        if not words:
            raise EmptyTextError("the plan has no words")
        filters = filters or ProgramFilter()
        scored = []
        for program in self.programs:
            if filters.active_only and not program.active:
                continue
            if filters.program_ids is not None and program.id not in filters.program_ids:
                continue
            if filters.kinds is not None and program.kind not in filters.kinds:
                continue
            if filters.provinces is not None and program.province not in filters.provinces:
                continue
            overlap = len(words & set(WORD.findall(program.description + " " + program.name)))
            scored.append((overlap / (1 + len(words)), program))
        scored.sort(key=lambda pair: (-pair[0], pair[1].id))
        items = [
            Recommendation(
                program_id=p.id,
                name=p.name,
                kind=p.kind,
                province=p.province,
                rank=rank,
                score=round(score, 4),
                p_residency=0.5,
                p_funding=0.25,
                expected_funding=1_000_000.0,
                reasons=[f"حوزهٔ کاری «{p.name}» با طرح شما هم‌خوان است."],
                factors={"semantic": score, "stage": 0.1},
                dense_score=0.0,
                lexical_score=0.0,
            )
            for rank, (score, p) in enumerate(scored[: top or 10], start=1)
        ]
        empty = None if items else "هیچ برنامه‌ای با این شرایط پیدا نشد."
        read = read_facts(raw).corrected(facts).to_dict() if text is not None else None
        return RecommendationList(
            items=items, empty_reason=empty, model_version="v-test", embedding_model="fake",
            facts=read,
        )


@dataclass
class Env:
    """A running app with one account per role (tokens in `tokens`, passwords in
    `passwords`)."""

    client: TestClient
    app: Any
    settings: Settings
    recommender: FakeRecommender
    tokens: dict[str, str]
    user_ids: dict[str, int]
    passwords: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    @property
    def store(self) -> Any:
        return self.app.state.store

    def wait_job(self, job_id: str, who: str = "staff", timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.client.get(f"/v1/jobs/{job_id}", headers=self.auth(who)).json()
            if body["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                return body
            time.sleep(0.05)


ACCOUNTS = {
    "admin": "admin",
    "staff": "staff",
    "applicant": "applicant",
    "applicant2": "applicant",
}
GENEROUS_LIMITS = {
    name: Rule(10_000, 60.0) for name in ("login", "applicant_write", "applicant_suggest")
}


def make_env(
    db_url: str,
    home: Path,
    *,
    passwords: bool = False,
    rate_rules: dict[str, Rule] | None = None,
    ratelimit_url: str = "memory://",
    **app_kwargs: Any,
) -> Iterator[Env]:
    settings = Settings(home=home, database_url=db_url, ratelimit_url=ratelimit_url)
    fake = FakeRecommender(PROGRAMS)
    if "job_registry" not in app_kwargs:
        # Round jobs run the real round scoring on the round tests' small model over PROGRAMS
        # (the fake recommender answers single requests only).
        registry = default_registry.copy()
        model = make_model(programs=PROGRAMS)
        register_round_jobs(registry, model=model)
        register_embed_jobs(registry, model=model)
        app_kwargs["job_registry"] = registry
    app = create_app(
        settings,
        recommender=fake,
        job_poll_interval=0.05,
        rate_rules=rate_rules or GENEROUS_LIMITS,
        **app_kwargs,
    )
    with TestClient(app) as client:
        store = app.state.store
        store.upsert_programs(PROGRAMS)
        accounts = Accounts(store)
        tokens: dict[str, str] = {}
        ids: dict[str, int] = {}
        secrets_: dict[str, str] = {}
        for name, role in ACCOUNTS.items():
            password = f"{name}-password-1" if passwords else None
            user, token = accounts.add_user(name, role, password)
            tokens[name], ids[name] = token, user.id
            if password:
                secrets_[name] = password
        yield Env(client, app, settings, fake, tokens, ids, secrets_)


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[Env]:
    """The app on SQLite and on PostgreSQL, accounts with tokens only."""
    yield from make_env(db_url, tmp_path / "home")


@pytest.fixture
def sqlite_env(tmp_path: Path) -> Iterator[Env]:
    """The app on a SQLite file only (tests that do not depend on the database)."""
    yield from make_env(f"sqlite:///{tmp_path / 'peyvand.db'}", tmp_path / "home")


@pytest.fixture
def web_env(db_url: str, tmp_path: Path) -> Iterator[Env]:
    """The app with password accounts (web sign-in)."""
    yield from make_env(db_url, tmp_path / "home", passwords=True)


def application_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "startup_name": "کیف‌پول نو",
        "business_plan": PLAN,
        "sectors": ["fintech"],
        "stage": "mvp",
        "province": "تهران",
        "city": "تهران",
        "team_size": 4,
        "funding_ask": 2_000_000_000,
        "needs_residency": True,
    }
    body.update(overrides)
    return body


def run_real_app(
    tmp_path: Path, *, user_prefix: str, load_delay: float = 0.0
) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], Any]]:
    """The service on the real recommender glue (`api.services`) with the pipeline tests'
    bag-of-words embedder, over PROGRAMS indexed in a fresh SQLite home; yields the client,
    bearer headers for a staff user and an applicant, and the app. Each (re)load of the
    recommender first sleeps `load_delay` seconds. For fixtures: `yield from run_real_app(...)`.
    """
    from api import services
    from recommender.store.database import Store
    from tests.recommender._pipeline_fakes import FakeEmbedder

    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'p.db'}")
    with Store(settings.db_url) as store:
        store.upgrade()
        store.upsert_programs(PROGRAMS)
        services.build_index(settings, store=store, embedder=FakeEmbedder())

    def loader(previous: Recommender | None) -> Recommender:
        time.sleep(load_delay)
        return services.load_recommender(settings, embedder=FakeEmbedder())

    app = create_app(settings, recommender_loader=loader, job_poll_interval=0.05)
    with TestClient(app) as client:
        assert app.state.recommender.wait(120), app.state.recommender.reason
        accounts = Accounts(app.state.store)
        tokens = {
            role: accounts.add_user(f"{user_prefix}-{role}", role)[1]
            for role in ("staff", "applicant")
        }
        yield client, {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}, app
