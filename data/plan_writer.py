"""Writing one synthetic Persian business plan (`generate_plan`) from the sentence pools of
`data.plan_vocabulary`: a drawn style (register, digits, Arabic letters, English terms,
headings, money unit), sentences per section until a drawn length, then the text variations
(`_vary`: implied domain, a negated sector, mixed sectors, paraphrases) from their own random
source, so they change no fact or outcome of the history (`data.synthetic`).
"""

from __future__ import annotations

import math
import random
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from recommender.constants import STAGE_LABELS_FA

from .catalog import load_programs
from .plan_vocabulary import (
    AR_DIGITS,
    ARABIC_LETTERS,
    ASK,
    FA_DIGITS,
    GENERIC_EN,
    HEADINGS,
    IMPLIED,
    KNOWLEDGE_BASED,
    NEGATION,
    NO_ASK,
    PARAPHRASE_COLLOQUIAL,
    PARAPHRASE_NEUTRAL,
    POOLS,
    RESIDENCY,
    SECTION_ORDER,
    STAGE_SENTENCE,
    TRACTION,
)

__all__ = ["generate_plan"]


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


def _word_pattern(table: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    words = sorted(table, key=len, reverse=True)
    return re.compile(r"(?<![\w\u200c])(" + "|".join(map(re.escape, words)) + r")(?![\w\u200c])")


_NEUTRAL_RE = _word_pattern(PARAPHRASE_NEUTRAL)
_COLLOQUIAL_RE = _word_pattern(PARAPHRASE_COLLOQUIAL)


def _paraphrase(text: str, rng: random.Random, rate: float, colloquial: bool) -> str:
    """Reword a share `rate` of the known phrases of one sentence."""
    if rate <= 0:
        return text

    def swap(table: dict[str, tuple[str, ...]]) -> Callable[[re.Match[str]], str]:
        return lambda m: rng.choice(table[m.group(1)]) if rng.random() < rate else m.group(1)

    text = _NEUTRAL_RE.sub(swap(PARAPHRASE_NEUTRAL), text)
    return _COLLOQUIAL_RE.sub(swap(PARAPHRASE_COLLOQUIAL), text) if colloquial else text


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
        return text.translate(FA_DIGITS).replace(",", "٬")
    if style.digits == "ar":
        return text.translate(AR_DIGITS).replace(",", "٬")
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
                slots[name] = rng.choice(GENERIC_EN)
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
                IMPLIED[self.primary["slug"]], 3)
        if self.implied and "en" in shown:
            shown["en"] = self.variety.choice(GENERIC_EN)
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
        return writer.sentence("noise", POOLS["noise"])
    return writer.sentence(section, POOLS[section])


def _render(sections: dict[str, list[str]], style: _PlanStyle, rng: random.Random) -> str:
    blocks: list[str] = []
    number = 0
    for name in SECTION_ORDER:
        sentences = sections[name]
        if not sentences:
            continue
        number += 1
        body = " ".join(sentences)
        if style.headings == "markdown":
            blocks.append(f"## {HEADINGS[name]}\n{body}")
        elif style.headings == "numbered":
            blocks.append(f"{_fmt_int(number, style)}. {HEADINGS[name]}\n{body}")
        elif style.headings == "colon":
            blocks.append(f"{HEADINGS[name]}: {body}")
        else:
            blocks.append(body)
    separator = "\n\n" if style.headings != "none" or rng.random() < 0.5 else "\n"
    return separator.join(blocks)


def _apply_arabic_letters(text: str, mode: str, rng: random.Random) -> str:
    if mode == "all":
        return text.translate(ARABIC_LETTERS)
    if mode == "partial":  # e.g. one pasted section typed on an Arabic keyboard
        blocks = text.split("\n")
        chosen = {i for i in range(len(blocks)) if rng.random() < 0.5} or {0}
        return "\n".join(b.translate(ARABIC_LETTERS) if i in chosen else b
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
    sections: dict[str, list[str]] = {name: [] for name in SECTION_ORDER}
    sections["intro"].append(_section_sentence(writer, "intro"))
    sections["problem"].append(_section_sentence(writer, "problem"))
    sections["solution"].append(_section_sentence(writer, "solution"))
    sections["traction"].append(writer.sentence("traction", TRACTION[app["stage"]]))
    if rng.random() < 0.4:
        sections["traction"].insert(0, writer.sentence("stage", STAGE_SENTENCE))
    ask_pool = ASK if app["funding_ask"] > 0 else NO_ASK
    sections["ask"].append(writer.sentence("ask", ask_pool))
    sections["ask"].append(writer.sentence("residency", RESIDENCY[app["needs_residency"]]))
    if rng.random() < 0.6:
        sections["team"].append(writer.sentence("kb", KNOWLEDGE_BASED[app["knowledge_based"]]))
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
        denial = extra.variant(extra.sentence("negation", NEGATION))
        shown[place].append(denial)
    mixed = bool(secondary) and variety.random() < _P_MIXED
    if mixed:  # the secondary sector gets sentences of its own, written like the primary's
        other = _PlanWriter(variety, style, secondary, primary, writer.noise_sectors,
                            writer.facts, variety=variety,
                            paraphrase_rate=writer.paraphrase_rate)
        for section in variety.sample(("problem", "solution", "elaboration", "market"), 3):
            pools = {register: [t for t in pool if "{k" in t]
                     for register, pool in POOLS[section].items()}
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
                                                                 POOLS["elaboration"])))
        text = render()
    if negated and not any(denial in part for part in shown.values()):
        negated = None  # cut by the length guard
    return text, {"implied_domain": writer.implied, "negated_sector": negated,
                  "mixed_sectors": mixed, "paraphrase_rate": writer.paraphrase_rate}
