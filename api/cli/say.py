"""What the command line says to a person: Persian sentences with Persian digits.

The brief's rule (Persian first) holds for the terminal too. Errors reuse the web's wording
(`api.messages.persian`: a bilingual domain message's Persian half, or the rule table),
so the CLI, the API's pages and the web say the same thing. A library message with no Persian
wording yet keeps its technical detail after a Persian sentence instead of being dropped.

Usage errors come from typer's own copy of click (English, with the usage line); they are
recognised by their wording here and said in Persian, the names of options, commands and
arguments kept as typed.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from recommender.errors import EventImportError, ImportValidationError, status_of
from recommender.text.persian import format_number

from ..messages import STATUS_FA, isolate, persian

__all__ = ["error_line", "n", "row_error", "say", "seconds", "usage_line", "wording"]


def n(value: float | int, digits: int = 0) -> str:
    """A number with Persian digits and separators (`digits` decimals)."""
    return format_number(value, digits) if digits else format_number(value)


def seconds(value: float) -> str:
    """A duration, e.g. «۱۲٫۳ ثانیه»."""
    return f"{format_number(value, 1)} ثانیه"


def say(message: str, *, err: bool = False) -> None:
    """Print one line to stdout (or stderr), flushed (progress lines come as they happen)."""
    print(message, file=sys.stderr if err else sys.stdout, flush=True)


def wording(message: str, status: int = 422) -> str:
    """`message` in Persian; one with no Persian wording yet keeps its technical detail after
    the Persian sentence for its status (never dropped)."""
    message = str(message).strip()
    said = persian(message, status)
    generic = STATUS_FA.get(status, STATUS_FA[422])
    if said == generic and message:
        return f"{said} ({isolate(message)})"
    return said


def row_error(error: Any) -> str:
    """One bad row of an import: row number, column and reason, in Persian."""
    return f"ردیف {n(error.row)}، ستون «{isolate(error.field)}»: {wording(error.reason)}"


def error_line(exc: BaseException) -> str:
    """One Persian line for a domain error (`خطا: ...`); an import's bad rows follow it, one
    line each (row number, column, reason)."""
    if isinstance(exc, EventImportError):  # its lines are worded where raised
        head, *rows = str(exc).splitlines()
        return "\n".join([f"خطا: {head}"] + [f"  {line}" for line in rows])
    if isinstance(exc, ImportValidationError) and exc.errors:
        head = f"خطا: {wording(str(exc).splitlines()[0])}"
        return "\n".join([head] + [f"  {row_error(e)}" for e in exc.errors[:200]])
    return f"خطا: {wording(str(exc), status_of(exc))}"


# click's usage messages (typer's vendored copy), said in Persian; names kept as typed.
_USAGE_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"No such command '?([^'.]+)'?\.?"), "فرمانی به نام «{0}» نیست."),
    (re.compile(r"No such option: (\S+)"), "گزینهٔ «{0}» وجود ندارد."),
    (re.compile(r"Missing argument '([^']+)'"), "ورودی «{0}» را بدهید."),
    (re.compile(r"Missing option '([^']+)'"), "گزینهٔ «{0}» لازم است."),
    (re.compile(r"Missing command"), "فرمانی نام نبردید."),
    (re.compile(r"Option '([^']+)' requires an argument"), "گزینهٔ «{0}» مقدار می‌خواهد."),
    (re.compile(r"Got unexpected extra arguments? \(([^)]*)\)"), "ورودی اضافه: «{0}»."),
    (re.compile(r"Invalid value for '?([^':]+)'?: (.*)$"), "مقدار «{0}» درست نیست: {1}"),
]


def _detail(text: str) -> str:
    """The detail of a usage error: its Persian wording, or the original kept as typed."""
    said = persian(text, 422)
    return isolate(text) if said == STATUS_FA[422] else said


def _usage_wording(message: str) -> str:
    for pattern, template in _USAGE_RULES:
        found = pattern.search(message)
        if found:
            groups = [isolate(g) for g in found.groups()[:1] if g is not None]
            groups += [_detail(g) for g in found.groups()[1:] if g is not None]
            wording = template.format(*groups) if groups else template
            hint = re.search(r"Did you mean ([^?]+)\?|\(Possible options: ([^)]+)\)", message)
            if hint:
                names = (hint.group(1) or hint.group(2)).replace("'", "").strip()
                wording += f" شاید «{isolate(names)}»؟"
            return wording
    return persian(message, 400) if not re.search(r"[A-Za-z]", message) else (
        f"فرمان درست نوشته نشده است ({isolate(message)})."
    )


def usage_line(message: str, usage: str) -> str:
    """One line for a usage error: what is wrong in Persian, then the command's usage."""
    hint = f" (شکل درست: {isolate(usage)}؛ راهنما: --help)" if usage else " (راهنما: --help)"
    return f"خطا: {_usage_wording(message)}{hint}"
