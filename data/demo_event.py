"""The demo's fictional event: an investor and mentoring day at one house (`peyvand demo`).

Everything here is FICTIONAL (see data/README.md): the mentors, investors and their profiles
are made up. The startups are the house's demo applications (linked by `application_id`, the
profile a short summary of the plan) and the programs are the house's own programs and a few
of the network's (linked by `program_id`, the profile the program's description).

The file is the import contract of `peyvand events import` (`{"event", "participants"}`), so
the demo stores it through the same checks as any organiser's file. Seeded: the same inputs
give the same file.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from recommender.schemas import Application, Program

SLOTS = 8
SLOT_MINUTES = 20
FIRST_SLOT = dt.time(9, 0)
TABLES = 10
MAX_MEETINGS = 4
STARTUPS = 36
PROGRAMS = 8
EVENT_DAYS_AHEAD = 14

# (name, profile): expertise written as a mentor introduces themself.
MENTORS: tuple[tuple[str, str], ...] = (
    ("نگار امینی", "پانزده سال تجربه در پرداخت الکترونیک و فین‌تک؛ طراحی کیف پول، تسویه و "
     "گرفتن مجوز از بانک مرکزی را به تیم‌های نوپا آموزش می‌دهد."),
    ("کاوه رستمی", "پزشک و مدیر محصول سلامت دیجیتال؛ در نوبت‌دهی آنلاین، پرونده الکترونیک "
     "سلامت و ورود به بیمارستان‌ها همراه تیم‌ها بوده است."),
    ("سارا کریمی", "مربی رشد بازار در تجارت الکترونیک و خرده‌فروشی آنلاین؛ قیف فروش، "
     "بازاریابی دیجیتال و نگه‌داشت مشتری."),
    ("بهرام نوروزی", "مهندس کشاورزی و مشاور آبیاری هوشمند؛ گلخانه، حسگرهای رطوبت خاک و فروش "
     "به کشاورزان و تعاونی‌ها."),
    ("مریم حسینی", "طراح آموزشی و بنیان‌گذار پیشین یک پلتفرم آموزش آنلاین؛ محتوای درسی، "
     "آزمون و فروش به مدرسه‌ها."),
    ("آرش فرهادی", "تهیه‌کننده بازی‌های موبایلی؛ طراحی بازی، درآمد از پرداخت درون‌برنامه‌ای و "
     "انتشار در بازارهای ایرانی."),
    ("لیلا صادقی", "پژوهشگر یادگیری ماشین و پردازش زبان فارسی؛ داده، مدل‌های هوش مصنوعی و "
     "رساندن آن‌ها به محصول."),
    ("حمید شریفی", "مدیر زنجیره تأمین و لجستیک؛ انبارداری، حمل بار شهری و هزینهٔ ارسال "
     "برای فروشگاه‌های اینترنتی."),
    ("شیما رضایی", "طراح مد و کارآفرین صنایع دستی؛ برند، عکاسی محصول و فروش صنایع دستی "
     "در بازارهای آنلاین و صادرات."),
    ("رضا موسوی", "مشاور حقوقی و مالی استارتاپ‌ها؛ قرارداد سرمایه‌گذاری، سهام‌داری، "
     "دانش‌بنیان شدن و ارزش‌گذاری."),
)

INVESTORS: tuple[tuple[str, str], ...] = (
    ("صندوق خطرپذیر آینده", "سرمایه‌گذاری مرحلهٔ بذری و سری A در فین‌تک، پرداخت و بیمهٔ "
     "دیجیتال؛ از ۵ تا ۵۰ میلیارد ریال."),
    ("شتاب‌دهندهٔ سلامت نو", "سرمایه‌گذاری در سلامت دیجیتال، تجهیزات پزشکی و زیست‌فناوری؛ "
     "تیم‌هایی با نمونهٔ اولیه و آزمون بالینی."),
    ("سرمایه‌گذار فرشته: امید طاهری", "سرمایه‌گذاری فرشته در تجارت الکترونیک، خرده‌فروشی و "
     "لجستیک؛ تیم‌های نوپا با فروش اولیه."),
    ("صندوق کشاورزی هوشمند", "سرمایه‌گذاری در فناوری کشاورزی، آب و صنایع غذایی؛ آبیاری "
     "هوشمند، گلخانه و کاهش ضایعات."),
    ("گروه سرمایه‌گذاری بازی و رسانه", "سرمایه‌گذاری در بازی‌های دیجیتال، رسانه و تولید "
     "محتوا؛ انیمیشن، پادکست و پلتفرم‌های ویدیو."),
    ("صندوق فناوری داده", "سرمایه‌گذاری در هوش مصنوعی، داده و نرم‌افزار سازمانی؛ محصولات "
     "B2B با مشتری پرداخت‌کننده."),
    ("صندوق شهر هوشمند", "سرمایه‌گذاری در شهر هوشمند، حمل‌ونقل، انرژی و محیط زیست؛ "
     "همکاری با شهرداری‌ها."),
    ("سرمایه‌گذار فرشته: نسرین قاسمی", "سرمایه‌گذاری فرشته در آموزش، صنایع خلاق و فرهنگی و "
     "گردشگری؛ مبلغ‌های کوچک و همراهی نزدیک."),
)


def _summary(application: Application, limit: int = 500) -> str:
    """A startup's profile: its name, then the start of its plan, cut at a sentence end."""
    text = " ".join(application.business_plan.split())
    if len(text) > limit:
        cut = max(text.rfind(mark, 0, limit) for mark in (".", "؟", "!"))
        text = text[: cut + 1] if cut > limit // 3 else text[:limit]
    return f"{application.startup_name}: {text}"


