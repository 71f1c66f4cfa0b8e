"""The store on a real SQLite file and a real PostgreSQL database (same tests, `db_url`)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from recommender import schemas
from recommender.errors import (
    ConfigurationError,
    ImportValidationError,
    InvalidInputError,
    NotFoundError,
)
from recommender.store.database import Store
from recommender.store.engine import normalize_url
from recommender.store.tables import Base

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "store"


def load(kind: str) -> list:
    model = {
        "programs": schemas.Program,
        "applications": schemas.Application,
        "rounds": schemas.IntakeRound,
        "outcomes": schemas.Outcome,
    }[kind]
    return [model.model_validate(o) for o in json.loads((FIXTURES / f"{kind}.json").read_text())]


@pytest.fixture
def filled(store: Store) -> Store:
    for kind in ("programs", "applications", "rounds", "outcomes"):
        getattr(store, f"upsert_{kind}")(load(kind))
    return store


def test_upgrade_is_idempotent_and_matches_models(store: Store) -> None:
    store.upgrade()  # a second time: nothing to do
    assert store.schema_revision() == store.head_revision() is not None

    with store.engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    # Every table of every package is declared in recommender/store/tables.py.
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert diffs == []  # the migrations create exactly what the models declare


def test_fresh_database_has_no_revision(db_url: str) -> None:
    with Store(db_url) as store:
        assert store.schema_revision() is None
        store.upgrade("0001")
        assert store.schema_revision() == "0001"
        assert store.count("programs") == 0
        store.upgrade()
        assert store.schema_revision() == store.head_revision()


def in_the_one_house(items: list) -> list:
    """What a single-house install stores: every record in the implicit house `main`."""
    return [item.model_copy(update={"org_id": "main"}) for item in items]


def test_programs_round_trip_and_counts(store: Store) -> None:
    programs = load("programs")
    assert store.upsert_programs(programs) == (4, 0)
    programs = in_the_one_house(programs)
    assert [o.id for o in store.list_organizations()] == ["main"]
    assert store.list_programs() == sorted(programs, key=lambda p: p.id)
    assert store.get_program("ch_isfahan") == programs[1]
    assert [p.id for p in store.list_programs(active_only=True)] == [
        "acc_tehran", "ch_isfahan", "fund_green"
    ]
    # Same content again: neither created nor updated.
    assert store.upsert_programs(programs) == (0, 0)
    changed = programs[0].model_copy(update={"residency_seats": 3, "sectors": ["ai"]})
    new = programs[1].model_copy(update={"id": "ch_shiraz", "province": "فارس"})
    assert store.upsert_programs([changed, new]) == (1, 1)
    assert store.get_program("acc_tehran").residency_seats == 3
    assert store.get_program("acc_tehran").sectors == ["ai"]
    assert store.count("programs") == 5


def test_unknown_ids_raise_not_found(store: Store) -> None:
    for call in (store.get_program, store.get_application, store.get_round):
        with pytest.raises(NotFoundError, match="nope"):
            call("nope")
    with pytest.raises(LookupError):  # callers' plain handlers still work
        store.get_program("nope")


def test_applications_keep_long_persian_plans(store: Store) -> None:
    apps = load("applications")
    long_plan = ("طرح کسب‌وکار ما درباره‌ی کشاورزی هوشمند است. " * 2000)[:50_000]
    apps[2] = apps[2].model_copy(update={"business_plan": long_plan})
    assert store.upsert_applications(apps) == (3, 0)
    assert store.get_application("app_3").business_plan == long_plan
    assert [a.id for a in store.list_applications(round_id="r1404a")] == ["app_1", "app_2"]
    assert store.list_applications() == in_the_one_house(apps)


def test_rounds_keep_program_order_and_overrides(store: Store) -> None:
    store.upsert_programs(load("programs"))
    rounds = load("rounds")
    assert store.upsert_rounds(rounds) == (2, 0)
    spring = store.get_round("r1404a")
    assert spring == in_the_one_house(rounds)[0]
    assert spring.program_ids == ["acc_tehran", "ch_isfahan", "fund_green"]
    assert spring.programs[0].seats == 5 and spring.programs[2].budget == 50_000_000_000
    assert [r.id for r in store.list_rounds()] == ["r1403b", "r1404a"]  # by opening date
    # Replace: drop a program, reorder, change an override.
    edited = schemas.IntakeRound(
        id="r1404a", name=spring.name, opens_on=spring.opens_on, closes_on=spring.closes_on,
        programs=[
            schemas.RoundProgram(program_id="fund_green", seats=1),
            schemas.RoundProgram(program_id="acc_tehran", seats=9, budget=1),
        ],
    )
    assert store.upsert_rounds([edited]) == (0, 1)
    assert store.get_round("r1404a") == in_the_one_house([edited])[0]
    assert store.upsert_rounds([edited]) == (0, 0)


def test_round_with_unknown_program_writes_nothing(store: Store) -> None:
    store.upsert_programs(load("programs"))
    bad = load("rounds")
    bad[1] = bad[1].model_copy(update={"programs": [schemas.RoundProgram(program_id="ghost")]})
    with pytest.raises(ImportValidationError) as info:
        store.upsert_rounds(bad)
    assert [(e.row, e.field) for e in info.value.errors] == [(2, "programs")]
    assert "ghost" in str(info.value)
    assert store.count("rounds") == 0


def test_outcomes_unique_per_application_and_program(filled: Store) -> None:
    assert filled.count("outcomes") == 4
    assert len(filled.list_outcomes(round_id="r1404a")) == 3
    first = filled.list_outcomes()[0]
    assert (first.application_id, first.program_id) == ("app_1", "acc_tehran")
    again = first.model_copy(update={"funded_amount": 7, "decided_on": dt.date(2025, 7, 1)})
    assert filled.upsert_outcomes([again]) == (0, 1)
    assert filled.count("outcomes") == 4
    assert filled.list_outcomes()[0] == again
    with pytest.raises(InvalidInputError, match="more than once"):
        filled.upsert_outcomes([again, again])


def test_outcomes_with_unknown_ids_write_nothing(filled: Store) -> None:
    good = schemas.Outcome(application_id="app_3", program_id="acc_tehran")
    bad = schemas.Outcome(application_id="ghost_app", program_id="ghost_prog")
    with pytest.raises(ImportValidationError) as info:
        filled.upsert_outcomes([good, bad])
    assert {(e.row, e.field) for e in info.value.errors} == {
        (2, "application_id"), (2, "program_id")
    }
    assert filled.count("outcomes") == 4


def test_session_is_one_transaction(store: Store) -> None:
    with pytest.raises(RuntimeError), store.session() as session:
        store.upsert_programs(load("programs"), session=session)
        store.audit("tester", "import", "programs", "x.json", session=session)
        assert store.count("programs", session=session) == 4
        raise RuntimeError("abort")
    assert store.count("programs") == 0
    assert store.count("audit") == 0


def test_foreign_keys_are_enforced(store: Store) -> None:
    from recommender.store.tables import OutcomeRow

    with pytest.raises(sa.exc.IntegrityError), store.session() as session:
        session.add(
            OutcomeRow(application_id="x", program_id="y", residency_granted=False,
                       funded_amount=0)
        )
        session.flush()


def test_audit_log(store: Store) -> None:
    store.audit("staff:maryam", "import", "programs", "programs.csv", {"created": 4})
    store.audit("cli:ali", "export", "applications", "apps.xlsx")
    entries = store.list_audit()
    assert [e.actor for e in entries] == ["cli:ali", "staff:maryam"]  # newest first
    assert entries[1].detail == {"created": 4}
    assert entries[1].target_kind == "programs" and entries[1].target_id == "programs.csv"
    assert [e.action for e in store.list_audit(target_kind="programs")] == ["import"]
    assert store.count("audit") == 2


def test_existing_ids_and_count(filled: Store) -> None:
    assert filled.existing_ids("programs", ["acc_tehran", "nope"]) == {"acc_tehran"}
    assert filled.existing_ids("rounds") == {"r1404a", "r1403b"}
    assert [filled.count(k) for k in ("programs", "applications", "rounds", "outcomes")] == [
        4, 3, 2, 4
    ]
    with pytest.raises(InvalidInputError):
        filled.count("users")


def test_sqlite_pragmas(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'sub' / 'p.db'}") as store:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert (tmp_path / "sub").is_dir()


def test_in_memory_sqlite_is_one_database() -> None:
    with Store("sqlite://") as store:
        store.upgrade()
        store.upsert_programs(load("programs")[:1])
        assert store.count("programs") == 1


def test_url_normalization_and_bad_urls() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(ConfigurationError):
        Store("not a url")
    with pytest.raises(ConfigurationError):
        Store("nosuchdb://x/y")


def test_unreachable_server_is_a_configuration_error() -> None:
    with Store("postgresql://postgres:secret@127.0.0.1:1/none") as store:
        with pytest.raises(ConfigurationError) as info:
            store.upgrade()
    assert "secret" not in str(info.value)
    assert "127.0.0.1" in str(info.value)
