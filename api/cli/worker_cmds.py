"""`peyvand worker`: queue worker processes (`api.queue_worker`) for the jobs of a service
whose `PEYVAND_QUEUE_URL` is set. Start as many on as many machines as the work needs; each
takes one task at a time."""

from __future__ import annotations

import signal
from typing import Annotated, Any

import typer

from .context import state
from .say import n, say


def _fail(message: str, code: int = 1) -> None:
    say(f"خطا: {message}", err=True)
    raise typer.Exit(code)


def _check(settings: Any) -> None:
    """Redis and the database answer (its schema current), or one Persian line and exit 1."""
    from api.queue import QueueUnavailableError, make_broker, queue_place
    from recommender.store.database import Store

    try:
        make_broker(settings).close()
    except QueueUnavailableError:
        _fail(
            f"صف کارها (Redis در {queue_place(settings.queue_url)}) در دسترس نیست؛ Redis را "
            "راه‌اندازی کنید یا PEYVAND_QUEUE_URL را درست کنید."
        )
    with Store(settings.db_url) as store:  # the store's own errors: the CLI's one error path
        store.require_current_schema()


def _child(settings: Any) -> None:
    from api.queue_worker import serve

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops its children
    serve(settings)


def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="شمار فرایندهای کارگر (هر کدام یک کار در هر لحظه).")
    ] = 1,
) -> None:
    """اجرای کارگرهای صف برای کارهای پس‌زمینه (امتیازدهی دوره، آموزش) تا Ctrl+C."""
    import logging
    import multiprocessing

    settings = state(ctx).settings
    if not settings.queue_url:
        _fail(
            "PEYVAND_QUEUE_URL تنظیم نشده است (نمونه: redis://127.0.0.1:6379/0)؛ بدون آن "
            "کارها درون خود سرور اجرا می‌شوند و کارگر جدا لازم نیست.",
            2,
        )
    _check(settings)
    logging.getLogger("api").setLevel(logging.INFO)
    from api.queue import queue_place

    say(
        f"کارگر صف پیوند با {n(concurrency)} فرایند آغاز شد "
        f"(صف: {queue_place(settings.queue_url or '')})؛ برای توقف Ctrl+C."
    )
    spawn = multiprocessing.get_context("spawn")
    children = [spawn.Process(target=_child, args=(settings,), daemon=False)
                for _ in range(concurrency)]
    for child in children:
        child.start()

    def stop(*_: object) -> None:
        for child in children:
            if child.is_alive() and child.pid is not None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.join()
    codes = [child.exitcode for child in children]
    say(f"کارگر صف متوقف شد ({n(len(children))} فرایند).")
    if any(code not in (0, -signal.SIGTERM) for code in codes):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `peyvand worker` to the root app."""
    app.command("worker")(worker)
