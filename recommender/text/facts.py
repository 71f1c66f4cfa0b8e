"""The facts a business plan states about its own startup, read from its Persian text.

`read_facts(text)` returns a `PlanFacts`: stage, province and city, whether the team asks for
residency (a desk, an office, a workshop), the funding ask in rial and whether it is a grant,
equity or a loan, the knowledge-based (دانش‌بنیان) certificate, team size, the sectors the
plan is about and the sectors it says it is not about («فین‌تک نیستیم»). Each is a `Fact`
with a confidence in [0, 1] (0 and a None value: the plan does not say) and the span of the
normalized text it was read from.

How: the text is normalized first (`normalization.normalize`: hazm's normalizer, Arabic and
Persian digits to Latin, Arabic letters to Persian), then read sentence by sentence
(`normalization.sentences`) with cue lists, in formal and colloquial forms (داریم / داریم
می‌سازیم / می‌خوایم / تومن). Amounts are numbers in any digit script or number words («یک و
نیم»), with a scale (هزار / میلیون / میلیارد / همت) and a currency (ریال / تومان; toman when
none is given, at lower confidence). Places come from a gazetteer of the provinces and their
main cities; a sentence where the team places itself («ما در تبریز هستیم», «تو رشت») beats a
mere mention. Sectors come from the caller's sector vocabulary (slug -> Persian terms);
a term followed in its clause by a negation (نیست / نیستیم / نمی‌… / نداریم) counts against
that sector instead. A learned `sector_model.SectorModel`, when given, orders the rules'
sectors and reads them where the rules find none (`sector_model.combine`).

Corrections: staff and applicants see these facts and may correct any of them;
`PlanFacts.corrected(mapping)` applies corrections with confidence 1.

The plan text is confidential: nothing here logs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from recommender.constants import STAGES
from recommender.errors import InvalidInputError, bilingual
from recommender.text.normalization import normalize
from recommender.text.sector_model import SectorModel, combine

__all__ = [
    "FACT_NAMES",
    "FUNDING_KINDS",
    "Fact",
    "PlanFacts",
    "PROVINCE_CITIES",
    "read_facts",
]

FUNDING_KINDS: tuple[str, ...] = ("grant", "equity", "loan")
FACT_NAMES: tuple[str, ...] = (
    "stage", "province", "city", "needs_residency", "funding_ask", "funding_kind",
    "knowledge_based", "team_size", "sectors", "not_sectors",
)

#: Provinces and their main cities (the gazetteer of place facts).
PROVINCE_CITIES: dict[str, tuple[str, ...]] = {
    "تهران": ("تهران", "شهریار", "اسلامشهر", "ورامین", "پردیس", "دماوند", "ری"),
    "البرز": ("کرج", "فردیس", "نظرآباد", "هشتگرد"),
    "اصفهان": ("اصفهان", "کاشان", "نجف‌آباد", "خمینی‌شهر", "شاهین‌شهر"),
    "فارس": ("شیراز", "مرودشت", "کازرون", "جهرم", "فسا", "لار"),
    "خراسان رضوی": ("مشهد", "نیشابور", "سبزوار", "تربت حیدریه", "قوچان"),
    "خراسان جنوبی": ("بیرجند", "قائن", "فردوس", "طبس"),
    "خراسان شمالی": ("بجنورد", "شیروان"),
    "آذربایجان شرقی": ("تبریز", "مراغه", "مرند", "میانه"),
    "آذربایجان غربی": ("ارومیه", "خوی", "مهاباد", "میاندوآب"),
    "اردبیل": ("اردبیل", "مشگین‌شهر"),
    "گیلان": ("رشت", "انزلی", "بندر انزلی", "لاهیجان", "لنگرود", "آستارا", "تالش"),
    "مازندران": ("ساری", "بابل", "آمل", "قائم‌شهر", "نوشهر", "چالوس", "بابلسر"),
    "گلستان": ("گرگان", "گنبد کاووس", "گنبد"),
    "خوزستان": ("اهواز", "آبادان", "دزفول", "خرمشهر", "بندر ماهشهر", "شوشتر"),
    "کرمان": ("کرمان", "رفسنجان", "سیرجان", "جیرفت", "بم", "زرند"),
    "یزد": ("یزد", "میبد", "اردکان"),
    "هرمزگان": ("بندرعباس", "قشم", "کیش", "میناب"),
    "بوشهر": ("بوشهر", "عسلویه", "کنگان"),
    "سیستان و بلوچستان": ("زاهدان", "چابهار", "زابل", "ایرانشهر"),
    "کرمانشاه": ("کرمانشاه",),
    "کردستان": ("سنندج", "سقز", "مریوان"),
    "همدان": ("همدان", "ملایر"),
    "لرستان": ("خرم‌آباد", "بروجرد"),
    "ایلام": ("ایلام",),
    "مرکزی": ("اراک", "ساوه"),
    "قم": ("قم",),
    "قزوین": ("قزوین", "تاکستان"),
    "زنجان": ("زنجان",),
    "سمنان": ("سمنان", "شاهرود"),
    "چهارمحال و بختیاری": ("شهرکرد",),
    "کهگیلویه و بویراحمد": ("یاسوج",),
}

# ------------------------------------------------------------------ cue lists (normalized)

_NEG = re.compile(r"(?:نیست(?:یم|ند)?|نمی‌?\S*|ن(?:دار|کرد|ساخت|داد|گرفت)\S*|نه)")
_STAGE_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "idea": (
        (r"مرحل(?:ه|هٔ) ایده", 3.0), (r"در حد ایده", 3.0), (r"فقط ایده", 3.0),
        (r"(?:فعلا|فعلاً|هنوز)\s+(?:در حد |تو مرحله |در مرحله )?ایده", 3.0),
        (r"ایده(?:‌مون| ما|مان)", 1.5), (r"روی کاغذ", 2.0), (r"هیچی نساختیم", 3.0),
        (r"هنوز\s+\S*\s*(?:نساخته|نداریم)", 1.5), (r"می‌?خواه?یم\s+\S+\s+(?:بسازیم|راه)", 1.0),
        (r"می‌?خوایم", 0.5), (r"طراحی اولیه", 1.0), (r"فقط نمونه دست‌ساز", 2.0),
        (r"\bidea\b", 2.0), (r"نمونه اولیه روی میز", 2.0),
    ),
    "mvp": (
        (r"\bmvp\b", 3.0), (r"نسخه (?:اول|اولیه|آزمایشی)", 2.5), (r"نمونه اولیه", 1.5),
        (r"\bpilot\b|پایلوت", 2.0), (r"آزمایش (?:می‌کنند|میدانی)", 1.5),
        (r"(?:نصب شده|آماده است|آماده‌ست|بالا اومده|منتشر شده)", 1.5),
        (r"در حال ارزیابی", 1.5), (r"قرارداد آزمایشی", 2.0), (r"\bbeta\b|بتا", 2.0),
        (r"کاربر دار|\d+ کاربر", 1.0), (r"prototype", 1.0),
    ),
    "early_revenue": (
        (r"درآمد (?:داریم|داره|دارد)", 3.0), (r"فروش (?:داریم|سال|ماه)", 2.5),
        (r"مشتری (?:ما|مون|پرداخت)|مشتریمون|مشتریان ما", 2.0),
        (r"\d+\s*(?:تا\s+)?(?:مشتری|سفارش|مهمان|شاگرد|بیمار|مشترک)", 2.0),
        (r"سفارش (?:داریم|داشتیم|می‌گیریم)", 2.0), (r"اشتراک (?:ماهانه )?(?:پرداخت|میدن)", 2.0),
        (r"قرارداد (?:صنعتی )?بسته", 2.5), (r"کمیسیون می‌گیریم", 2.5), (r"\bmrr\b", 3.0),
        (r"(?:در آمد|درآمد) ماهانه", 2.0), (r"تسویه می‌شود", 1.5), (r"\d+ قرارداد", 2.0),
        (r"فروش (?:آنلاین|اینترنتی|می‌رود|داشت)", 0.5), (r"می‌فروشیم|میفروشیم", 1.5),
    ),
    "growth": (
        (r"series\s*a|سری\s*a|سری ای", 4.0), (r"سودده", 3.0), (r"درآمد سالانه", 2.0),
        (r"رشد ماهانه|ماهانه \d+\s*%\s*رشد|\d+\s*% رشد", 2.5), (r"توسعه منطقه‌ای", 1.0),
        (r"\d{2,} نفر کارمند|تیم \d{2,} نفره", 1.5), (r"شهرهای دیگر", 1.0),
        (r"گلخانه (?:جدید|های جدید)|خط تولید جدید", 0.5),
    ),
}
_STAGE_PATTERNS = {s: [(re.compile(p, re.I), w) for p, w in cues] for s, cues in
                   _STAGE_CUES.items()}

_NEED = r"(?:نیاز|لازم|می‌?خواه?یم|می‌?خوایم|می‌?خوام|دنبال|احتیاج)"
_SPACE = r"(?:فضای? (?:کار|کارگاهی|بزرگ‌تر)|دفتر|جای? کار|جا(?:یی)? (?:برای|که)|محل استقرار|" \
         r"کارگاه|استودیو|استقرار|مستقر|آزمایشگاه|اتاق تمیز|زمین)"
_RESIDENCY_YES = re.compile(rf"{_SPACE}[^.!؟?\n]{{0,60}}{_NEED}|{_NEED}[^.!؟?\n]{{0,40}}{_SPACE}")
_RESIDENCY_NO = re.compile(
    r"(?:دفتر|جای کار|فضای کار)\s+(?:لازم|نیاز)\s+ن|دورکاری|از راه دور (?:شرکت|کار)|"
    r"از هر جای|دفتر (?:داریم|تو \S+ داریم)|حضور فیزیکی لازم نیست"
)

_ASK = re.compile(r"نیاز|لازم|می‌?خواه?یم|می‌?خوایم|دنبال|جذب|درخواست|برای seed|round")
_NOT_ASK = re.compile(r"درآمد|فروش|تسویه|\bmrr\b|گردش|قیمت|ارزش|هزینه", re.I)
_GRANT = re.compile(r"بلاعوض|بلا عوض|هدیه|کمک (?:مالی )?(?:کوچیک|کوچک)|\bgrant\b", re.I)
_EQUITY = re.compile(r"سهام|سرمایه‌?گذار|سرمایه (?:در ازای|می‌خواهیم|می‌خوایم)|series|سری\s*a|"
                     r"\bseed\b|دور سرمایه|جذب سرمایه|دنبال سرمایه|سرمایه\S* (?:لازم|نیاز)", re.I)
_LOAN = re.compile(r"\bوام|تسهیلات|قرض")
_SCALES = {"هزار": 1e3, "میلیون": 1e6, "ملیون": 1e6, "میلیارد": 1e9, "ملیارد": 1e9,
           "همت": 1e12}
_NUMBER_WORDS = {
    "یک": 1, "یه": 1, "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "شیش": 6, "هفت": 7,
    "هشت": 8, "نه": 9, "ده": 10, "دوازده": 12, "پانزده": 15, "بیست": 20, "سی": 30,
    "چهل": 40, "پنجاه": 50, "صد": 100, "دویست": 200, "سیصد": 300, "چهارصد": 400,
    "پانصد": 500, "ششصد": 600, "هفتصد": 700, "هشتصد": 800, "نهصد": 900,
}
_WORDS = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_NUM = rf"\d+(?:[.,]\d+)*|(?:{_WORDS})(?: و (?:نیم|{_WORDS}))?"
_MONEY = re.compile(
    rf"(?<![\w\d.])({_NUM})\s*(?:و نیم\s*)?(هزار|میلیون|ملیون|میلیارد|ملیارد|همت)\s*"
    r"(تومان|تومن|ریال|ریالی|تومانی)?"
)
_KB_YES = re.compile(r"دانش‌?بنیان(?!\s+(?:نیست|نیستیم|نشده))")
_KB_NO = re.compile(r"دانش‌?بنیان\s+(?:نیست|نیستیم|نشده)")
_TEAM = (
    re.compile(rf"تیم\s+(?:ما\s+)?(\d+|{_WORDS})\s*نفر"),
    re.compile(rf"(\d+|{_WORDS})\s*(?:نفر|تا)?\s*(?:کارمند|نفره|نفریم|نفر هستیم|نفر است|نفر)"),
    re.compile(rf"ما\s+(\d+|{_WORDS})\s+(?:تا\s+)?(?:مهندس|داروساز|دانشجو|نفر)"),
)
_TEAM_CONTEXT = re.compile(r"تیم|نفریم|نفره|کارمند|ما \S+ تا|ما (?:دو|سه|چهار) ")
_SELF_PLACE = re.compile(r"(?:ما|تیم\S*|دفتر\S*|شرکت ما|کارگاه\S*)[^.!؟?\n]{0,40}$|^(?:تو|در) ")
_SELF_AFTER = re.compile(r"^\s*(?:هستیم|هستیم\.|یم|ایم|مستقر|است|ساکن)")


@dataclass(frozen=True)
class Fact:
    """One fact read from a plan.

    Attributes:
        value: the value (None: the plan does not say).
        confidence: how sure the reading is, 0..1 (1: given or corrected by a person).
        span: (start, end) of the evidence in the normalized plan, when there is one.
    """

    value: Any = None
    confidence: float = 0.0
    span: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"value": value, "confidence": round(float(self.confidence), 2)}


@dataclass(frozen=True)
class PlanFacts:
    """What a plan says about its startup (see the module docstring)."""

    stage: Fact = field(default_factory=Fact)
    province: Fact = field(default_factory=Fact)
    city: Fact = field(default_factory=Fact)
    needs_residency: Fact = field(default_factory=Fact)
    funding_ask: Fact = field(default_factory=Fact)
    funding_kind: Fact = field(default_factory=Fact)
    knowledge_based: Fact = field(default_factory=Fact)
    team_size: Fact = field(default_factory=Fact)
    sectors: Fact = field(default_factory=lambda: Fact((), 0.0))
    not_sectors: Fact = field(default_factory=lambda: Fact((), 0.0))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """{name: {"value": ..., "confidence": ...}} for JSON (the API's and CLI's `facts`)."""
        return {name: getattr(self, name).to_dict() for name in FACT_NAMES}

    def value(self, name: str, min_confidence: float = 0.0) -> Any:
        """The value of fact `name` when read with at least `min_confidence`, else None."""
        fact = getattr(self, name)
        return fact.value if fact.confidence >= min_confidence else None

    def corrected(self, corrections: Mapping[str, Any] | None) -> PlanFacts:
        """These facts with a person's corrections applied (confidence 1).

        Args:
            corrections: fact name -> value (None clears a fact: "the plan does not say").

        Raises:
            InvalidInputError: an unknown fact name or an invalid value.
        """
        if not corrections:
            return self
        updates: dict[str, Fact] = {}
        for name, value in corrections.items():
            if name not in FACT_NAMES:
                raise InvalidInputError(
                    bilingual(
                        f"unknown fact '{name}'; use one of: {', '.join(FACT_NAMES)}",
                        f"ویژگی «{name}» شناخته نیست؛ یکی از اینها: {'، '.join(FACT_NAMES)}",
                    )
                )
            updates[name] = Fact(_checked(name, value), 1.0 if value is not None else 0.0)
        return replace(self, **updates)


def _checked(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "stage" and value not in STAGES:
        raise InvalidInputError(
            bilingual(
                f"unknown stage '{value}'; use one of: {', '.join(STAGES)}",
                f"مرحلهٔ «{value}» شناخته نیست؛ یکی از اینها: {'، '.join(STAGES)}",
            )
        )
    if name == "funding_kind" and value not in FUNDING_KINDS:
        raise InvalidInputError(
            bilingual(
                f"unknown funding kind '{value}'; use: {', '.join(FUNDING_KINDS)}",
                f"نوع تأمین مالی «{value}» شناخته نیست؛ یکی از اینها: {'، '.join(FUNDING_KINDS)}",
            )
        )
    if name in ("needs_residency", "knowledge_based") and not isinstance(value, bool):
        raise InvalidInputError(
            bilingual(f"{name} must be true or false", f"{name} باید true یا false باشد")
        )
    if name in ("funding_ask", "team_size"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInputError(
                bilingual(
                    f"{name} must be a whole number >= 0", f"{name} باید عدد صحیح نامنفی باشد"
                )
            )
    if name in ("sectors", "not_sectors"):
        if isinstance(value, str) or not all(isinstance(s, str) for s in value):
            raise InvalidInputError(
                bilingual(
                    f"{name} must be a list of sector slugs",
                    f"{name} باید فهرستی از شناسه‌های حوزه باشد",
                )
            )
        return tuple(value)
    if name in ("province", "city") and not isinstance(value, str):
        raise InvalidInputError(
            bilingual(f"{name} must be a place name", f"{name} باید نام یک مکان باشد")
        )
    return value


# ------------------------------------------------------------------ readers


def _sentences(text: str) -> list[tuple[int, str]]:
    """(start offset, sentence) of the normalized text, split at . ! ? ؟ ; and newlines."""
    out, start = [], 0
    for match in re.finditer(r"[.!?؟;\n]+(?=\s|$)|\n", text):
        out.append((start, text[start : match.end()]))
        start = match.end()
    if start < len(text):
        out.append((start, text[start:]))
    return [(s, t) for s, t in out if t.strip()]


def _number(token: str) -> float | None:
    token = token.strip()
    if re.fullmatch(r"\d+(?:,\d{3})+", token):
        return float(token.replace(",", ""))
    if re.fullmatch(r"\d+(?:[.,]\d+)?", token):
        return float(token.replace(",", "."))
    parts = token.split(" و ")
    total = 0.0
    for part in parts:
        if part == "نیم":
            total += 0.5
        elif part in _NUMBER_WORDS:
            total += _NUMBER_WORDS[part]
        else:
            return None
    return total


def _stage(sentences: Sequence[tuple[int, str]]) -> Fact:
    scores = dict.fromkeys(STAGES, 0.0)
    spans: dict[str, tuple[int, int]] = {}
    for start, sentence in sentences:
        for stage, patterns in _STAGE_PATTERNS.items():
            for pattern, weight in patterns:
                m = pattern.search(sentence)
                if m:
                    scores[stage] += weight
                    spans.setdefault(stage, (start + m.start(), start + m.end()))
    # an idea stated outright outranks any "we will sell" talk
    if scores["idea"] >= 3.0:
        scores["idea"] += 2.0
    if scores["growth"] >= 3.0:
        scores["growth"] += 2.0
    best = max(STAGES, key=lambda s: (scores[s], STAGES.index(s)))
    total = sum(scores.values())
    if scores[best] <= 0:
        return Fact()
    confidence = min(0.95, 0.35 + 0.6 * scores[best] / total) if total else 0.0
    return Fact(best, round(confidence, 2), spans.get(best))


def _places(text: str, sentences: Sequence[tuple[int, str]]) -> tuple[Fact, Fact]:
    found: list[tuple[float, int, str, str, tuple[int, int]]] = []
    for province, cities in PROVINCE_CITIES.items():
        for name, is_city in [(province, False), *((c, True) for c in cities)]:
            for m in re.finditer(rf"(?<![\w‌]){re.escape(name)}(?![\w‌])", text):
                before = text[max(0, m.start() - 45) : m.start()]
                after = text[m.end() : m.end() + 12]
                score = 1.0
                if re.search(r"(?:ما|تیم\S*|دفتر\S*|شرکت\S*|کارگاه\S*|کارخانه\S*|ساکن|بومی)"
                             r"[^.!؟?\n]{0,45}$", before) or re.search(
                        r"(?:^|\s)(?:تو|در) $", before):
                    score += 1.0
                if _SELF_AFTER.search(after) or re.match(r"^\S*\s*(?:هستیم|مستقر|یم)", after):
                    score += 1.0
                if re.search(r"(?:به|از) $", before):
                    score -= 0.3
                found.append((score, -m.start(), province, name if is_city else "",
                              (m.start(), m.end())))
    if not found:
        return Fact(), Fact()
    found.sort(reverse=True)
    score, _, province, city, span = found[0]
    if not city:  # a province named: its city when one of its cities is named too
        same_province = [f for f in found if f[2] == province and f[3]]
        if same_province:
            city = same_province[0][3]
    if province == "تهران" and city == "" and score < 2:
        city = ""
    confidence = 0.9 if score >= 2 else 0.6
    city_fact = Fact(city, confidence - 0.1, span) if city else Fact()
    return Fact(province, confidence, span), city_fact


def _residency(sentences: Sequence[tuple[int, str]]) -> Fact:
    for start, sentence in sentences:
        m = _RESIDENCY_NO.search(sentence)
        if m:
            return Fact(False, 0.75, (start + m.start(), start + m.end()))
    for start, sentence in sentences:
        m = _RESIDENCY_YES.search(sentence)
        if m and not re.search(r"(?:لازم|نیاز)\s+ن", sentence):
            return Fact(True, 0.8, (start + m.start(), start + m.end()))
    return Fact()


def _funding(sentences: Sequence[tuple[int, str]]) -> tuple[Fact, Fact]:
    best: tuple[float, float, tuple[int, int], bool] | None = None
    kind_scores = dict.fromkeys(FUNDING_KINDS, 0.0)
    for start, sentence in sentences:
        asks = bool(_ASK.search(sentence))
        if asks or re.search(r"سرمایه|کمک|وام|تسهیلات", sentence):
            for kind, pattern in (("grant", _GRANT), ("equity", _EQUITY), ("loan", _LOAN)):
                if pattern.search(sentence):
                    kind_scores[kind] += 2.0 if asks else 1.0
        for m in _MONEY.finditer(sentence):
            number = _number(m.group(1))
            if number is None:
                continue
            amount = number * _SCALES[m.group(2)]
            currency = m.group(3) or ""
            currency_known = bool(currency)
            amount *= 1.0 if currency.startswith("ریال") else 10.0
            before = sentence[max(0, m.start() - 40) : m.start()]
            score = (2.0 if asks else 0.0) + (1.0 if re.search(
                r"سرمایه|کمک|وام|تسهیلات|بودجه|seed|round", sentence, re.I) else 0.0)
            if _NOT_ASK.search(before):
                score -= 3.0
            if score > 0 and (best is None or score > best[0]):
                best = (score, amount, (start + m.start(), start + m.end()), currency_known)
    ask = Fact()
    if best is not None:
        confidence = 0.85 if best[3] else 0.6
        ask = Fact(int(round(best[1])), confidence, best[2])
    kind = max(FUNDING_KINDS, key=lambda k: kind_scores[k])
    kind_fact = Fact(kind, min(0.9, 0.4 + 0.15 * kind_scores[kind])) \
        if kind_scores[kind] > 0 else Fact()
    return ask, kind_fact


def _knowledge_based(text: str) -> Fact:
    m = _KB_NO.search(text)
    if m:
        return Fact(False, 0.9, (m.start(), m.end()))
    m = _KB_YES.search(text)
    if m:
        return Fact(True, 0.85, (m.start(), m.end()))
    return Fact()


def _team(text: str) -> Fact:
    if re.search(r"(?:^|[.\n] *)من\s", text) and not re.search(r"\bما\b|تیم|نفر", text):
        return Fact(1, 0.5)
    for i, pattern in enumerate(_TEAM):
        for m in pattern.finditer(text):
            context = text[max(0, m.start() - 20) : m.end() + 5]
            if i == 1 and not _TEAM_CONTEXT.search(context):
                continue
            if re.search(r"هزار|میلیون|تن\b|هکتار|%|درصد", text[m.end() : m.end() + 10]):
                continue
            number = _number(m.group(1))
            if number and 1 <= number <= 5000:
                return Fact(int(number), 0.8 if i != 1 else 0.7, (m.start(), m.end()))
    return Fact()


def _sector_patterns(
    sector_terms: Mapping[str, Sequence[str]]
) -> list[tuple[str, re.Pattern[str], float]]:
    """(slug, compiled term, weight) for every term, normalized once per vocabulary."""
    key = tuple((slug, tuple(terms)) for slug, terms in sector_terms.items())
    cached = _PATTERN_CACHE.get(key)
    if cached is None:
        cached = []
        for slug, terms in key:
            for term in dict.fromkeys(normalize(t) for t in terms):
                if len(term) >= 3:
                    weight = 1.0 + 0.3 * min(len(term.split()), 3)
                    cached.append((slug, re.compile(rf"(?<![\w‌]){re.escape(term)}", re.I),
                                   weight))
        if len(_PATTERN_CACHE) > 8:
            _PATTERN_CACHE.clear()
        _PATTERN_CACHE[key] = cached
    return cached


_PATTERN_CACHE: dict[Any, list[tuple[str, re.Pattern[str], float]]] = {}


def _sectors(
    sentences: Sequence[tuple[int, str]], sector_terms: Mapping[str, Sequence[str]]
) -> tuple[Fact, Fact]:
    positive: dict[str, float] = {}
    negative: dict[str, float] = {}
    patterns = _sector_patterns(sector_terms)
    for _, sentence in sentences:
        for clause in re.split(r"[،,؛:]| ولی | اما | و با ", sentence):
            for slug, pattern, weight in patterns:
                m = pattern.search(clause)
                if not m:
                    continue
                tail = clause[m.end() : m.end() + 30]
                if _NEG.search(tail.split(" و ")[0]) and re.search(r"نیست|نمی|ندار", tail):
                    negative[slug] = negative.get(slug, 0.0) + weight
                else:
                    positive[slug] = positive.get(slug, 0.0) + weight
    not_sectors = tuple(sorted(s for s, w in negative.items() if w >= positive.get(s, 0.0)))
    scored = {s: w - negative.get(s, 0.0) for s, w in positive.items() if s not in not_sectors}
    ranked = sorted((s for s, w in scored.items() if w >= 1.0), key=lambda s: -scored[s])
    top = ranked[:2]
    if len(top) == 2 and scored[top[1]] < 0.5 * scored[top[0]]:
        top = top[:1]
    sectors = Fact(tuple(top), min(0.9, 0.3 + 0.1 * sum(scored[s] for s in top))) if top \
        else Fact((), 0.0)
    return sectors, Fact(not_sectors, 0.8 if not_sectors else 0.0)


def read_facts(
    text: str,
    sector_terms: Mapping[str, Sequence[str]] | None = None,
    sector_model: SectorModel | None = None,
) -> PlanFacts:
    """Read the facts a plan states about itself.

    Args:
        text: the plan (raw or normalized; normalized here).
        sector_terms: Persian names/keywords per sector slug (recommender/sectors.json via the
            caller); without them no sector is read by the rules.
        sector_model: a learned sector reader (`sector_model.SectorModel`); with it, the
            rules' sectors are ordered by the model and the model reads the sectors of a
            plan whose keywords the rules do not find (`sector_model.combine`). The sectors
            the rules read as denied are always removed.

    Returns:
        The facts, each with its confidence (0 and None when the plan does not say).
    """
    normalized = normalize(text or "")
    if not normalized.strip():
        return PlanFacts()
    sentences = _sentences(normalized)
    province, city = _places(normalized, sentences)
    ask, kind = _funding(sentences)
    sectors, not_sectors = _sectors(sentences, sector_terms or {})
    if sector_model is not None:
        found, confidence = combine((sectors.value, sectors.confidence), not_sectors.value,
                                    sector_model.probabilities(normalized, normalized=True))
        sectors = Fact(found, confidence)
    return PlanFacts(
        stage=_stage(sentences),
        province=province,
        city=city,
        needs_residency=_residency(sentences),
        funding_ask=ask,
        funding_kind=kind,
        knowledge_based=_knowledge_based(normalized),
        team_size=_team(normalized),
        sectors=sectors,
        not_sectors=not_sectors,
    )
