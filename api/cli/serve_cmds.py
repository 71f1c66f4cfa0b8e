"""`peyvand serve`: the API and the Persian web UI with uvicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from recommender.constants import ROLE_LABELS_FA as ROLE_FA

from .context import state
from .say import n, say

# Seconds an API process may take to answer its supervisor's health check (see `serve`).
HEALTHCHECK_TIMEOUT_S = 60

if TYPE_CHECKING:
    from api.accounts import DemoAccount


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="نشانی‌ای که سرور به آن گوش می‌دهد.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="درگاهی که سرور به آن گوش می‌دهد.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="شمار فرایندهای API (هر کدام مدل را جدا بار می‌کند).")
    ] = 1,
) -> None:
    """اجرای API (/v1، OpenAPI در /openapi.json) و رابط وب تا Ctrl+C."""
    import logging
    import os

    import uvicorn

    from api.accounts import read_demo_accounts
    from api.main import create_app

    settings = state(ctx).settings
    # Built here even with several processes: a bad setting (an unreachable Redis) stops
    # the command with one line before any process starts, and the session key is made once.
    app = create_app(settings)
    app.state.store.upgrade()  # an unreachable database: one line here, not a traceback later
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
    if workers == 1:
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="info")
        return
    if settings.ratelimit_url.startswith("memory://"):
        say(
            "هشدار: با چند فرایند، محدودیت درخواست‌ها در هر فرایند جداست؛ برای یک شمارندهٔ "
            "مشترک PEYVAND_RATELIMIT_URL=redis://… بدهید",
            err=True,
        )
    say(f"{n(workers)} فرایند API؛ هر کدام مدل را جدا بار می‌کند", err=True)
    # The processes read their settings from the environment (api.main.create_app()).
    os.environ["PEYVAND_HOME"] = str(settings.resolved_home)
    del app
    # uvicorn's supervisor pings each process and restarts one that has not answered within
    # `timeout_worker_healthcheck` (default 5 s). A process loading the embedding model and
    # the index on a busy 2-core machine can hold the GIL longer than that: measured, with the
    # default one of two processes was killed and restarted mid-load ("Child process died").
    uvicorn.run(
        "api.main:create_app", factory=True, workers=workers, host=host, port=port,
        access_log=False, log_level="info", timeout_worker_healthcheck=HEALTHCHECK_TIMEOUT_S,
    )


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
