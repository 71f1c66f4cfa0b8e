"""One pydantic validation error in plain Persian words, without the value that failed (it
may be a plan's text): «باید دست‌کم ۳ باشد», «حداکثر ۲۰۰ نویسه پذیرفته می‌شود».

The one wording of what a field's value lacks, used by the rows of an imported file (events;
`recommender.events.validation`) and by the fields of a web form (`api.messages`, which
words a few input-only cases — an empty box, a choice, a number typed wrong — as what to do
in the form instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recommender.text.persian import format_number

__all__ = ["field_reason"]

_OBJECT = "باید یک شیء (با نام فیلدها) باشد"
_INTEGER = "باید عدد صحیح باشد"
_FIXED: dict[str, str] = {
    "missing": "لازم است",
    "extra_forbidden": "فیلد شناخته‌شده‌ای نیست",
    "int_parsing": _INTEGER,
    "int_type": _INTEGER,
    "int_from_float": _INTEGER,
    "string_type": "باید متن باشد",
    "list_type": "باید فهرست باشد",
    "too_short": "نباید خالی باشد",
    "dict_type": _OBJECT,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "string_pattern_mismatch": "فقط حروف و رقم‌های لاتین، خط تیره، نقطه و زیرخط",
    "literal_error": "یکی از مقدارهای پذیرفته نیست",
    "enum": "یکی از مقدارهای پذیرفته نیست",
}
# (error type, ctx key, wording with {} for the limit)
_LIMITS: dict[str, tuple[str, str]] = {
    "string_too_long": ("max_length", "حداکثر {} نویسه پذیرفته می‌شود"),
    "too_long": ("max_length", "حداکثر {} مورد پذیرفته می‌شود"),
    "greater_than_equal": ("ge", "باید دست‌کم {} باشد"),
    "greater_than": ("gt", "باید بیشتر از {} باشد"),
    "less_than_equal": ("le", "باید حداکثر {} باشد"),
    "less_than": ("lt", "باید کمتر از {} باشد"),
}


def _limit(value: Any) -> str:
    return format_number(value) if isinstance(value, int | float) else str(value)


def field_reason(error: Mapping[str, Any]) -> str:
    """`error` (one item of pydantic's `exc.errors()`) as a Persian phrase, no final period.

    A validator's own message (`value_error`, `assertion_error`) is returned as written
    (without pydantic's "Value error, " prefix): the validators of this project word theirs.
    """
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "string_too_short":
        minimum = ctx.get("min_length", 1)
        return "نباید خالی باشد" if minimum <= 1 else f"دست‌کم {_limit(minimum)} نویسه لازم است"
    if kind in _FIXED:
        return _FIXED[kind]
    if kind in _LIMITS:
        key, wording = _LIMITS[kind]
        return wording.format(_limit(ctx.get(key)))
    if kind.startswith("date"):
        return "باید تاریخی مثل 2026-03-21 (سال-ماه-روز میلادی) باشد"
    if kind.startswith(("int_", "float_", "decimal")):
        return "باید عدد باشد"
    if kind.startswith("bool"):
        return "باید بله یا خیر باشد"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error") or error.get("msg", "")).removeprefix("Value error, ")
    return "مقدار پذیرفتنی نیست"
