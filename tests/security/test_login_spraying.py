"""Login spraying from one address: a per-address limit beside the per-name one, no SQLite
write lock held while argon2 hashes, unknown names hashed like known ones, no 5xx."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

from api import accounts as accounts_module
from api.accounts import Accounts
from api.ratelimit import DEFAULT_RULES
from recommender.store.database import Store
from tests.api.conftest import make_env


def test_password_hashing_holds_no_database_lock(tmp_path: Path, monkeypatch):
    db = tmp_path / "peyvand.db"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    accounts = Accounts(store)
    accounts.add_user("known-user", "staff", "known-password-1")
    locked: list[str] = []
    calls: list[str | None] = []
    real_verify = accounts_module.verify_password

    def verify_while_writing(stored: str | None, password: str) -> bool:
        calls.append(stored)
        # Another writer must get the lock at once while the password is being hashed.
        other = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            locked.append(str(exc))
        finally:
            other.close()
        return real_verify(stored, password)

    monkeypatch.setattr(accounts_module, "verify_password", verify_while_writing)
    try:
        assert accounts.authenticate("known-user", "known-password-1") is not None
        assert accounts.authenticate("known-user", "wrong-password") is None
        assert accounts.authenticate("no-such-user", "whatever-password") is None
    finally:
        store.close()
    assert locked == []
    # An unknown name is hashed too (against the dummy hash), so it costs the same.
    assert len(calls) == 3 and calls[2] is None


def _csrf(client) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert match
    return match.group(1)


def test_spraying_many_names_from_one_address_gets_429_never_5xx(tmp_path: Path):
    envs = make_env(
        f"sqlite:///{tmp_path / 'peyvand.db'}", tmp_path / "home", passwords=True,
        rate_rules=dict(DEFAULT_RULES),
    )
    env = next(envs)
    try:
        csrf = _csrf(env.client)
        codes: list[int] = []
        lock = threading.Lock()

        def spray(worker: int) -> None:
            for attempt in range(6):
                response = env.client.post(
                    "/login",
                    data={
                        "name": f"sprayed-{worker}-{attempt}",
                        "password": "guess-password",
                        "csrf_token": csrf,
                    },
                    follow_redirects=False,
                )
                with lock:
                    codes.append(response.status_code)

        threads = [threading.Thread(target=spray, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(codes) == 48
        assert not [c for c in codes if c >= 500], codes
        assert codes.count(429) == 48 - DEFAULT_RULES["login_address"].limit
        assert set(codes) == {401, 429}
        refused = env.client.post(
            "/login",
            data={"name": "staff", "password": "staff-password-1", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    finally:
        envs.close()
