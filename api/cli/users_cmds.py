"""`peyvand users ...`: accounts, their houses and their API tokens (tokens are printed once;
only their hash is stored).

`users add --role admin|network|staff|applicant [--org ORG] NAME`: staff belong to one house
(`--org`; in a single-house install the only house when none is named); the other roles have
none. A bad role is a usage error (exit 2); a missing, unknown or inactive house, a taken name
or a short password is bad input: one Persian line, exit 1, nothing created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from recommender.constants import ROLE_LABELS_FA as ROLE_FA

from .context import state
from .say import n, say

if TYPE_CHECKING:
    from api.accounts import Accounts, User

AccountName = Annotated[str, typer.Argument(help="نام ورود حساب.")]

users_app = typer.Typer(
    help="حساب‌ها (مدیر، شبکه، کارشناس خانه، متقاضی) و توکن‌های API آنها."
)


def _role(value: str) -> str:
    from recommender.store.tables import ROLES

    if value not in ROLES:
        raise typer.BadParameter(f"نقش «{value}» شناخته نیست؛ یکی از اینها: {'، '.join(ROLES)}")
    return value


def _accounts(ctx: typer.Context) -> Accounts:
    from api.accounts import Accounts
    from recommender.store.database import Store

    settings = state(ctx).settings
    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db_url)
    store.upgrade()
    return Accounts(store)


def _ask_password() -> str:
    return typer.prompt(
        "گذرواژه (دست‌کم ۸ نویسه)",
        hide_input=True,
        confirmation_prompt="گذرواژه را دوباره بنویسید",
    )


@users_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="نام ورود: حروف لاتین، رقم و _ . @ -")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            callback=_role,
            help="نقش: admin، network، staff (کارشناس یک خانه) یا applicant.",
        ),
    ],
    org: Annotated[
        str | None,
        typer.Option("--org", help="خانهٔ حساب کارشناس (فهرست: peyvand orgs list)."),
    ] = None,
    password: Annotated[
        bool, typer.Option("--password", help="گذرواژهٔ ورود به وب هم پرسیده و تنظیم شود.")
    ] = False,
) -> None:
    """ساختن حساب و چاپ توکن API آن (فقط یک بار نشان داده می‌شود)."""
    accounts = _accounts(ctx)
    accounts.house_for(role, org)  # checked before a password is asked for
    secret = _ask_password() if password else None
    user, token = accounts.add_user(name, role, secret, org_id=org)
    house = f"، خانهٔ {user.org_id}" if user.org_id else ""
    say(f"حساب «{user.name}» با نقش {ROLE_FA.get(user.role, user.role)} ساخته شد "
        f"(شناسه {n(user.id)}{house})")
    say("توکن API (فقط همین یک بار نشان داده می‌شود؛ آن را در سرآیند "
        "'Authorization: Bearer <token>' بفرستید):")
    say(token)


@users_app.command("list")
def list_users(ctx: typer.Context) -> None:
    """همهٔ حساب‌ها با نقش، خانه (- یعنی بی‌خانه) و وضعیت."""
    for user in _accounts(ctx).list_users():
        flags = [] if user.active else ["غیرفعال"]
        if user.has_password:
            flags.append("گذرواژهٔ وب دارد")
        extra = f" ({'، '.join(flags)})" if flags else ""
        say(f"{user.id}\t{user.role}\t{user.name}\t{user.org_id or '-'}{extra}")


def _find(ctx: typer.Context, name: str) -> tuple[Accounts, User]:
    from recommender.errors import NotFoundError

    accounts = _accounts(ctx)
    user = accounts.find_user(name)
    if user is None:
        raise NotFoundError(f"حسابی به نام «{name}» نیست")
    return accounts, user


@users_app.command("token")
def token(ctx: typer.Context, name: AccountName) -> None:
    """چاپ توکن API تازه برای حساب (توکن‌های قبلی‌اش کار می‌کنند)."""
    accounts, user = _find(ctx, name)
    typer.echo(accounts.issue_token(user.id, label="cli"))


@users_app.command("password")
def set_password(ctx: typer.Context, name: AccountName) -> None:
    """تنظیم یا تغییر گذرواژهٔ ورود به وب برای حساب."""
    accounts, user = _find(ctx, name)
    accounts.set_password(user.id, _ask_password())
    say(f"گذرواژهٔ «{name}» تنظیم شد")


@users_app.command("disable")
def disable(ctx: typer.Context, name: AccountName) -> None:
    """غیرفعال‌کردن حساب: توکن‌هایش باطل و نشست‌های وبش بسته می‌شود."""
    accounts, user = _find(ctx, name)
    accounts.set_active(user.id, False)
    say(f"حساب «{name}» غیرفعال شد")


def register(app: typer.Typer) -> None:
    """Add `peyvand users` to the root app."""
    app.add_typer(users_app, name="users")
