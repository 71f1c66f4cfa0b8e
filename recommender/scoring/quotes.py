"""Which sentences of a plan may be quoted in a reason, and how a quote is cut.

A reason quotes the plan to show *why* a program fits; a quote that is a lone word
(«همچنین»), the startup's name, a section heading or a few words cut from a longer
sentence shows nothing. So a sentence is **quotable** only when all of these hold:

1. it is not a heading: a line of its own (not a list item) that ends with «:», starts with
   «#», or has no sentence end (. ! ? ؟ ؛ …) and fewer than `HEADING_MAX_WORDS` words, or is
   the first of the plan's lines and has no sentence mark at all (its title, however long) (a
   title, «تحلیل بازار», «خلاصهٔ طرح»);
2. what is left after its list marker («-»، «•»، «۱.»، «الف)») and a leading connective
   («همچنین»، «بنابراین»، «اما»، «علاوه بر این»…, see `CONNECTIVES`) has at least
   `MIN_WORDS` words and at least `MIN_CONTENT_WORDS` content words (hazm's stop words,
   numbers and words of one or two letters do not count);
3. it says more than the startup's name: at least `MIN_CONTENT_WORDS` of its content words are
   not words of that name (checked by the caller, which knows the name).

Sentences are lines, cut after . ! ? ؟ … followed by a space (not at «؛», which joins two
halves of one thought); a list item's text is one sentence or more.
A quotable sentence longer than the limit is cut at its last clause mark
(«،» «؛» «:») past half the limit, else at a word boundary, and ends with «…»; the cut quote
must still have `MIN_CONTENT_WORDS` content words, else the word-boundary cut is used. When
no sentence qualifies the reason quotes nothing rather than something bad.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "CONNECTIVES",
    "HEADING_MAX_WORDS",
    "MIN_CONTENT_WORDS",
    "MIN_WORDS",
    "PlanSentence",
    "content_words",
    "plan_sentences",
    "shorten",
]

#: A quote needs at least this many words in all ...
MIN_WORDS = 6
#: ... and this many content words (not stop words, not numbers, three letters or more).
MIN_CONTENT_WORDS = 4
#: A line without a sentence end and with fewer words than this is a heading.
HEADING_MAX_WORDS = 8

#: Words that tie a sentence to the one before; dropped from the start of a quote.
CONNECTIVES: tuple[str, ...] = (
    "علاوه بر این", "افزون بر این", "از سوی دیگر", "از طرف دیگر", "به همین دلیل",
    "به همین منظور", "در نتیجه", "در ادامه", "در ضمن", "از این رو", "به علاوه", "با این حال",
    "همچنین", "بنابراین", "ضمنا", "ضمناً", "سپس", "لذا", "البته", "اما", "ولی", "پس", "و", "نیز",
)

_WORD = re.compile(r"[\w\u200c]+", re.UNICODE)
_LINE = re.compile(r"[^\n]+")
_SENTENCE_END = re.compile(r"(?<=[.!?؟…])\s+")
_LIST_MARKER = re.compile(
    r"^\s*(?:[-–—•*▪●◦·]+|\(?(?:[0-9۰-۹]{1,3}|الف|[آ-ی])[.)\-:](?=\s))\s*"
)
_CONNECTIVE = re.compile(
    r"^(?:" + "|".join(re.escape(c) for c in CONNECTIVES) + r")(?![\w\u200c])[\s،,:]*"
)
_ENDS_SENTENCE = re.compile(r"[.!?؟؛…]\s*$")
_SENTENCE_MARK = re.compile(r"[.!?؟؛…]")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    import hazm

    return frozenset(hazm.stopwords_list())


def content_words(text: str) -> set[str]:
    """The content words of `text`: case-folded words of three letters or more that are not
    hazm stop words nor numbers."""
    stop = _stopwords()
    return {
        w for w in (m.group(0).casefold() for m in _WORD.finditer(text))
        if len(w) > 2 and w not in stop and not w.isdigit()
    }


@dataclass(frozen=True)
class PlanSentence:
    """One sentence of a plan.

    Attributes:
        span: (start, end) of the whole sentence in the plan.
        quote: (start, end) of the part a reason may quote (no list marker, no leading
            connective), or None when the sentence is not quotable.
        words: its content words.
    """

    span: tuple[int, int]
    quote: tuple[int, int] | None
    words: frozenset[str]


def _n_words(text: str) -> int:
    return len(_WORD.findall(text))


def _is_heading(line: str, listed: bool) -> bool:
    text = line.strip()
    if text.endswith((":", "：")) or text.startswith("#"):
        return True
    return not listed and not _ENDS_SENTENCE.search(text) and _n_words(text) < HEADING_MAX_WORDS


def _quotable(text: str, start: int) -> tuple[int, int] | None:
    """(start, end) of the quotable part of one sentence at `start`, or None."""
    cut = _CONNECTIVE.match(text)
    lead = cut.end() if cut else 0
    body = text[lead:].rstrip()
    if _n_words(body) < MIN_WORDS or len(content_words(body)) < MIN_CONTENT_WORDS:
        return None
    return start + lead, start + lead + len(body)


def plan_sentences(text: str) -> list[PlanSentence]:
    """The sentences of a (normalized) plan, in order, with what each lets a reason quote.

    Args:
        text: the plan.

    Returns:
        One `PlanSentence` per non-empty sentence (spans index `text`).
    """
    out: list[PlanSentence] = []
    lines = list(_LINE.finditer(text))
    for number, line in enumerate(lines):
        raw = line.group(0)
        marker = _LIST_MARKER.match(raw)
        listed = marker is not None and marker.end() < len(raw)
        # the first of several lines, without a sentence end, is the title, however long
        title = number == 0 and len(lines) > 1 and not _SENTENCE_MARK.search(raw)
        heading = title or _is_heading(raw, listed)
        pos = line.start() + (marker.end() if listed and marker else 0)
        body = text[pos : line.end()]
        offset = 0
        for part in _SENTENCE_END.split(body):
            found = body.find(part, offset)
            offset = found + len(part)
            if not part.strip():
                continue
            lead = len(part) - len(part.lstrip())
            a = pos + found + lead
            b = pos + found + len(part.rstrip())
            quote = None if heading else _quotable(text[a:b], a)
            out.append(PlanSentence((a, b), quote, frozenset(content_words(text[a:b]))))
    return out


def shorten(text: str, limit: int, extra_stop: Iterable[str] = ()) -> tuple[str, int]:
    """(quote, length used): `text` without its end mark, cut to `limit` characters.

    Args:
        text: one quotable sentence.
        limit: the longest quote, in characters (without the «…»).
        extra_stop: not used to count content words (e.g. the startup's name).

    Returns:
        The quote («…» at the end when cut) and how many characters of `text` it shows.
    """
    body = text.strip().rstrip(".؛!؟?…:")
    if len(body) <= limit:
        return body, len(body)
    ignore = set(extra_stop)
    space = body.rfind(" ", 0, limit + 1)
    cuts = [space if space > limit // 2 else limit]
    clause = max(body.rfind(mark, 0, limit) for mark in ("،", "؛", ":", ","))
    if clause > limit // 2:
        cuts.insert(0, clause)
    for cut in cuts:
        piece = body[:cut].rstrip("،؛:, ")
        if len(content_words(piece) - ignore) >= MIN_CONTENT_WORDS:
            return piece + "…", len(piece)
    piece = body[: cuts[-1]].rstrip("،؛:, ")
    return piece + "…", len(piece)
