"""`peyvand serve`: the API and the Persian web UI with uvicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from recommender.constants import ROLE_LABELS_FA as ROLE_FA

from .context import state
from .say import say

if TYPE_CHECKING:
    from api.accounts import DemoAccount


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the API (/v1, OpenAPI at /openapi.json) and the web UI until Ctrl+C."""
    import logging

    import uvicorn

    from api.accounts import read_demo_accounts
    from api.main import create_app
    from api.queue import QueueUnavailableError, queue_place

    settings = state(ctx).settings
    try:
        app = create_app(settings)
    except QueueUnavailableError:
        say(
            f"خطا: صف کارها (Redis در {queue_place(settings.queue_url or '')}) در دسترس "
            "نیست؛ Redis را راه‌اندازی کنید یا PEYVAND_QUEUE_URL را درست کنید.",
            err=True,
        )
        raise typer.Exit(1) from None
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    say(f"پیوند در {base}  (وب: {base}/login، راهنمای API: {base}/docs)")
    demo = read_demo_accounts(settings.resolved_home)
    if demo:
        say("حساب‌های نمونه (در صفحهٔ ورود با نام و گذرواژه وارد شوید):")
        for line in demo_account_lines(demo):
            say(line)
    else:
        say("هنوز حسابی نیست؟ یکی بسازید: peyvand users add --role staff NAME --password")
    # Our middleware logs each request by route template (api.access, INFO); uvicorn's own
    # access log would print raw paths and query strings, so it is off.
    logging.getLogger("api").setLevel(logging.INFO)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")


def demo_account_lines(demo: list[DemoAccount]) -> list[str]:
    """One line per demo account: role, name, password and, for staff, the house."""
    lines = []
    for account in demo:
        house = f"  {account.org_name} ({account.org_id})" if account.org_id else ""
        role = ROLE_FA.get(account.role, account.role)
        lines.append(f"  {role:<14} {account.name:<16} {account.password}{house}")
    return lines


def register(app: typer.Typer) -> None:
    """Add `peyvand serve` to the root app."""
    app.command("serve")(serve)
