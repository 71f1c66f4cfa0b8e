"""Persian wording, with Persian digits, for every message the web UI and the command line
show a person (api/web and api/cli/say.py both use it: one wording for both).

The library and the JSON API speak English to programs; a person reads Persian. Two
entry points:

- `field_errors(raw)`: pydantic's raw errors (with `type` and `ctx`) -> `{"field", "message"}`
  in Persian (the field is still the code name; pages put their own labels on it);
- `persian(text, status)`: a domain or HTTP error's text -> Persian. Known messages are
  reworded (ids and file types kept, isolated so they read left-to-right inside Persian);
  text that is already Persian passes through; anything else becomes the plain Persian
  sentence for its status, so no English reaches the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from recommender.errors import BILINGUAL_SEPARATOR
from recommender.text.field_errors import field_reason
from recommender.text.persian import format_number

FSI, PDI = "\u2068", "\u2069"  # first-strong isolate: a Latin id inside a Persian sentence

# The title of the error page of each status.
PERSIAN_TITLES = {
    400: "درخواست نادرست است",
    401: "لطفاً وارد شوید",
    403: "اجازهٔ دسترسی ندارید",
    404: "پیدا نشد",
    405: "این کار مجاز نیست",
    409: "ناسازگاری با وضعیت فعلی",
    413: "فایل یا متن بیش از حد بزرگ است",
    422: "داده‌ها درست نیستند",
    429: "درخواست‌ها زیاد است؛ کمی بعد دوباره تلاش کنید",
    500: "خطای داخلی سامانه",
    503: "سرویس موقتاً در دسترس نیست",
}

STATUS_FA = {
    400: "درخواست درست نیست.",
    401: "لطفاً وارد شوید.",
    403: "اجازهٔ دیدن این صفحه یا انجام این کار را ندارید.",
    404: "صفحه یا موردی که خواستید پیدا نشد.",
    405: "این کار در این صفحه مجاز نیست.",
    409: "این تغییر با داده‌های فعلی ناسازگار است؛ صفحه را دوباره باز کنید و دوباره تلاش کنید.",
    413: "فایل یا متن فرستاده‌شده بیش از حد بزرگ است.",
    422: "داده‌های فرستاده‌شده درست نیستند.",
    429: "درخواست‌ها زیاد است؛ کمی بعد دوباره تلاش کنید.",
    500: "خطایی در سامانه رخ داد؛ جزئیات برای پشتیبانی ثبت شد. کمی بعد دوباره تلاش کنید.",
    503: "سرویس موقتاً در دسترس نیست؛ کمی بعد دوباره تلاش کنید.",
}

KIND_FA = {
    "application": "درخواستی",
    "program": "برنامه‌ای",
    "round": "دوره‌ای",
    "job": "کاری",
    "user": "کاربری",
    "intake round": "دوره‌ای",
    "referral": "ارجاعی",
    "house": "خانه‌ای",
}

# "unknown X id" in import rows: the kind, as the start of a Persian sentence.
ID_KIND_FA = {
    "application": "درخواستی",
    "program": "برنامه‌ای",
    "round": "دوره‌ای",
    "org": "خانه‌ای",
    "house": "خانه‌ای",
}

_LATIN_LETTER = re.compile(r"[A-Za-z]")
_PERSIAN_LETTER = re.compile(r"[\u0600-\u06FF]")


def isolate(text: Any) -> str:
    """`text` as a left-to-right island inside a Persian sentence («…» stay on the right)."""
    return f"{FSI}{text}{PDI}"


def _n(value: Any) -> str:
    text = str(value)
    try:
        return format_number(int(text)) if text.isdigit() else format_number(float(text), 3)
    except ValueError:
        return text


def _mb(value: Any) -> str:
    try:
        return format_number(int(value) / 1_000_000, 1)
    except (TypeError, ValueError):
        return str(value)


def _not_found(m: re.Match[str]) -> str:
    kind = KIND_FA.get(m.group(1).lower(), "موردی")
    return f"{kind} با شناسهٔ «{isolate(m.group(2))}» پیدا نشد."


_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_RULES: list[_Rule] = [
    (re.compile(r"no ([a-z ]+?) with id '?([^']*?)'?$", re.I), _not_found),
    (
        re.compile(r"unsupported plan file type '([^']*)'", re.I),
        lambda m: f"نوع فایل «{isolate(m.group(1))}» پذیرفته نیست؛ فایل txt، docx یا pdf بفرستید.",
    ),
    (
        re.compile(r"plan file is larger than (\d+) bytes", re.I),
        lambda m: f"فایل طرح بزرگ‌تر از {_mb(m.group(1))} مگابایت است.",
    ),
    (
        re.compile(r"no text could be read from the plan file", re.I),
        lambda m: "از فایل طرح هیچ متنی خوانده نشد.",
    ),
    (
        re.compile(r"the plan has (\d+) characters; at most (\d+)", re.I),
        lambda m: f"طرح {_n(m.group(1))} نویسه دارد؛ حداکثر {_n(m.group(2))} نویسه پذیرفته می‌شود.",
    ),
    (
        re.compile(r"not UTF-8", re.I),
        lambda m: "کدگذاری فایل متنی UTF-8 نیست؛ آن را با کدگذاری UTF-8 ذخیره کنید.",
    ),
    (
        re.compile(r"\.docx file cannot be opened", re.I),
        lambda m: "فایل docx باز نشد؛ آیا فایل Word است؟",
    ),
    (re.compile(r"password-protected", re.I), lambda m: "فایل PDF گذرواژه دارد و خوانده نمی‌شود."),
    (re.compile(r"PDF file cannot be read", re.I), lambda m: "فایل PDF خوانده نشد."),
    (re.compile(r"business plan is empty", re.I), lambda m: "متن طرح کسب‌وکار خالی است."),
    (re.compile(r"startup name is empty", re.I), lambda m: "نام استارتاپ را بنویسید."),
    (re.compile(r"^the text is empty", re.I), lambda m: "متن طرح را وارد کنید."),
    (
        re.compile(r"funding_min is larger than funding_max", re.I),
        lambda m: "کمترین سرمایه از بیشترین سرمایه بزرگ‌تر است.",
    ),
    (re.compile(r"closes_on is before opens_on", re.I), lambda m: "تاریخ پایان پیش از شروع است."),
    (re.compile(r"\bNUL\b"), lambda m: "متن نویسهٔ نامجاز دارد."),
    (
        re.compile(r"unknown (kind|stage)", re.I),
        lambda m: "گزینهٔ انتخاب‌شده در فهرست گزینه‌ها نیست.",
    ),
    (re.compile(r"sector slugs", re.I), lambda m: "حوزهٔ انتخاب‌شده در فهرست حوزه‌ها نیست."),
    (
        re.compile(r"user name '([^']*)' is already taken", re.I),
        lambda m: f"نام کاربری «{isolate(m.group(1))}» پیش‌تر گرفته شده است.",
    ),
    (
        re.compile(r"request body is too large \(at most (\d+) bytes", re.I),
        lambda m: f"فایل یا متن فرستاده‌شده بیش از حد بزرگ است (حداکثر {_mb(m.group(1))} مگابایت).",
    ),
    (
        re.compile(r"password needs at least (\d+)", re.I),
        lambda m: f"گذرواژه باید دست‌کم {_n(m.group(1))} نویسه باشد.",
    ),
    (
        re.compile(r"user name is 2-100", re.I),
        lambda m: "نام کاربری ۲ تا ۱۰۰ نویسهٔ لاتین، رقم یا _ . @ - است و با حرف یا رقم آغاز می‌شود.",
    ),
    (re.compile(r"unknown role", re.I), lambda m: "نقش انتخاب‌شده در فهرست نقش‌ها نیست."),
    # pydantic's own wording (rows of an imported file carry it)
    (re.compile(r"^Field required", re.I), lambda m: "این بخش خالی است؛ آن را پر کنید."),
    (
        re.compile(r"should be greater than or equal to (-?[\d.]+)", re.I),
        lambda m: f"باید دست‌کم {_n(m.group(1))} باشد.",
    ),
    (
        re.compile(r"should be greater than (-?[\d.]+)", re.I),
        lambda m: f"باید بیشتر از {_n(m.group(1))} باشد.",
    ),
    (
        re.compile(r"should be less than or equal to (-?[\d.]+)", re.I),
        lambda m: f"باید حداکثر {_n(m.group(1))} باشد.",
    ),
    (
        re.compile(r"should be less than (-?[\d.]+)", re.I),
        lambda m: f"باید کمتر از {_n(m.group(1))} باشد.",
    ),
    (
        re.compile(r"at least (\d+) characters?", re.I),
        lambda m: f"دست‌کم {_n(m.group(1))} نویسه لازم است.",
    ),
    (
        re.compile(r"at most (\d+) characters?", re.I),
        lambda m: f"حداکثر {_n(m.group(1))} نویسه پذیرفته می‌شود.",
    ),
    (
        re.compile(r"valid (integer|number)", re.I),
        lambda m: "یک عدد درست (با رقم‌های فارسی یا لاتین) بنویسید.",
    ),
    (re.compile(r"valid date", re.I), lambda m: "تاریخ درست نیست (به شکل ۲۰۲۶-۰۳-۲۱)."),
    (
        re.compile(r"valid boolean|is not yes/no", re.I),
        lambda m: "بله یا خیر بنویسید (true یا false).",
    ),
    (re.compile(r"valid JSON list", re.I), lambda m: "فهرست درست نوشته نشده است."),
    # the import reader's wording (recommender.io.reading)
    (re.compile(r"^is required", re.I), lambda m: "این ستون خالی است؛ آن را پر کنید."),
    (re.compile(r"is not a known field", re.I), lambda m: "این ستون شناخته نیست."),
    (re.compile(r"must be a whole number", re.I), lambda m: "باید عدد صحیح باشد."),
    (re.compile(r"must be a number", re.I), lambda m: "باید عدد باشد."),
    (re.compile(r"must be true or false", re.I), lambda m: "باید true یا false باشد."),
    (re.compile(r"must be text", re.I), lambda m: "باید متن باشد."),
    (re.compile(r"must not be empty", re.I), lambda m: "نباید خالی باشد."),
    (
        re.compile(r"too long \(at most (\d+)", re.I),
        lambda m: f"بیش از اندازه بلند است (حداکثر {_n(m.group(1))} نویسه).",
    ),
    (re.compile(r"must not be negative", re.I), lambda m: "نباید منفی باشد."),
    (
        re.compile(r"must be at least (-?[\d.]+)", re.I),
        lambda m: f"باید دست‌کم {_n(m.group(1))} باشد.",
    ),
    (
        re.compile(r"must be at most (-?[\d.]+)", re.I),
        lambda m: f"باید حداکثر {_n(m.group(1))} باشد.",
    ),
    (
        re.compile(r"must be a date", re.I),
        lambda m: "باید تاریخ میلادی به شکل ۲۰۲۵-۰۳-۲۱ باشد.",
    ),
    (re.compile(r"must be a list", re.I), lambda m: "باید فهرست باشد."),
    (re.compile(r"must be an object", re.I), lambda m: "باید شیء JSON باشد."),
    # the store's house rules (recommender.store.network)
    (
        re.compile(r"has several houses", re.I),
        lambda m: "این شبکه چند خانه دارد؛ خانهٔ برگزارکننده را انتخاب کنید.",
    ),
    (
        re.compile(r"only add or change their own house", re.I),
        lambda m: "کارشناس هر خانه فقط برنامه‌ها و داده‌های خانهٔ خود را می‌افزاید یا تغییر می‌دهد.",
    ),
    (
        re.compile(r"already used by another house", re.I),
        lambda m: "این شناسه را خانهٔ دیگری به کار برده است؛ شناسهٔ دیگری برگزینید.",
    ),
    (
        re.compile(r"program '([^']*)' belongs to another house", re.I),
        lambda m: f"برنامهٔ «{isolate(m.group(1))}» از آنِ خانهٔ دیگری است؛ "
        "هر دوره فقط برنامه‌های خانهٔ خودش را دارد.",
    ),
    # references between imported rows (recommender.io.reading, recommender.store)
    (
        re.compile(r"unknown (application|program|round|org|house) id '([^']*)'", re.I),
        lambda m: f"{ID_KIND_FA[m.group(1).lower()]} با شناسهٔ «{isolate(m.group(2))}» نیست.",
    ),
    (
        re.compile(r"duplicate (?:id|application_id/program_id pair) (.+) \(first on row (\d+)\)"),
        lambda m: f"شناسهٔ {isolate(m.group(1))} تکراری است (نخستین بار در ردیف "
        f"{_n(m.group(2))}).",
    ),
    (
        re.compile(r"the program (?:'([^']*)' )?belongs to another house", re.I),
        lambda m: "این برنامه از آنِ خانهٔ دیگری است.",
    ),
    (
        re.compile(r"has values outside the named columns", re.I),
        lambda m: "مقدارهایی بیرون از ستون‌های نام‌دار دارد.",
    ),
    # houses (api.accounts, recommender.store.network, the import reader)
    (
        re.compile(r"staff belong to one house", re.I),
        lambda m: "کارشناس عضو یک خانه است؛ خانهٔ او را مشخص کنید (فهرست: peyvand orgs list).",
    ),
    (
        re.compile(r"only staff belong to a house", re.I),
        lambda m: "فقط کارشناس عضو یک خانه است؛ برای این نقش خانه‌ای انتخاب نکنید.",
    ),
    (
        re.compile(r"the house '([^']*)' is not active", re.I),
        lambda m: f"خانهٔ «{isolate(m.group(1))}» فعال نیست.",
    ),
    (
        re.compile(r"unknown (?:house|org id) '([^']*)'", re.I),
        lambda m: f"خانه‌ای با شناسهٔ «{isolate(m.group(1))}» در شبکه نیست.",
    ),
]


def _is_persian(message: str) -> bool:
    """A sentence already in Persian: at least as many Persian words as Latin ones (a path,
    an id or an option name is one Latin word inside a Persian sentence)."""
    words = message.split()
    persian_words = sum(1 for w in words if _PERSIAN_LETTER.search(w))
    latin_words = sum(1 for w in words if _LATIN_LETTER.search(w))
    return persian_words > 0 and persian_words >= latin_words or latin_words == 0


def persian(text: Any, status: int = 400) -> str:
    """A message for a person: `text` reworded in Persian (see the module's docstring)."""
    message = str(text or "").strip()
    if BILINGUAL_SEPARATOR in message:  # recommender.errors.bilingual: "english — persian"
        wording = message.rsplit(BILINGUAL_SEPARATOR, 1)[1].strip()
        if _PERSIAN_LETTER.search(wording):
            return wording
    if message and _is_persian(message):
        return message
    for pattern, make in _RULES:
        found = pattern.search(message)
        if found:
            return make(found)
    return STATUS_FA.get(status, STATUS_FA[400 if status < 500 else 500])


# ---------------------------------------------------------------------- pydantic errors
def _field_message(error: Mapping[str, Any]) -> str:
    """A form field's error: what to do in the form for an empty box, a choice or a number
    typed wrong; otherwise the one wording of `recommender.text.field_errors`."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length", 1) <= 1):
        return "این بخش را پر کنید."
    if kind.startswith(("int_", "float_", "decimal")):
        return "یک عدد درست (با رقم‌های فارسی یا لاتین) بنویسید."
    if kind in ("literal_error", "enum"):
        return "یکی از گزینه‌های فهرست را انتخاب کنید."
    if kind.startswith("bool"):
        return "بله یا خیر را انتخاب کنید."
    if kind == "string_pattern_mismatch":
        return "نویسه‌هایی دارد که پذیرفته نیست."
    if kind.startswith("date"):
        return "تاریخ درست نیست."
    if kind == "value_error":
        return persian(error.get("msg", ""), 422)
    return field_reason(error) + "."


def _field(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc if p != "body" and not isinstance(p, int)]
    return parts[0] if parts else ""


def field_errors(raw: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Pydantic's `exc.errors()` as Persian `{"field", "message"}` pairs (no input echoed)."""
    return [{"field": _field(e.get("loc", ())), "message": _field_message(e)} for e in raw]