def _pick_programs(programs: Sequence[Program], org_id: str, rng: random.Random) -> list[Program]:
    own = [p for p in programs if p.org_id == org_id and p.active]
    others = [p for p in programs if p.org_id != org_id and p.active]
    rng.shuffle(others)
    return (own + others)[:PROGRAMS]


def demo_event(
    applications: Sequence[Application],
    programs: Sequence[Program],
    *,
    org_id: str,
    seed: int,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """The fictional event of house `org_id`, as an import file's payload.

    Args:
        applications: the house's applications (the newest first are taken as startups).
        programs: the network's programs (the house's own first, then others).
        org_id: the organising house.
        seed: shuffles who is available when and who asks to meet whom.
        today: the event is `EVENT_DAYS_AHEAD` days later.
    """
    rng = random.Random(seed)
    day = (today or dt.date.today()) + dt.timedelta(days=EVENT_DAYS_AHEAD)
    slots = []
    for i in range(SLOTS):
        start = dt.datetime.combine(day, FIRST_SLOT) + dt.timedelta(minutes=i * (SLOT_MINUTES + 5))
        end = start + dt.timedelta(minutes=SLOT_MINUTES)
        slots.append({"id": f"S{i + 1}", "start": start.strftime("%H:%M"),
                      "end": end.strftime("%H:%M")})
    slot_ids = [s["id"] for s in slots]

    def available(share: float) -> list[str]:
        if rng.random() < share:
            return list(slot_ids)
        first = rng.randrange(0, SLOTS // 2)
        return slot_ids[first : first + rng.randrange(SLOTS // 2, SLOTS - first + 1)]

    startups: list[dict[str, Any]] = [
        {"id": f"st-{a.id}", "kind": "startup", "name": a.startup_name, "profile": _summary(a),
         "application_id": a.id, "availability": available(0.7), "requests": []}
        for a in list(applications)[:STARTUPS]
    ]
    mentors: list[dict[str, Any]] = [
        {"id": f"mentor-{i + 1}", "kind": "mentor", "name": name, "profile": profile,
         "availability": available(0.5), "requests": []}
        for i, (name, profile) in enumerate(MENTORS)
    ]
    investors: list[dict[str, Any]] = [
        {"id": f"investor-{i + 1}", "kind": "investor", "name": name, "profile": profile,
         "availability": available(0.6), "requests": []}
        for i, (name, profile) in enumerate(INVESTORS)
    ]
    hosts = [
        {"id": f"program-{p.id}", "kind": "program", "name": p.name, "profile": p.description,
         "program_id": p.id, "availability": available(0.8), "requests": []}
        for p in _pick_programs(programs, org_id, rng)
    ]
    # Startups ask for investors and mentors; some of them ask back (mutual requests).
    others: list[dict[str, Any]] = investors + mentors
    for startup in startups:
        for target in rng.sample(others, rng.randrange(0, 3)):
            startup["requests"].append(target["id"])
            if rng.random() < 0.25:
                target["requests"].append(startup["id"])
    return {
        "event": {
            "id": f"demo-event-{org_id}",
            "name": "روز سرمایه‌گذاری و منتورینگ (نمونه)",
            "org_id": org_id,
            "date": day.isoformat(),
            "slots": slots,
            "tables": TABLES,
            "max_meetings_per_participant": MAX_MEETINGS,
        },
        "participants": startups + mentors + investors + hosts,
    }
