"""The `peyvand` command line (see DESIGN.md, "CLI contract").

Each command group lives in its own module and registers itself on `app`; this module only
wires them together and turns domain errors into one-line messages and non-zero exits.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import click
import typer

from recommender.errors import ImportValidationError, PeyvandError

from .context import CliState

app = typer.Typer(
    name="peyvand",
    help="Peyvand: match Persian business plans with accelerators, funds and support programs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option("--home", envvar="PEYVAND_HOME", help="State folder (default ./.peyvand)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More log output.")] = False,
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
        index_cmds,
        model_cmds,
        recommend_cmds,
        round_cmds,
        serve_cmds,
        train_cmds,
        users_cmds,
    )

    for module in (
        data_cmds,
        model_cmds,
        index_cmds,
        train_cmds,
        recommend_cmds,
        round_cmds,
        users_cmds,
        demo_cmds,
        serve_cmds,
    ):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code (0 ok, 1 bad input/state, 2 usage)."""
    try:
        app(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        print("Aborted.", file=sys.stderr)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except ImportValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except PeyvandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
