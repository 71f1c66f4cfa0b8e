"""The `peyvand` command line (see DESIGN.md, "CLI contract").

Each command group lives in its own module and registers itself on `app`; this module only
wires them together and turns domain errors into one-line messages and non-zero exits.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from recommender.errors import PeyvandError

from .context import CliState
from .say import error_line, usage_line


def _persian_help_headings() -> None:
    """typer's own words in `--help` (panel titles, the default/env var/required labels) in
    Persian. typer reads these module constants of `typer.rich_utils` when it draws the help,
    and offers no other setting for them; "Usage:" and the `--help` line come from its
    vendored click, hard-coded, and stay English. Importing rich_utils here (it loads rich)
    costs about 0.1 s per command."""
    from typer import rich_utils

    rich_utils.ARGUMENTS_PANEL_TITLE = "ورودی‌ها"
    rich_utils.OPTIONS_PANEL_TITLE = "گزینه‌ها"
    rich_utils.COMMANDS_PANEL_TITLE = "فرمان‌ها"
    rich_utils.DEFAULT_STRING = "[پیش‌فرض: {}]"
    rich_utils.ENVVAR_STRING = "[متغیر محیطی: {}]"
    rich_utils.REQUIRED_LONG_STRING = "[لازم]"
    rich_utils.DEPRECATED_STRING = "(منسوخ) "


_persian_help_headings()

app = typer.Typer(
    name="peyvand",
    help="پیوند: پیشنهاد شتاب‌دهنده، صندوق و برنامهٔ حمایتی برای طرح‌های کسب‌وکار فارسی.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option("--home", envvar="PEYVAND_HOME", help="پوشهٔ پیوند (پیش‌فرض ./.peyvand)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="گزارش کار مفصل‌تر.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = CliState.create(home)


def _register() -> None:
    # Imported here so each module can `from . import app` without a cycle.
    from . import (
        data_cmds,
        demo_cmds,
        events_cmds,
        index_cmds,
        model_cmds,
        recommend_cmds,
        round_cmds,
        serve_cmds,
        train_cmds,
        users_cmds,
        worker_cmds,
    )

    for module in (
        data_cmds,
        model_cmds,
        index_cmds,
        train_cmds,
        recommend_cmds,
        round_cmds,
        users_cmds,
        events_cmds,
        demo_cmds,
        serve_cmds,
        worker_cmds,
    ):
        module.register(app)


_register()


def _kinds(exc: BaseException) -> set[str]:
    """Class names in the exception's MRO: typer ships its own copy of click, so the usage
    errors it raises are not `click.ClickException`; they are recognised by behaviour."""
    return {cls.__name__ for cls in type(exc).__mro__}


def _message(exc: BaseException) -> str:
    format_message = getattr(exc, "format_message", None)
    return " ".join(str(format_message() if callable(format_message) else exc).split())


def usage_message(exc: BaseException) -> str:
    """One Persian line for a click-style usage error: what is wrong and the command's usage."""
    ctx = getattr(exc, "ctx", None)
    usage = ""
    if ctx is not None:
        try:
            usage = " ".join(ctx.get_usage().split())
        except Exception:  # a partly-built context: the message alone is still clear
            usage = ""
    if usage.lower().startswith("usage:"):
        usage = usage[len("usage:") :].strip()
    return usage_line(_message(exc), usage)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code (0 ok, 1 bad input/state, 2 usage)."""
    try:
        code = app(args=argv, prog_name="peyvand", standalone_mode=False)
        if isinstance(code, int) and not isinstance(code, bool) and code:
            return code  # a command that said why and raised typer.Exit(code)
    except PeyvandError as exc:
        print(error_line(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("کار متوقف شد.", file=sys.stderr)
        return 130
    except Exception as exc:
        kinds = _kinds(exc)
        if "Exit" in kinds:
            return int(getattr(exc, "exit_code", 0) or 0)
        if "Abort" in kinds:
            print("کار لغو شد.", file=sys.stderr)
            return 130
        if "NoArgsIsHelpError" in kinds:
            return 2  # the help was printed already; nothing else to say
        if "UsageError" in kinds or "BadParameter" in kinds:
            print(usage_message(exc), file=sys.stderr)
            return 2
        if "ClickException" in kinds:
            print(usage_line(_message(exc), ""), file=sys.stderr)
            return int(getattr(exc, "exit_code", 1) or 1)
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
