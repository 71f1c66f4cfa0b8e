"""Reading what people type into the web forms: Persian or Arabic digits and thousands
separators as plain numbers, and pydantic's errors under each field's Persian label."""

from __future__ import annotations

from typing import Any

from ..messages import field_errors
from .views import FIELD_LABELS_FA

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٬,", "01234567890123456789  ")


def latin_digits(value: Any) -> str:
    """The text with Persian and Arabic digits as Latin ones, without separators or spaces."""
    return str(value or "").translate(_DIGITS).replace(" ", "").strip()


def labelled_errors(raw: Any) -> list[dict[str, str]]:
    """Pydantic errors in Persian, each under its field's Persian label."""
    return [
        {"field": FIELD_LABELS_FA.get(e["field"], ""), "message": e["message"]}
        for e in field_errors(raw)
    ]


def int_or_none(value: Any) -> int | None:
    """The whole number typed (in any digits), or None when it is not one."""
    text = latin_digits(value)
    return int(text) if text.isdigit() else None

