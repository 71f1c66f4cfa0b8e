"""`peyvand users ...`: accounts and their API tokens (tokens are printed once; only their
hash is stored)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from .context import state

if TYPE_CHECKING:
    from api.accounts import Accounts, User

users_app = typer.Typer(help="Accounts (admin, staff, applicant) and their API tokens.")


def _accounts(ctx: typer.Context) -> Accounts:
    from api.accounts import Accounts
    from recommender.store.database import Store

    settings = state(ctx).settings
    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db_url)
    store.upgrade()
    return Accounts(store)


def _ask_password() -> str:
    return typer.prompt("Password (8+ characters)", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Sign-in name: latin letters, digits, _ . @ -")],
    role: Annotated[str, typer.Option("--role", help="admin, staff or applicant")],
    password: Annotated[
        bool, typer.Option("--password", help="Also set a password for the web sign-in (asked).")
    ] = False,
) -> None:
    """Create an account and print its API token (shown once)."""
    secret = _ask_password() if password else None
    user, token = _accounts(ctx).add_user(name, role, secret)
    typer.echo(f"created {user.role} '{user.name}' (id {user.id})")
    typer.echo("API token (shown once; send it as 'Authorization: Bearer <token>'):")
    typer.echo(token)


@users_app.command("list")
def list_users(ctx: typer.Context) -> None:
    """Every account with its role and state."""
    for user in _accounts(ctx).list_users():
        flags = [] if user.active else ["disabled"]
        if user.has_password:
            flags.append("web password")
        extra = f" ({', '.join(flags)})" if flags else ""
        typer.echo(f"{user.id}\t{user.role}\t{user.name}{extra}")


def _find(ctx: typer.Context, name: str) -> tuple[Accounts, User]:
    from recommender.errors import NotFoundError

    accounts = _accounts(ctx)
    user = accounts.find_user(name)
    if user is None:
        raise NotFoundError(f"no user named '{name}'")
    return accounts, user


@users_app.command("token")
def token(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Print a new API token for an account (its older tokens keep working)."""
    accounts, user = _find(ctx, name)
    typer.echo(accounts.issue_token(user.id, label="cli"))


@users_app.command("password")
def set_password(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Set (or change) the web sign-in password of an account."""
    accounts, user = _find(ctx, name)
    accounts.set_password(user.id, _ask_password())
    typer.echo(f"password of '{name}' set")


@users_app.command("disable")
def disable(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Disable an account: its tokens are revoked and its web sessions end."""
    accounts, user = _find(ctx, name)
    accounts.set_active(user.id, False)
    typer.echo(f"'{name}' disabled")


def register(app: typer.Typer) -> None:
    """Add `peyvand users` to the root app."""
    app.add_typer(users_app, name="users")
