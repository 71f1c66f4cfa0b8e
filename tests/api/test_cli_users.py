"""`peyvand users ...` and the demo accounts `peyvand serve` announces."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.accounts import Accounts, create_demo_accounts, read_demo_accounts
from api.cli import users_cmds
from api.cli.context import CliState
from recommender.store.database import Store


@pytest.fixture
def cli(tmp_path: Path) -> tuple[typer.Typer, Path]:
    """A root app with only the users commands, on a fresh home."""
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = CliState.create(tmp_path / "home")

    users_cmds.register(app)
    return app, tmp_path / "home"


def test_users_add_prints_a_working_token_once(cli):
    app, home = cli
    runner = CliRunner()
    result = runner.invoke(app, ["users", "add", "--role", "staff", "maryam"])
    assert result.exit_code == 0, result.output
    assert "(شناسه ۱،" in result.output  # Persian digits in the sentence
    token = result.output.strip().splitlines()[-1]
    assert len(token) >= 40
    with Store(f"sqlite:///{home / 'peyvand.db'}") as store:
        user = Accounts(store).user_for_token(token)
        assert user is not None and user.name == "maryam" and user.role == "staff"
    listed = runner.invoke(app, ["users", "list"])
    assert "staff\tmaryam" in listed.output
    assert token not in listed.output


def test_users_add_with_a_password_asks_twice_and_enables_web_sign_in(cli):
    app, home = cli
    result = CliRunner().invoke(
        app,
        ["users", "add", "--role", "applicant", "neda", "--password"],
        input="a-long-password\na-long-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "a-long-password" not in result.output
    with Store(f"sqlite:///{home / 'peyvand.db'}") as store:
        assert Accounts(store).authenticate("neda", "a-long-password") is not None


def test_bad_role_and_disable(cli):
    app, home = cli
    runner = CliRunner()
    bad = runner.invoke(app, ["users", "add", "--role", "boss", "ali"])
    assert bad.exit_code == 2 and "نقش «boss» شناخته نیست" in bad.output
    token = runner.invoke(app, ["users", "add", "--role", "admin", "ali"]).output.split()[-1]
    assert runner.invoke(app, ["users", "disable", "ali"]).exit_code == 0
    with Store(f"sqlite:///{home / 'peyvand.db'}") as store:
        assert Accounts(store).user_for_token(token) is None


def test_demo_accounts_are_created_once_and_kept_private(tmp_path: Path):
    with Store(f"sqlite:///{tmp_path / 'p.db'}") as store:
        store.upgrade()
        first = create_demo_accounts(store, tmp_path)
        again = create_demo_accounts(store, tmp_path)
        assert [a.name for a in first] == [
            "demo-admin", "demo-network", "demo-staff", "demo-staff-2", "demo-applicant"]
        assert first == again  # the same passwords
        accounts = Accounts(store)
        for account in first:
            user = accounts.authenticate(account.name, account.password)
            assert user is not None and user.role == account.role
    path = tmp_path / "demo_accounts.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_demo_accounts(tmp_path) == first
    assert json.loads(path.read_text())[0]["name"] == "demo-admin"
