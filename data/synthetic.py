"""A seeded generator of FICTIONAL intake history: rounds, applications and outcomes.

The history is drawn from a documented latent fit model (also in data/README.md), so a ranker
trained on it can be checked against what is learnable:

    signal = w_text * text + w_stage * stage + w_place * place + w_money * money + w_seats * seats
    fit    = signal + quality(application) + noise(application, program)

* ``text``  1.0 when the application's (hidden) primary sector is one of the program's sectors,
  0.5 when only its secondary sector is, else 0. The plan text is written from the primary
  sector's keywords (plus the secondary sector's and unrelated noise), so this is learnable
  from text alone; the ``sectors`` column is filled for only about 60% of applications.
* ``stage`` 1.0 when the application's stage is among the program's stages, else 0.
* ``place`` 1.0 same city, 0.6 same province, 0.4 other province but the program accepts
  remote teams, else 0 (the largest that applies).
* ``money`` for programs that fund: 1.0 ask within [funding_min, funding_max], 0.4 within
  [funding_min / 2, 2 * funding_max], 0 otherwise, 0.5 when nothing is asked. For programs
  that do not fund: 1.0 when nothing is asked, else 0.5.
* ``seats`` 1.0 needs residency and the program has seats, 0 needs residency and it has none,
  0.5 does not need residency.
* ``quality`` ~ N(0, quality_sigma) per application (unobservable: not in the text or columns),
  ``noise`` ~ N(0, pair_noise_sigma) per (application, program).
  Weights, sigmas and thresholds are the fields of `LatentModel` (defaults in data/README.md).
* Eligibility: a program that requires a knowledge-based (دانش‌بنیان) certificate never grants
  anything to an application without one.

Decisions per program and round: eligible applicants with ``fit >= accept_threshold`` are
accepted in order of fit. Programs with seats in the round grant residency to the accepted
applicants in fit order until the seats run out; they fund only those they host. Programs
without seats (funds, grants) fund the accepted applicants directly. Funding needs
``fit >= accept_threshold + funding_margin`` and a non-zero ask; the amount is the ask times
``exp(N(0, funding_jitter_sigma))`` rounded to 10,000,000 rial and clipped to [funding_min,
funding_max]; the program stops funding when the round budget is spent (the last grant may be
cut down to the remaining budget when that is still at least funding_min).

Plan text varies the way hand-written plans do: some never name their sector (implied
domain), some deny a sector they are not in, some mix two sectors, phrases are reworded
(`_vary`); these variations have their own random source, so they change no fact or outcome.

Everything is deterministic for a given seed. Business-plan text is synthetic but is still
treated like real plans by the rest of the system (never logged).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache

from recommender.constants import SEED, STAGE_LABELS_FA, STAGES
from recommender.schemas import Program
from recommender.taxonomy import load_sectors

from .catalog import load_programs

__all__ = [
    "LatentModel",
    "SyntheticHistory",
    "fit_components",
    "generate_history",
    "generate_plan",
]


# --------------------------------------------------------------------------- latent model
@dataclass(frozen=True)
class LatentModel:
    """Weights and noise of the latent fit model (see the module docstring)."""

    w_text: float = 2.0
    w_stage: float = 1.0
    w_place: float = 0.8
    w_money: float = 0.8
    w_seats: float = 0.6
    quality_sigma: float = 0.3
    pair_noise_sigma: float = 0.4
    accept_threshold: float = 3.6
    funding_margin: float = 0.3
    funding_jitter_sigma: float = 0.15


DEFAULT_MODEL = LatentModel()
FIRST_ROUND_OPENS = dt.date(2023, 3, 21)  # 1 Farvardin 1402
ROUND_OPEN_DAYS = 40
_SEASONS_FA = ("بهار", "تابستان", "پاییز", "زمستان")
_MONEY_STEP = 10_000_000  # rial


@dataclass
class SyntheticHistory:
    """A generated history. Dicts follow `recommender.schemas` (dates as ISO strings).

    Attributes:
        applications: `schemas.Application` rows, each with its `round_id`.
        rounds: `schemas.IntakeRound` rows with per-program `seats` and `budget`.
        outcomes: `schemas.Outcome` rows, one per (application, program applied to).
        truth: latent facts for tests and evaluation: ``model`` (the LatentModel as a dict),
            ``applications`` (id -> primary/secondary sector, quality, register, digits, ...)
            and ``pairs`` (one dict per outcome with the fit components, eligibility, signal,
            fit and whether the program accepted it).
    """

    applications: list[dict] = field(default_factory=list)
    rounds: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)
    truth: dict = field(default_factory=dict)


def fit_components(app: dict, program: Program, primary: str, secondary: str | None) -> dict:
    """Return the latent fit components of one (application, program) pair.

    Args:
        app: an application dict (schemas.Application fields).
        program: the program.
        primary: the application's true primary sector slug.
        secondary: its true secondary sector slug, or None.

    Returns:
        ``{"text", "stage", "place", "money", "seats", "eligible"}`` (floats in [0, 1] and a bool).
    """
    sectors = set(program.sectors)
    text = 1.0 if primary in sectors else (0.5 if secondary and secondary in sectors else 0.0)
    stage = 1.0 if app["stage"] in program.stages else 0.0
    if app["city"] and app["city"] == program.city and app["province"] == program.province:
        place = 1.0
    elif app["province"] == program.province:
        place = 0.6
    elif program.accepts_remote:
        place = 0.4
    else:
        place = 0.0
    ask = app["funding_ask"]
    if program.funding_max <= 0:
        money = 1.0 if ask == 0 else 0.5
    elif ask == 0:
        money = 0.5
    elif program.funding_min <= ask <= program.funding_max:
        money = 1.0
    elif program.funding_min / 2 <= ask <= 2 * program.funding_max:
        money = 0.4
    else:
        money = 0.0
    if app["needs_residency"]:
        seats = 1.0 if program.residency_seats > 0 else 0.0
    else:
        seats = 0.5
    eligible = not (program.requires_knowledge_based and not app["knowledge_based"])
    return {"text": text, "stage": stage, "place": place, "money": money, "seats": seats,
            "eligible": eligible}


def _signal(components: dict, model: LatentModel) -> float:
    return (
        model.w_text * components["text"]
        + model.w_stage * components["stage"]
        + model.w_place * components["place"]
        + model.w_money * components["money"]
        + model.w_seats * components["seats"]
    )


# --------------------------------------------------------------------------- text pools
# Slots: {name} startup, {k} {k2} {k3} primary-sector keywords, {s} {s2} secondary-sector
# keywords, {x} a keyword of an unrelated sector (noise), {en} an English term of the primary
# sector, {g} a generic English term, {city} {province} {team} {year} {n} {n2} {n3} {pct}
# {pct_small} {months} {rev} {market} numbers, {ask} the amount asked.
_POOLS: dict[str, dict[str, list[str]]] = {
    "intro": {
        "formal": [
            "{name} یک استارتاپ در حوزه {k} است که در سال {year} در {city} تأسیس شد.",
            "ما در {name} روی {k} و {k2} تمرکز کرده‌ایم و دفتر ما در {city} قرار دارد.",
            "این سند طرح کسب‌وکار {name} را معرفی می‌کند؛ کسب‌وکاری که هدف آن ارائه خدمات "
            "نوین در زمینه {k} است.",
            "{name} با هدف حل یکی از مشکلات اصلی {k} در استان {province} شکل گرفته است.",
            "تیم {name} از سال {year} فعالیت خود را در زمینه {k} آغاز کرده است.",
            "خلاصه اجرایی: {name} پلتفرمی برای {k} و {k2} است که ابتدا در {city} راه‌اندازی "
            "می‌شود.",
            "کسب‌وکار {name} در تقاطع {k} و فناوری‌های دیجیتال تعریف شده است.",
        ],
        "colloquial": [
            "سلام! ما {name} هستیم، یه تیم {team} نفره از {city} که داریم روی {k} کار می‌کنیم.",
            "ایده‌مون از یه مشکل ساده شروع شد: {k} توی {city} خیلی سخت و گرونه.",
            "{name} یه استارتاپه که می‌خواد {k} رو برای همه راحت‌تر کنه.",
            "ما چند تا دوست هستیم که از سال {year} داریم روی {k} و {k2} کار می‌کنیم.",
            "خب، بذارید از اول بگیم: ما توی {name} می‌خوایم {k} رو متحول کنیم.",
            "اسم استارتاپ‌مون {name} است و کار اصلی‌مون {k}ه.",
        ],
    },
    "problem": {
        "formal": [
            "مسئله اصلی در بازار {k} نبود اطلاعات شفاف و هزینه بالای دسترسی به {k2} است.",
            "بسیاری از فعالان حوزه {k} هنوز به روش‌های سنتی کار می‌کنند و این موضوع باعث "
            "اتلاف زمان و هزینه می‌شود.",
            "بر اساس بررسی‌های ما، بیش از {pct} درصد از کسب‌وکارهای مرتبط با {k} ابزار مناسبی "
            "برای مدیریت {k2} ندارند.",
            "کمبود راه‌حل‌های بومی در زمینه {k} باعث وابستگی به محصولات خارجی شده است.",
            "در حال حاضر فرایند {k} در کشور پراکنده، کند و پرهزینه است.",
            "مشتریان برای {k2} ناچارند به چند واسطه مراجعه کنند و کیفیت خدمات قابل پیش‌بینی "
            "نیست.",
            "تحریم‌ها و نوسان نرخ ارز، دسترسی به فناوری‌های روز {k} را دشوار کرده است.",
        ],
        "colloquial": [
            "الان اگه بخوای {k} داشته باشی، باید کلی وقت بذاری و آخرشم معلوم نیست نتیجه بگیری.",
            "مشکل اینجاست که هیچ‌کس {k2} رو جدی نگرفته.",
            "خیلی‌ها که با {k} سروکار دارن از این وضع خسته شدن.",
            "ما خودمون چند بار با مشکل {k} درگیر شدیم و دیدیم هیچ راه‌حل درست‌وحسابی‌ای نیست.",
            "راستش بازار {k} هنوز خیلی سنتیه و همه‌چی با تلفن و کاغذ پیش می‌ره.",
        ],
    },
    "solution": {
        "formal": [
            "راه‌حل ما یک سامانه مبتنی بر {en} است که {k} و {k2} را در یک محیط یکپارچه "
            "ارائه می‌دهد.",
            "محصول ما یک {g} است که مدیریت {k} را برای کاربران ساده می‌کند.",
            "ما یک اپلیکیشن موبایل و یک پنل وب طراحی کرده‌ایم که فرایند {k} را خودکار می‌کند.",
            "هسته فنی محصول ترکیبی از {k} و {k3} است که به‌صورت سرویس ابری عرضه می‌شود.",
            "این سامانه کارهای مربوط به {k2} را برای کاربران به چند دقیقه کاهش می‌دهد.",
            "برخلاف رقبا، محصول ما برای شرایط بومی ایران و زبان فارسی طراحی شده است.",
            "ما در کنار نرم‌افزار، خدمات مشاوره در زمینه {k} را نیز ارائه می‌دهیم.",
        ],
        "colloquial": [
            "اپلیکیشن‌مون کمک می‌کنه {k} خیلی سریع‌تر و ارزون‌تر انجام بشه.",
            "می‌خوایم یه پلتفرم بسازیم که {k} و {k2} رو یه جا جمع کنه.",
            "نسخه اولیه‌مون (MVP) رو با {en} ساختیم و الان داریم تستش می‌کنیم.",
            "کاربر فقط چند تا کلیک می‌کنه و بقیه‌ش با ماست؛ از {k2} تا پیگیری.",
            "یه {g} ساده ولی کاربردی ساختیم که مخصوص {k} هست.",
        ],
    },
    "market": {
        "formal": [
            "حجم بازار {k} در ایران بر اساس برآوردهای ما حدود {market} میلیارد تومان در سال "
            "است.",
            "مشتریان هدف ما در گام نخست فعالان {k} در استان {province} هستند و سپس به سایر "
            "استان‌ها گسترش می‌یابیم.",
            "بازار هدف ما به دو بخش مشتریان خرد (B2C) و سازمانی (B2B) تقسیم می‌شود.",
            "رشد سالانه بازار {k} در سال‌های اخیر بیش از {pct} درصد بوده است.",
            "رقبای اصلی ما چند شرکت داخلی هستند که بیشتر روی {k2} تمرکز دارند و خدمات آن‌ها "
            "گران است.",
        ],
        "colloquial": [
            "بازار {k} خیلی بزرگه و هنوز کسی درست واردش نشده.",
            "فعلاً می‌خوایم توی {city} شروع کنیم و بعد بریم شهرای دیگه.",
            "رقیب داریم، ولی هیچ‌کدوم روی {k2} درست کار نکردن.",
        ],
    },
    "model": {
        "formal": [
            "مدل درآمدی ما اشتراک ماهانه (SaaS) به‌علاوه کارمزد هر تراکنش است.",
            "درآمد از فروش مستقیم محصول و ارائه خدمات پشتیبانی به مشتریان حوزه {k} به دست "
            "می‌آید.",
            "بخشی از درآمد از تبلیغات و بخشی از فروش نسخه حرفه‌ای محصول به کسب‌وکارهای {k2} "
            "تأمین می‌شود.",
            "ما از هر سفارش موفق {pct_small} درصد کمیسیون دریافت می‌کنیم.",
            "قیمت‌گذاری بر اساس تعداد کاربران هر سازمان انجام می‌شود و قراردادها سالانه است.",
        ],
        "colloquial": [
            "پول‌مون رو از کمیسیون درمیاریم، یه درصد کوچیک از هر سفارش.",
            "یه نسخه رایگان داریم و یه نسخه پولی که امکانات بیشتری داره.",
            "مدل درآمدی‌مون اشتراکیه و مشتری ماهانه پول می‌ده.",
        ],
    },
    "team": {
        "formal": [
            "تیم ما {team} نفر است و بنیان‌گذاران سابقه کار در حوزه {k} دارند.",
            "هم‌بنیان‌گذاران ما دانش‌آموختگان مهندسی و مدیریت هستند و پیش‌تر در شرکت‌های فعال "
            "در {k2} کار کرده‌اند.",
            "اعضای تیم شامل برنامه‌نویس، طراح محصول و کارشناس فروش هستند.",
            "یکی از بنیان‌گذاران بیش از {n} سال تجربه در {k} دارد.",
        ],
        "colloquial": [
            "تیم‌مون {team} نفره‌ست و همه‌مون تمام‌وقت روی این کار هستیم.",
            "دو تا برنامه‌نویس داریم، یه طراح و یه نفر که فروش رو جلو می‌بره.",
            "بچه‌های تیم قبلاً توی چند تا شرکت {k2} کار کردن.",
        ],
    },
    "elaboration": {
        "formal": [
            "یکی از قابلیت‌های مهم محصول، {k} است که در نسخه بعدی با {k2} ترکیب می‌شود.",
            "در فاز دوم قصد داریم خدمات {k} را به شهرهای دیگر گسترش دهیم.",
            "بازخورد کاربران درباره {k2} بسیار مثبت بوده است.",
            "برای {k}، همکاری با چند مجموعه فعال در استان {province} را آغاز کرده‌ایم.",
            "ما از {en} برای بهبود {k2} استفاده می‌کنیم.",
            "شاخص کلیدی ما تعداد کاربرانی است که هر ماه دست‌کم یک بار از خدمات {k} استفاده "
            "می‌کنند.",
            "داشبورد مدیریتی محصول گزارش‌های دقیقی از {k3} ارائه می‌دهد.",
            "نقشه راه محصول شامل افزودن {k3} و اتصال به سامانه‌های موجود از طریق API است.",
            "مهم‌ترین ریسک فنی پروژه، مقیاس‌پذیری سامانه {k} در زمان اوج تقاضاست.",
            "تجربه کاربری محصول با مشارکت {n} نفر از فعالان {k} طراحی شده است.",
            "ما در رویدادها و نمایشگاه‌های مرتبط با {k} حضور فعال داشته‌ایم.",
            "در حوزه {k2} قوانین و مجوزهای خاصی وجود دارد که تیم ما با آن‌ها آشناست.",
        ],
        "colloquial": [
            "یه قابلیت باحال داریم که {k2} رو خودکار می‌کنه.",
            "بعدش می‌خوایم {k3} رو هم اضافه کنیم.",
            "کاربرامون بیشتر از همه از بخش {k} خوششون اومده.",
            "برای {k} با چند تا مجموعه توی {city} صحبت کردیم و قراره همکاری کنیم.",
            "کل سیستم رو روی {en} سوار کردیم.",
            "داشبوردمون همه‌چی رو درباره {k2} نشون می‌ده.",
            "هر هفته با چند تا از مشتری‌ها درباره {k} حرف می‌زنیم و محصول رو بهتر می‌کنیم.",
            "نسخه بعدی قراره {k2} و {k3} رو با هم داشته باشه.",
            "توی {k} رقیب جدی نداریم، حداقل توی {province}.",
        ],
    },
    "tech": {
        "formal": [
            "زیرساخت فنی ما بر پایه Python و React است و روی سرورهای ابری داخلی اجرا می‌شود.",
            "شاخص کلیدی عملکرد (KPI) اصلی ما نرخ ماندگاری ماهانه کاربران (retention) است.",
            "هزینه جذب هر مشتری (CAC) حدود {n} هزار تومان است و ارزش طول عمر مشتری (LTV) "
            "چند برابر آن برآورد می‌شود.",
            "محصول به‌صورت SaaS و برای مشتریان B2B عرضه می‌شود.",
            "API عمومی ما برای یکپارچه‌سازی با سامانه‌های دیگر آماده است.",
            "pitch deck کامل و مدل مالی به پیوست ارسال شده است.",
        ],
        "colloquial": [
            "بک‌اند رو با Django نوشتیم و فرانت رو با React.",
            "دیتابیس‌مون PostgreSQL هست و همه‌چی روی cloud بالاست.",
            "retention ماهانه‌مون خوبه و CAC هم پایینه.",
        ],
    },
    "secondary": {
        "formal": [
            "در کنار حوزه اصلی، به {s} نیز توجه داریم و بخشی از مشتریان ما از این حوزه هستند.",
            "در فاز بعد قصد داریم محصول را برای کاربردهای {s} و {s2} نیز توسعه دهیم.",
            "همکاری با شرکت‌های فعال در {s} می‌تواند بازار ما را دو برابر کند.",
            "تجربه قبلی تیم در {s} به ما کمک کرده است نیاز مشتریان را بهتر بشناسیم.",
        ],
        "colloquial": [
            "یه بخشی از کارمون هم به {s} مربوط می‌شه.",
            "شاید بعداً بریم سراغ {s} هم، چون خیلی‌ها ازمون خواستن.",
        ],
    },
    "noise": {
        "formal": [
            "در ادامه جزئیات بیشتری از برنامه‌های آینده ارائه می‌شود.",
            "این سند برای ارزیابی اولیه تهیه شده و اعداد آن تقریبی است.",
            "ما به شفافیت و صداقت با مشتریان و سرمایه‌گذاران اعتقاد داریم.",
            "جدول زمان‌بندی اجرای پروژه در پیوست آمده است.",
            "ریسک‌های اصلی شامل تغییر قوانین و نوسانات نرخ ارز است.",
            "در صورت نیاز، مستندات فنی و مالی تکمیلی قابل ارائه است.",
            "تورم و شرایط اقتصادی کشور چالش بزرگی برای همه کسب‌وکارهاست.",
            "برنامه بازاریابی ما بر شبکه‌های اجتماعی و معرفی دهان‌به‌دهان تکیه دارد.",
            "برخلاف بسیاری از طرح‌های مشابه در حوزه {x}، ما روی یک مسئله مشخص تمرکز کرده‌ایم.",
            "برخی از اعضای تیم پیش‌تر پروژه‌هایی در زمینه {x} انجام داده‌اند.",
            "حفظ حریم خصوصی کاربران و امنیت داده‌ها برای ما اولویت دارد.",
            "هدف ما در سه سال آینده تبدیل شدن به یکی از برندهای شناخته‌شده کشور است.",
        ],
        "colloquial": [
            "راستش اولش فکر نمی‌کردیم اینقدر استقبال بشه.",
            "خلاصه که خیلی انگیزه داریم!",
            "اگه سؤالی بود در خدمتیم.",
            "یه مدت هم روی {x} کار کردیم ولی دیدیم مال ما نیست.",
            "کار سختیه ولی از پسش برمیایم.",
            "قیمت دلار که بالا پایین می‌شه، برنامه‌ریزی‌مون هم به هم می‌ریزه.",
            "تا الان همه هزینه‌ها رو از جیب خودمون دادیم.",
            "تبلیغات‌مون فعلاً بیشتر توی اینستاگرام و تلگرامه.",
            "فایل اکسل مدل مالی رو هم اگه خواستید می‌فرستیم.",
        ],
    },
}

_TRACTION: dict[str, dict[str, list[str]]] = {
    "idea": {
        "formal": [
            "در حال حاضر در مرحله ایده هستیم و {n} مصاحبه با مشتریان بالقوه انجام داده‌ایم.",
            "طرح اولیه محصول آماده شده و در حال تکمیل مطالعات بازار هستیم.",
        ],
        "colloquial": [
            "هنوز محصول نداریم ولی با {n} نفر حرف زدیم و همه گفتن این مشکل رو دارن.",
            "فعلاً در حد ایده و طراحی اولیه‌ایم.",
        ],
    },
    "mvp": {
        "formal": [
            "نسخه اولیه محصول آماده است و {n} کاربر آزمایشی از آن استفاده می‌کنند.",
            "محصول حداقلی (MVP) ما به مدت {months} ماه در {city} آزمایش شده است.",
        ],
        "colloquial": [
            "MVP رو ساختیم و الان {n} نفر دارن باهاش کار می‌کنن.",
            "نسخه بتا رو دادیم دست چند تا مشتری و بازخوردها خیلی خوب بوده.",
        ],
    },
    "early_revenue": {
        "formal": [
            "در {months} ماه گذشته درآمد ماهانه ما به {rev} میلیون تومان رسیده است.",
            "تاکنون {n2} مشتری پرداخت‌کننده جذب کرده‌ایم.",
        ],
        "colloquial": [
            "الان ماهی حدود {rev} میلیون تومن فروش داریم.",
            "{n2} تا مشتری داریم که پول میدن و راضی‌ان.",
        ],
    },
    "growth": {
        "formal": [
            "تعداد کاربران فعال ما از {n3} نفر گذشته و رشد ماهانه درآمد حدود {pct} درصد است.",
            "در سال گذشته فروش ما سه برابر شد و اکنون در {n} استان مشتری داریم.",
        ],
        "colloquial": [
            "ماهی {pct} درصد داریم رشد می‌کنیم و الان بیشتر از {n3} کاربر فعال داریم.",
            "توی {n} تا استان مشتری داریم و داریم تیم فروش رو بزرگ می‌کنیم.",
        ],
    },
}

_ASK = {
    "formal": [
        "برای توسعه محصول و بازاریابی به {ask} سرمایه نیاز داریم.",
        "میزان سرمایه مورد نیاز برای دوازده ماه آینده {ask} برآورد شده است.",
        "درخواست ما دریافت {ask} برای تکمیل تیم فنی و ورود به بازار است.",
    ],
    "colloquial": [
        "برای یه سال آینده حدوداً {ask} لازم داریم.",
        "اگه {ask} جذب کنیم، می‌تونیم تیم رو بزرگ کنیم و بریم سراغ بازاریابی.",
    ],
}
_NO_ASK = {
    "formal": ["در این مرحله به سرمایه نقدی نیاز نداریم و بیشتر به دنبال منتورینگ و شبکه "
               "ارتباطی هستیم."],
    "colloquial": ["فعلاً پول لازم نداریم، بیشتر دنبال منتور و ارتباطاتیم."],
}
_RESIDENCY = {
    True: {
        "formal": [
            "همچنین به فضای کار و استقرار در یک مرکز نوآوری یا شتاب‌دهنده نیاز داریم.",
            "استقرار در یک مرکز رشد یا خانه خلاق در {city} برای ما اهمیت زیادی دارد.",
        ],
        "colloquial": [
            "یه جای کار هم لازم داریم چون الان توی خونه کار می‌کنیم.",
            "اگه بشه توی یه شتاب‌دهنده مستقر بشیم عالی می‌شه.",
        ],
    },
    False: {
        "formal": [
            "تیم دفتر کار مستقل دارد و نیازی به فضای استقرار ندارد.",
            "به فضای کار نیاز نداریم و به‌صورت دورکاری فعالیت می‌کنیم.",
        ],
        "colloquial": ["جای کار داریم، فقط دنبال حمایت و شبکه‌ایم."],
    },
}
_KNOWLEDGE_BASED = {
    True: {
        "formal": ["شرکت ما گواهی دانش‌بنیان دارد.",
                   "محصول ما سال گذشته تأییدیه دانش‌بنیان دریافت کرده است."],
        "colloquial": ["دانش‌بنیان هم هستیم."],
    },
    False: {
        "formal": ["هنوز گواهی دانش‌بنیان نداریم.",
                   "فرایند اخذ گواهی دانش‌بنیان را به‌تازگی آغاز کرده‌ایم."],
        "colloquial": ["هنوز دانش‌بنیان نشدیم."],
    },
}
_STAGE_SENTENCE = {
    "formal": ["کسب‌وکار ما در مرحله {stage} قرار دارد."],
    "colloquial": ["الان توی مرحله {stage} هستیم."],
}
_HEADINGS = {
    "intro": "خلاصه اجرایی",
    "problem": "بیان مسئله",
    "solution": "راه‌حل و محصول",
    "elaboration": "جزئیات محصول",
    "market": "بازار و رقبا",
    "model": "مدل درآمدی",
    "traction": "وضعیت فعلی",
    "team": "تیم",
    "secondary": "فرصت‌های توسعه",
    "ask": "نیاز مالی و حمایتی",
}
_SECTION_ORDER = tuple(_HEADINGS)
_GENERIC_EN = ("SaaS", "platform", "app", "dashboard", "marketplace", "web app")

_NAME_PREFIXES = ("آوا", "نوین", "پارس", "سپهر", "کارا", "دانا", "رسا", "نیک", "آتی", "مهر",
                  "ژرف", "بهین", "پویا", "تیام", "آرمان", "سامان", "رهنو", "زیست", "نوا", "ترنج",
                  "هوشا", "آسا", "پیشرو", "ستاره", "البرز", "کوشا", "رادین", "باران")
_NAME_SUFFIXES = ("تک", "یار", "پی", "لند", "سان", "نت", "کار", "سازان", "ورس", "مارکت", "هاب",
                  "پلاس", "گستر", "نگار", "بان", "رو", "اپ", "لب")
_LATIN_NAMES = ("Avatek", "Parsify", "Rahnama", "DadehLab", "SepehrAI", "Kavosh", "Tarang",
                "Zisto", "Nikpay", "Barankar", "Safarin", "Rooyesh")

_STAGE_WEIGHTS = {"idea": 0.30, "mvp": 0.35, "early_revenue": 0.22, "growth": 0.13}
_ASK_RANGES = {  # rial
    "idea": (300_000_000, 3_000_000_000),
    "mvp": (1_000_000_000, 10_000_000_000),
    "early_revenue": (5_000_000_000, 50_000_000_000),
    "growth": (20_000_000_000, 200_000_000_000),
}
_TEAM_RANGES = {"idea": (1, 4), "mvp": (2, 8), "early_revenue": (3, 15), "growth": (8, 60)}
_P_RESIDENCY = {"idea": 0.75, "mvp": 0.65, "early_revenue": 0.45, "growth": 0.2}
_P_KNOWLEDGE_BASED = {"idea": 0.05, "mvp": 0.2, "early_revenue": 0.4, "growth": 0.6}
_FOUNDED_AGO = {"idea": (0, 1), "mvp": (0, 2), "early_revenue": (1, 4), "growth": (2, 8)}
_SECTOR_POPULARITY = {"fintech": 1.5, "ecommerce": 1.5, "ai": 1.4, "health": 1.2, "edtech": 1.1}
_EXTRA_PLACES = (("تهران", "تهران"), ("تهران", "تهران"), ("تهران", "تهران"), ("تهران", "تهران"),
                 ("البرز", "کرج"), ("اصفهان", "اصفهان"), ("خراسان رضوی", "مشهد"),
                 ("فارس", "شیراز"), ("آذربایجان شرقی", "تبریز"), ("قم", "قم"),
                 ("گیلان", "رشت"), ("یزد", "یزد"), ("کرمان", "کرمان"), ("خوزستان", "اهواز"),
                 ("مازندران", "ساری"), ("هرمزگان", "بندرعباس"), ("همدان", "همدان"),
                 ("لرستان", "بروجرد"), ("اصفهان", "نجف‌آباد"), ("تهران", "شهریار"))

_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_AR_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_ARABIC_LETTERS = str.maketrans({"ی": "ي", "ک": "ك"})


# --------------------------------------------------------------------------- text variety
# Hand-written plans name their domain in other words, deny sectors they are not in and mix
# two sectors; the rankers should see that too. These variations are drawn from a second
# random source seeded by the plan's own facts (`_variety_rng`), so they never change the
# draws of the history's random source: the same seed gives the same applications, facts and
# outcomes as before, only the text reads differently.
_P_IMPLIED = 0.07  # the primary sector is never named: its keywords become plain descriptions
_P_NEGATION = 0.2  # one sentence says the startup is NOT in a (confusable) other sector
_P_MIXED = 0.3  # of plans with a secondary sector: it gets as many sentences as the primary
_PARAPHRASE_RATES = (0.0, 0.3, 0.6)  # per plan: share of paraphrasable phrases reworded

#: Descriptions of each sector that use none of its keywords (an "implied" domain).
_IMPLIED: dict[str, tuple[str, ...]] = {
    "fintech": ("جابه‌جایی پول بین مردم", "خرید حالا و پرداخت بعداً", "پس‌انداز خانوارها",
                "مدیریت دخل و خرج خانواده", "قسطی خریدن لوازم خانه"),
    "health": ("نوبت گرفتن از دکتر", "مراقبت از افراد مسن در خانه", "کنترل قند خون",
               "ویزیت از راه دور", "پیگیری حال مراجعان بعد از عمل جراحی"),
    "agritech": ("مزرعه‌داران", "نخلستان‌های جنوب", "دام و طیور", "زمین‌های زراعی",
                 "محصول گندم و جو"),
    "edtech": ("درس خواندن بچه‌ها", "داوطلبان ورود به دانشگاه", "یاد گرفتن زبان خارجی",
               "استادها و شاگردها", "کلاس‌های تقویتی"),
    "games": ("گیمرها", "مسابقه‌های تعاملی روی گوشی", "کاراکترهای کارتونی و مرحله‌های جذاب",
              "سرگرم کردن نوجوان‌ها با گوشی"),
    "creative_culture": ("نقاش‌ها و خوشنویس‌ها", "داستان‌های مصور", "آثار تجسمی",
                         "ساز و آواز سنتی"),
    "media": ("برنامه‌های ویدیویی اینترنتی", "یوتیوبرها", "شنونده‌ها و بیننده‌ها",
              "گزارش‌های روز"),
    "tourism": ("خارجی‌هایی که به ایران می‌آیند", "اجاره ویلا برای تعطیلات",
                "تعطیلات نوروزی و جاهای دیدنی", "میزبانی از میهمانان خارجی"),
    "smart_city": ("چراغ‌های خیابان", "شلوغی خیابان‌ها", "شکایت‌های مردم از خدمات محلی",
                   "عوارض نوسازی"),
    "mobility": ("رفت‌وآمد روزانه کارمندان", "اجاره ماشین", "ون‌های سرویس مدارس",
                 "جابه‌جایی آدم‌ها در شهر"),
    "ecommerce": ("خرید از خانه با گوشی", "ویترین مجازی برای کاسب‌ها", "کاسب‌های محل",
                  "مغازه‌دارها"),
    "logistics": ("جابه‌جایی بسته‌ها بین شهرها", "رساندن بسته‌ها به در خانه", "ترابری جاده‌ای",
                  "بسته‌های پستی"),
    "energy": ("خورشید روی پشت‌بام‌ها", "خاموشی‌های تابستان", "مصرف سوخت کارخانه‌ها",
               "توربین‌های بادی"),
    "environment": ("خشک شدن تالاب‌ها", "کیسه‌های پلاستیکی", "هوای آلوده شهرها",
                    "حفظ جنگل‌ها", "ته‌مانده‌های صنعتی"),
    "ai": ("ماشین‌هایی که مثل آدم فکر می‌کنند", "تشخیص خودکار چهره", "پاسخ‌گوی خودکار",
           "فهمیدن متن‌های فارسی با رایانه"),
    "hardware_iot": ("دستگاه‌های کوچک متصل به وای‌فای", "بردهای مدار چاپی",
                     "لوازم خانگی متصل", "ماشین‌آلات کارخانه"),
    "handicrafts_fashion": ("کیف و کفش دست‌دوز", "کارگاه‌های خیاطی", "هنرهای سنتی اصفهان",
                            "تن‌پوش‌های ایرانی"),
    "construction": ("آپارتمان‌سازی", "خرید و فروش خانه", "نوسازی خانه‌های قدیمی",
                     "اجاره آپارتمان"),
    "biotech": ("فرمول‌های درمانی از ریزجانداران", "باکتری‌ها و مخمرها", "سلول‌های بنیادی",
                "کشف مولکول‌های جدید"),
    "food": ("خوراکی‌های خانگی", "آشپزهای خانگی", "کافه‌ها", "شیر و ماست محلی"),
}
_NEGATION = {
    "formal": [
        "لازم به ذکر است که {name} یک استارتاپ {neg} نیست و تمرکز ما فقط بر {k} است.",
        "برخلاف تصور برخی، ما در حوزه {neg} فعالیت نمی‌کنیم.",
        "کار ما {neg} نیست؛ محصول ما برای {k} طراحی شده است.",
    ],
    "colloquial": [
        "ما {neg} نیستیم، کارمون {k}ه.",
        "خیلیا فکر می‌کنن ما {neg} هستیم ولی نه، کار ما {k}ه.",
    ],
}
#: Rewordings (word-bounded). Neutral ones in every register, colloquial ones only where the
#: plan is colloquial (so a formal plan stays formal).
_PARAPHRASE_NEUTRAL: dict[str, tuple[str, ...]] = {
    "استارتاپ": ("کسب‌وکار نوپا", "شرکت نوپا", "استارت‌آپ"),
    "پلتفرم": ("سکو", "سامانه", "platform"),
    "کاربران": ("کاربرها", "استفاده‌کنندگان"),
    "مشتریان": ("مشتری‌ها", "خریداران"),
    "محصول": ("سرویس", "راهکار"),
    "سرمایه": ("بودجه", "سرمایه‌گذاری", "فاند"),
    "تأسیس شد": ("راه افتاد", "شروع به کار کرد"),
    "در حال حاضر": ("هم‌اکنون", "فعلاً"),
    "بسیار": ("خیلی",),
    "راه‌اندازی": ("لانچ", "شروع به کار"),
}
_PARAPHRASE_COLLOQUIAL: dict[str, tuple[str, ...]] = {
    "تومان": ("تومن",),
    "دارند": ("دارن",),
    "هستند": ("هستن",),
    "می‌کنند": ("می‌کنن",),
    "می‌خواهیم": ("می‌خوایم",),
}


def _word_pattern(table: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    words = sorted(table, key=len, reverse=True)
    return re.compile(r"(?<![\w\u200c])(" + "|".join(map(re.escape, words)) + r")(?![\w\u200c])")


_NEUTRAL_RE = _word_pattern(_PARAPHRASE_NEUTRAL)
_COLLOQUIAL_RE = _word_pattern(_PARAPHRASE_COLLOQUIAL)


def _paraphrase(text: str, rng: random.Random, rate: float, colloquial: bool) -> str:
    """Reword a share `rate` of the known phrases of one sentence."""
    if rate <= 0:
        return text

    def swap(table: dict[str, tuple[str, ...]]) -> Callable[[re.Match[str]], str]:
        return lambda m: rng.choice(table[m.group(1)]) if rng.random() < rate else m.group(1)

    text = _NEUTRAL_RE.sub(swap(_PARAPHRASE_NEUTRAL), text)
    return _COLLOQUIAL_RE.sub(swap(_PARAPHRASE_COLLOQUIAL), text) if colloquial else text


def _variety_rng(app: dict, primary: dict) -> random.Random:
    """A random source for the text variations, seeded by the plan's facts (not the caller's
    source, whose draws must stay as they were)."""
    key = "|".join(str(app.get(f)) for f in ("startup_name", "stage", "city", "team_size",
                                             "funding_ask", "founded_year"))
    return random.Random(f"{key}|{primary['slug']}")


@cache
def _confusable_sectors() -> dict[str, tuple[str, ...]]:
    """Per sector, the sectors that share most programs with it (what a plan would deny)."""
    together: dict[str, dict[str, int]] = {}
    for program in load_programs():
        for a in program.sectors:
            for b in program.sectors:
                if a != b:
                    together.setdefault(a, {}).setdefault(b, 0)
                    together[a][b] += 1
    return {a: tuple(sorted(counts, key=lambda b: (-counts[b], b))[:3])
            for a, counts in together.items()}


# --------------------------------------------------------------------------- plan writer
@dataclass
class _PlanStyle:
    register: str  # formal | colloquial | mixed
    digits: str  # fa | ar | latin
    arabic_letters: str  # none | all | partial
    english_heavy: bool
    headings: str  # none | markdown | numbered | colon
    grouping: bool  # thousands separators
    money_unit: str  # rial | toman | million_toman


def _fmt_int(value: int, style: _PlanStyle) -> str:
    text = f"{value:,}" if style.grouping and value >= 10_000 else str(value)
    if style.digits == "fa":
        return text.translate(_FA_DIGITS).replace(",", "٬")
    if style.digits == "ar":
        return text.translate(_AR_DIGITS).replace(",", "٬")
    return text


def _fmt_money(rial: int, style: _PlanStyle) -> str:
    if style.money_unit == "rial":
        return f"{_fmt_int(rial, style)} ریال"
    if style.money_unit == "toman":
        return f"{_fmt_int(rial // 10, style)} تومان"
    return f"{_fmt_int(max(1, rial // 10_000_000), style)} میلیون تومان"


class _PlanWriter:
    """Fills sentence templates for one plan; never repeats a template while others remain."""

    def __init__(self, rng: random.Random, style: _PlanStyle, primary: dict,
                 secondary: dict | None, noise_sectors: list[dict], facts: dict,
                 variety: random.Random | None = None, implied: bool = False,
                 paraphrase_rate: float = 0.0) -> None:
        self.rng = rng
        self.style = style
        self.primary = primary
        self.secondary = secondary
        self.noise_sectors = noise_sectors
        self.facts = facts
        self.used: set[tuple[str, str]] = set()
        # the text variations: drawn from `variety`, never from `rng` (see _variety_rng)
        self.variety = variety or random.Random(0)
        self.implied = implied
        self.paraphrase_rate = paraphrase_rate
        self.variants: dict[str, str] = {}  # sentence as drawn -> as the plan shows it

    def _register(self) -> str:
        if self.style.register == "mixed":
            return "colloquial" if self.rng.random() < 0.35 else "formal"
        return self.style.register

    def _pick(self, key: str, pool: list[str]) -> str:
        fresh = [t for t in pool if (key, t) not in self.used]
        template = self.rng.choice(fresh or pool)
        self.used.add((key, template))
        return template

    def _slots(self, fields: tuple[str, ...]) -> dict[str, str]:
        """Draw values only for the slots the template uses (keeps generation fast)."""
        rng, fmt = self.rng, (lambda v: _fmt_int(v, self.style))
        slots: dict[str, str] = {}
        for name in fields:
            if name in slots:
                continue
            if name in ("k", "k2", "k3"):
                slots["k"], slots["k2"], slots["k3"] = rng.sample(self.primary["keywords_fa"], 3)
            elif name in ("s", "s2"):
                slots["s"], slots["s2"] = rng.sample(self.secondary["keywords_fa"], 2)
            elif name == "en":
                slots[name] = rng.choice(self.primary["keywords_en"])
            elif name == "g":
                slots[name] = rng.choice(_GENERIC_EN)
            elif name == "x":
                slots[name] = rng.choice(rng.choice(self.noise_sectors)["keywords_fa"])
            elif name in _NUMBER_SLOTS:
                slots[name] = fmt(_NUMBER_SLOTS[name](rng))
            else:
                slots[name] = self.facts[name]
        return slots

    def sentence(self, key: str, pools: dict[str, list[str]]) -> str:
        """One sentence as drawn; what the plan shows (`variant`) is recorded beside it."""
        register = self._register()
        template = self._pick(key, pools[register])
        slots = self._slots(_template_fields(template))
        sentence = template.format(**slots)
        shown = dict(slots)
        if self.implied and "k" in shown:
            shown["k"], shown["k2"], shown["k3"] = self.variety.sample(
                _IMPLIED[self.primary["slug"]], 3)
        if self.implied and "en" in shown:
            shown["en"] = self.variety.choice(_GENERIC_EN)
        self.variants[sentence] = _paraphrase(template.format(**shown), self.variety,
                                              self.paraphrase_rate, register == "colloquial")
        return sentence

    def variant(self, sentence: str) -> str:
        return self.variants.get(sentence, sentence)


@cache
def _template_fields(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


_NUMBER_SLOTS: dict[str, Callable[[random.Random], int]] = {
    "n": lambda r: r.randint(3, 40),
    "n2": lambda r: r.randint(15, 400),
    "n3": lambda r: r.choice((2, 5, 8, 12, 20, 50, 120)) * 1000,
    "pct": lambda r: r.randint(8, 70),
    "pct_small": lambda r: r.randint(2, 15),
    "months": lambda r: r.randint(2, 18),
    "rev": lambda r: r.randint(5, 900),
    "market": lambda r: r.choice((50, 120, 300, 800, 1500, 4000, 10000)),
}


def _section_sentence(writer: _PlanWriter, section: str) -> str:
    if section == "noise":
        return writer.sentence("noise", _POOLS["noise"])
    return writer.sentence(section, _POOLS[section])


def _render(sections: dict[str, list[str]], style: _PlanStyle, rng: random.Random) -> str:
    blocks: list[str] = []
    number = 0
    for name in _SECTION_ORDER:
        sentences = sections[name]
        if not sentences:
            continue
        number += 1
        body = " ".join(sentences)
        if style.headings == "markdown":
            blocks.append(f"## {_HEADINGS[name]}\n{body}")
        elif style.headings == "numbered":
            blocks.append(f"{_fmt_int(number, style)}. {_HEADINGS[name]}\n{body}")
        elif style.headings == "colon":
            blocks.append(f"{_HEADINGS[name]}: {body}")
        else:
            blocks.append(body)
    separator = "\n\n" if style.headings != "none" or rng.random() < 0.5 else "\n"
    return separator.join(blocks)


def _apply_arabic_letters(text: str, mode: str, rng: random.Random) -> str:
    if mode == "all":
        return text.translate(_ARABIC_LETTERS)
    if mode == "partial":  # e.g. one pasted section typed on an Arabic keyboard
        blocks = text.split("\n")
        chosen = {i for i in range(len(blocks)) if rng.random() < 0.5} or {0}
        return "\n".join(b.translate(_ARABIC_LETTERS) if i in chosen else b
                         for i, b in enumerate(blocks))
    return text


def _draw_style(rng: random.Random) -> _PlanStyle:
    register = rng.choices(("formal", "colloquial", "mixed"), (0.6, 0.25, 0.15))[0]
    return _PlanStyle(
        register=register,
        digits=rng.choices(("fa", "latin", "ar"), (0.55, 0.3, 0.15))[0],
        arabic_letters=rng.choices(("none", "all", "partial"), (0.8, 0.1, 0.1))[0],
        english_heavy=rng.random() < 0.3,
        headings=("none" if register == "colloquial"
                  else rng.choice(("none", "markdown", "numbered", "colon"))),
        grouping=rng.random() < 0.5,
        money_unit=rng.choice(("rial", "toman", "million_toman")),
    )


def generate_plan(
    rng: random.Random,
    app: dict,
    primary: dict,
    secondary: dict | None,
    sectors: Sequence[dict],
    target_chars: int | None = None,
    max_chars: int = 6000,
    min_chars: int = 300,
) -> tuple[str, dict]:
    """Write one synthetic Persian business plan for an application.

    Args:
        rng: the random source (the caller's, so the whole history stays deterministic).
        app: the application dict (uses stage, city, province, team_size, funding_ask,
            needs_residency, knowledge_based, founded_year, startup_name).
        primary: the primary sector dict (from `recommender.taxonomy.load_sectors`).
        secondary: a secondary sector dict or None.
        sectors: all sectors (unrelated ones give noise words).
        target_chars: wanted length; drawn log-uniformly in [min_chars, max_chars] when None.
        max_chars: hard upper bound on the plan length.
        min_chars: hard lower bound on the plan length.

    Returns:
        ``(plan_text, style)`` where style says register, digits, arabic_letters, english_heavy,
        and the text variations: implied_domain (no keyword of the primary sector),
        negated_sector (a sector the plan says it is not in, or None), mixed_sectors (the
        secondary sector as present as the primary) and paraphrase_rate.
    """
    style = _draw_style(rng)
    if target_chars is None:
        target_chars = int(math.exp(rng.uniform(math.log(min_chars + 20), math.log(max_chars))))
    target_chars = max(min_chars, min(target_chars, max_chars))
    excluded = {primary["slug"], secondary["slug"] if secondary else ""}
    noise_sectors = [s for s in sectors if s["slug"] not in excluded]
    facts = {
        "name": app["startup_name"], "city": app["city"] or "تهران",
        "province": app["province"] or "تهران",
        "team": _fmt_int(app["team_size"], style),
        "year": _fmt_int(app["founded_year"] or 2022, style),
        "ask": _fmt_money(app["funding_ask"], style),
        "stage": STAGE_LABELS_FA[app["stage"]],
    }
    variety = _variety_rng(app, primary)
    implied = variety.random() < _P_IMPLIED
    writer = _PlanWriter(rng, style, primary, secondary, noise_sectors, facts, variety=variety,
                         implied=implied, paraphrase_rate=variety.choice(_PARAPHRASE_RATES))
    sections: dict[str, list[str]] = {name: [] for name in _SECTION_ORDER}
    sections["intro"].append(_section_sentence(writer, "intro"))
    sections["problem"].append(_section_sentence(writer, "problem"))
    sections["solution"].append(_section_sentence(writer, "solution"))
    sections["traction"].append(writer.sentence("traction", _TRACTION[app["stage"]]))
    if rng.random() < 0.4:
        sections["traction"].insert(0, writer.sentence("stage", _STAGE_SENTENCE))
    ask_pool = _ASK if app["funding_ask"] > 0 else _NO_ASK
    sections["ask"].append(writer.sentence("ask", ask_pool))
    sections["ask"].append(writer.sentence("residency", _RESIDENCY[app["needs_residency"]]))
    if rng.random() < 0.6:
        sections["team"].append(writer.sentence("kb", _KNOWLEDGE_BASED[app["knowledge_based"]]))
    if secondary and rng.random() < 0.85:
        sections["secondary"].append(_section_sentence(writer, "secondary"))

    choices = ["problem", "solution", "elaboration", "elaboration", "elaboration", "market",
               "model", "team", "noise", "noise"]
    if secondary:
        choices += ["secondary"]
    if style.english_heavy:
        choices += ["tech", "tech"]

    length = sum(len(s) + 1 for part in sections.values() for s in part) + 40
    budget = max_chars - 300  # room for headings and the digit/letter rewrite
    while length < target_chars:
        section = rng.choice(choices)
        sentence = _section_sentence(writer, section)
        if length + len(sentence) > budget:
            break
        target = "elaboration" if section == "tech" else section
        if section == "noise":
            target = rng.choice(("problem", "solution", "elaboration", "market", "team"))
        sections[target].append(sentence)
        length += len(sentence) + 1

    text = _apply_arabic_letters(_render(sections, style, rng), style.arabic_letters, rng)
    while len(text) > max_chars:  # cannot happen with the budget above; kept as a guard
        longest = max(sections, key=lambda name: len(sections[name]))
        sections[longest].pop()
        text = _apply_arabic_letters(_render(sections, style, rng), style.arabic_letters, rng)
    while len(text) < min_chars:
        sections["elaboration"].append(_section_sentence(writer, "elaboration"))
        text = _apply_arabic_letters(_render(sections, style, rng), style.arabic_letters, rng)
    text, variations = _vary(writer, sections, app, sectors, max_chars, min_chars)
    info = {"register": style.register, "digits": style.digits,
            "arabic_letters": style.arabic_letters, "english_heavy": style.english_heavy,
            **variations}
    return text, info


def _vary(writer: _PlanWriter, sections: dict[str, list[str]], app: dict,
          sectors: Sequence[dict], max_chars: int, min_chars: int) -> tuple[str, dict]:
    """The plan as shown: drawn sentences reworded (implied domain, paraphrases), plus a
    negation sentence and, for mixed plans, the secondary sector's own sentences. Uses only
    `writer.variety`, so the caller's random source is left exactly where generate_plan left
    it."""
    variety, style, primary, secondary = (writer.variety, writer.style, writer.primary,
                                          writer.secondary)
    shown = {name: [writer.variant(s) for s in part] for name, part in sections.items()}
    extra = _PlanWriter(variety, style, primary, secondary, writer.noise_sectors,
                        dict(writer.facts), variety=variety, implied=writer.implied,
                        paraphrase_rate=writer.paraphrase_rate)
    negated = None
    if variety.random() < _P_NEGATION:
        taken = {primary["slug"], secondary["slug"] if secondary else ""}
        by_slug = {s["slug"]: s for s in sectors}
        options = [slug for slug in _confusable_sectors().get(primary["slug"], ())
                   if slug not in taken and slug in by_slug]
        options = options or [s["slug"] for s in sectors if s["slug"] not in taken]
        negated = variety.choice(options)
        extra.facts["neg"] = by_slug[negated]["keywords_fa"][0]
        place = variety.choice(("intro", "solution", "problem"))
        denial = extra.variant(extra.sentence("negation", _NEGATION))
        shown[place].append(denial)
    mixed = bool(secondary) and variety.random() < _P_MIXED
    if mixed:  # the secondary sector gets sentences of its own, written like the primary's
        other = _PlanWriter(variety, style, secondary, primary, writer.noise_sectors,
                            writer.facts, variety=variety,
                            paraphrase_rate=writer.paraphrase_rate)
        for section in variety.sample(("problem", "solution", "elaboration", "market"), 3):
            pools = {register: [t for t in pool if "{k" in t]
                     for register, pool in _POOLS[section].items()}
            shown[section].append(other.variant(other.sentence(section, pools)))

    def render() -> str:
        return _apply_arabic_letters(_render(shown, style, variety), style.arabic_letters,
                                     variety)

    text = render()
    while len(text) > max_chars:
        longest = max(shown, key=lambda name: len(shown[name]))
        shown[longest].pop()
        text = render()
    while len(text) < min_chars:
        shown["elaboration"].append(extra.variant(extra.sentence("elaboration",
                                                                 _POOLS["elaboration"])))
        text = render()
    if negated and not any(denial in part for part in shown.values()):
        negated = None  # cut by the length guard
    return text, {"implied_domain": writer.implied, "negated_sector": negated,
                  "mixed_sectors": mixed, "paraphrase_rate": writer.paraphrase_rate}


# --------------------------------------------------------------------------- history
def _to_fa_digits(value: int) -> str:
    return str(value).translate(_FA_DIGITS)


def _round_money(value: float) -> int:
    return int(round(value / _MONEY_STEP)) * _MONEY_STEP


def _round_calendar(n_rounds: int, last_round_opens: dt.date | None
                    ) -> list[tuple[int, int, dt.date]]:
    """(Jalali year, season 0-3, opening date) of each round, oldest first: quarterly from
    FIRST_ROUND_OPENS, or ending with a round that opens on `last_round_opens` (the earlier
    rounds one quarter apart before it; the last one takes that date's Jalali season)."""
    if last_round_opens is None:
        return [
            (1402 + index // 4, index % 4,
             FIRST_ROUND_OPENS + dt.timedelta(days=round(index * 365.25 / 4) + 5))
            for index in range(n_rounds)
        ]
    import jdatetime

    last = jdatetime.date.fromgregorian(date=last_round_opens)
    last_quarter = last.year * 4 + (last.month - 1) // 3
    calendar = []
    for index in range(n_rounds):
        back = n_rounds - 1 - index
        quarter = last_quarter - back
        opens = last_round_opens - dt.timedelta(days=round(back * 365.25 / 4))
        calendar.append((quarter // 4, quarter % 4, opens))
    return calendar


def _make_rounds(rng: random.Random, programs: list[Program], n_rounds: int,
                 last_round_opens: dt.date | None = None) -> list[dict]:
    active = [p for p in programs if p.active]
    if len(active) < 3:
        raise ValueError("need at least 3 active programs to build intake rounds")
    rounds = []
    for jalali_year, season, opens in _round_calendar(n_rounds, last_round_opens):
        closes = opens + dt.timedelta(days=ROUND_OPEN_DAYS)
        chosen = [p for p in active if rng.random() < 0.7]
        if len(chosen) < 3:
            chosen = rng.sample(active, 3)
        entries = []
        for program in chosen:
            seats = (max(1, round(program.residency_seats * rng.uniform(0.25, 0.5)))
                     if program.residency_seats > 0 else 0)
            budget = (_round_money(program.funding_max * rng.uniform(1.5, 4.0))
                      if program.funding_max > 0 else 0)
            entries.append({"program_id": program.id, "seats": seats, "budget": budget})
        rounds.append({
            "id": f"round-{jalali_year}-{season + 1}",
            "name": f"دور پذیرش {_SEASONS_FA[season]} {_to_fa_digits(jalali_year)}",
            "opens_on": opens.isoformat(),
            "closes_on": closes.isoformat(),
            "program_ids": [e["program_id"] for e in entries],
            "programs": entries,
        })
    return rounds


def _startup_name(rng: random.Random, taken: set[str]) -> str:
    for _ in range(20):
        if rng.random() < 0.15:
            name = rng.choice(_LATIN_NAMES)
        else:
            name = rng.choice(_NAME_PREFIXES) + "\u200c" + rng.choice(_NAME_SUFFIXES)
        if name not in taken:
            break
    else:
        name = f"{name} {_to_fa_digits(len(taken))}"
    taken.add(name)
    return name


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _make_application(rng: random.Random, app_id: str, round_: dict, sectors: list[dict],
                      places: list[tuple[str, str]], taken: set[str]) -> tuple[dict, dict]:
    weights = [_SECTOR_POPULARITY.get(s["slug"], 1.0) for s in sectors]
    primary = rng.choices(sectors, weights)[0]
    secondary = None
    if rng.random() < 0.55:
        secondary = rng.choice([s for s in sectors if s["slug"] != primary["slug"]])
    stage = rng.choices(STAGES, [_STAGE_WEIGHTS[s] for s in STAGES])[0]
    province, city = rng.choice(places)
    ask = 0
    if rng.random() >= 0.08:
        ask = max(_MONEY_STEP * 10, _round_money(_log_uniform(rng, *_ASK_RANGES[stage]) / 10) * 10)
    opens_year = dt.date.fromisoformat(round_["opens_on"]).year
    observed: list[str] = []
    if rng.random() < 0.6:
        observed = [primary["slug"]]
        if secondary and rng.random() < 0.5:
            observed.append(secondary["slug"])
    app = {
        "id": app_id,
        "startup_name": _startup_name(rng, taken),
        "business_plan": "",
        "sectors": observed,
        "stage": stage,
        "province": province,
        "city": city,
        "team_size": rng.randint(*_TEAM_RANGES[stage]),
        "funding_ask": ask,
        "needs_residency": rng.random() < _P_RESIDENCY[stage],
        "knowledge_based": rng.random() < _P_KNOWLEDGE_BASED[stage],
        "founded_year": opens_year - rng.randint(*_FOUNDED_AGO[stage]),
        "round_id": round_["id"],
    }
    plan, style = generate_plan(rng, app, primary, secondary, sectors)
    app["business_plan"] = plan
    latent = {"primary_sector": primary["slug"],
              "secondary_sector": secondary["slug"] if secondary else None,
              "plan_chars": len(plan), **style}
    return app, latent


def _choose_programs(rng: random.Random, app: dict, latent: dict,
                     candidates: list[Program]) -> list[Program]:
    """Self-selection: startups mostly apply where they seem to fit, with Gumbel noise."""
    keyed = []
    for program in candidates:
        c = fit_components(app, program, latent["primary_sector"], latent["secondary_sector"])
        appeal = 2.0 * c["text"] + c["stage"] + c["place"] + 0.5 * c["money"] + 0.5 * c["seats"]
        appeal -= 0.0 if c["eligible"] else 1.0
        gumbel = -math.log(-math.log(rng.random() or 1e-12))
        keyed.append((1.2 * appeal + gumbel, program.id, program))
    keyed.sort(key=lambda item: (-item[0], item[1]))
    k = min(len(keyed), rng.randint(3, 6))
    return [program for _, _, program in keyed[:k]]


def _decide(rng: random.Random, program: Program, applicants: list[dict], seats: int,
            budget: int, model: LatentModel) -> dict[tuple[str, str], tuple[bool, int]]:
    """One program's decisions in one round, under its seats and budget.

    Marks each applicant pair ``accepted`` in place and returns
    ``{(application_id, program_id): (residency_granted, funded_amount)}``.
    """
    hosts = seats > 0
    result: dict[tuple[str, str], tuple[bool, int]] = {}
    for pair in sorted(applicants, key=lambda p: (-p["fit"], p["application_id"])):
        accepted = pair["eligible"] and pair["fit"] >= model.accept_threshold
        pair["accepted"] = accepted
        residency = False
        if accepted and seats > 0:
            residency, seats = True, seats - 1
        amount = 0
        ask = pair["_app"]["funding_ask"]
        may_fund = residency if hosts else accepted
        if (may_fund and program.funding_max > 0 and budget > 0 and ask > 0
                and pair["fit"] >= model.accept_threshold + model.funding_margin):
            jitter = math.exp(rng.gauss(0.0, model.funding_jitter_sigma))
            wanted = min(max(_round_money(ask * jitter), program.funding_min), program.funding_max)
            cut_down = budget // _MONEY_STEP * _MONEY_STEP
            if wanted <= budget:
                amount = wanted
            elif cut_down > 0 and cut_down >= program.funding_min:
                amount = cut_down
            budget -= amount
        result[(pair["application_id"], program.id)] = (residency, amount)
    return result


def generate_history(
    seed: int = SEED,
    n_rounds: int = 8,
    applications_per_round: int = 80,
    programs: Sequence[Program | dict] | None = None,
    model: LatentModel = DEFAULT_MODEL,
    last_round_opens: dt.date | None = None,
) -> SyntheticHistory:
    """Generate a fictional intake history from the latent fit model (module docstring).

    Args:
        seed: random seed; the same seed (and programs, model) gives the same history.
        n_rounds: number of past intake rounds (quarterly from spring 1402 / 2023-03-26).
        applications_per_round: applications submitted in each round.
        programs: the program catalogue (default: data/programs.json); inactive programs
            take part in no round.
        model: the latent model's weights, noise and thresholds.
        last_round_opens: when given, the last round opens on this date and the earlier ones
            one quarter apart before it (the demo passes a date shortly before the day it is
            built, so its last round is open); ids and names follow the Jalali seasons.
            None: the fixed calendar from spring 1402.

    Returns:
        A `SyntheticHistory`; its dicts validate against `recommender.schemas`.

    Raises:
        ValueError: if n_rounds or applications_per_round is below 1, or fewer than 3 programs
            are active.
    """
    if n_rounds < 1 or applications_per_round < 1:
        raise ValueError("n_rounds and applications_per_round must be at least 1")
    catalogue = [p if isinstance(p, Program) else Program.model_validate(p)
                 for p in (load_programs() if programs is None else programs)]
    by_id = {p.id: p for p in catalogue}
    sectors = load_sectors()
    rng = random.Random(seed)
    rounds = _make_rounds(rng, catalogue, n_rounds, last_round_opens)
    places = sorted({(p.province, p.city) for p in catalogue if p.city}) + list(_EXTRA_PLACES)

    applications: list[dict] = []
    outcomes: list[dict] = []
    app_truth: dict[str, dict] = {}
    pairs: list[dict] = []
    taken: set[str] = set()
    for round_no, round_ in enumerate(rounds, start=1):
        round_programs = [by_id[e["program_id"]] for e in round_["programs"]]
        capacity = {e["program_id"]: (e["seats"], e["budget"]) for e in round_["programs"]}
        round_pairs: list[dict] = []
        for j in range(1, applications_per_round + 1):
            app, latent = _make_application(rng, f"app-{round_no:02d}-{j:03d}", round_,
                                            sectors, places, taken)
            latent["quality"] = rng.gauss(0.0, model.quality_sigma)
            applications.append(app)
            app_truth[app["id"]] = latent
            for program in _choose_programs(rng, app, latent, round_programs):
                comps = fit_components(app, program, latent["primary_sector"],
                                       latent["secondary_sector"])
                signal = _signal(comps, model)
                noise = rng.gauss(0.0, model.pair_noise_sigma)
                round_pairs.append({
                    "application_id": app["id"], "program_id": program.id,
                    "round_id": round_["id"], **comps, "signal": round(signal, 6),
                    "noise": round(noise, 6), "fit": round(signal + latent["quality"] + noise, 6),
                    "accepted": False, "_app": app,
                })

        closes = dt.date.fromisoformat(round_["closes_on"])
        granted: dict[tuple[str, str], tuple[bool, int]] = {}
        decided: dict[str, str] = {}
        for program in sorted(round_programs, key=lambda p: p.id):
            decided[program.id] = (closes + dt.timedelta(days=rng.randint(14, 35))).isoformat()
            seats, budget = capacity[program.id]
            applicants = [p for p in round_pairs if p["program_id"] == program.id]
            granted.update(_decide(rng, program, applicants, seats, budget, model))
        for pair in round_pairs:
            residency, amount = granted[(pair["application_id"], pair["program_id"])]
            outcomes.append({
                "application_id": pair["application_id"],
                "program_id": pair["program_id"],
                "round_id": round_["id"],
                "residency_granted": residency,
                "funded_amount": int(amount),
                "decided_on": decided[pair["program_id"]],
            })
            del pair["_app"]
            pairs.append(pair)

    truth = {"model": asdict(model), "applications": app_truth, "pairs": pairs}
    return SyntheticHistory(applications=applications, rounds=rounds, outcomes=outcomes,
                            truth=truth)
