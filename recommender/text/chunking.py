"""Sentence-aware chunking of long texts for an embedding model with a token limit.

A business plan can run to tens of thousands of characters, far past the 512 tokens an
encoder sees at once. `chunk_text` cuts a (normalized) text into spans that each fit the
model's token budget:

1. sentences are found with hazm's sentence tokenizer, line by line, and located by character
   offset in the text (so every span indexes the caller's string);
2. tokens are counted once for the whole text with the model's own tokenizer (its offsets
   tell which sentence each token belongs to);
3. a sentence longer than the budget is cut at word boundaries into smaller pieces (and at
   token boundaries if a single "word" is itself too long), so nothing is dropped;
4. sentences (or pieces) are packed greedily into chunks of at most `max_tokens` tokens; each
   chunk after the first repeats the last sentences of the previous one, up to
   `overlap_tokens` tokens, so a thought cut at a chunk edge is seen whole once.

Every character of the text that carries a token lies in at least one chunk.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from recommender.errors import InvalidInputError

# (start, end) character offsets of each token of a text, in order, without special tokens.
TokenOffsets = Callable[[str], Sequence[tuple[int, int]]]

_LINE = re.compile(r"[^\n]+")
_MIN_PIECE_TOKENS = 16


@dataclass(frozen=True)
class Chunk:
    """A span of the text and the number of model tokens in it (without special tokens)."""

    start: int
    end: int
    n_tokens: int


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    first_token: int
    n_tokens: int


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the sentences of `text`, in order.

    hazm's sentence tokenizer runs on each line; a sentence it returns that cannot be found
    verbatim (hazm rewrote it) falls back to the rest of the line.
    """
    import hazm

    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        base, body = line.start(), line.group(0)
        if not body.strip():
            continue
        pos = 0
        for sentence in hazm.sent_tokenize(body):
            sentence = sentence.strip()
            if not sentence:
                continue
            found = body.find(sentence, pos)
            if found < 0:  # hazm changed the text: keep the remainder of the line whole
                rest = body[pos:].strip()
                if rest:
                    start = body.index(rest, pos)
                    spans.append((base + start, base + start + len(rest)))
                pos = len(body)
                break
            spans.append((base + found, base + found + len(sentence)))
            pos = found + len(sentence)
        tail = body[pos:].strip()
        if tail:
            start = body.index(tail, pos)
            spans.append((base + start, base + start + len(tail)))
    return spans


def _units(
    text: str, offsets: Sequence[tuple[int, int]], max_tokens: int, piece_tokens: int
) -> list[_Unit]:
    """Sentences as token ranges; sentences over `max_tokens` cut into smaller pieces."""
    token_starts = [start for start, _ in offsets]
    spans = sentence_spans(text)
    # Each token belongs to the sentence whose region (its start up to the next one's) holds
    # the token's start; tokens before the first sentence go to the first one.
    region_starts = [start for start, _ in spans]
    bounds: list[int] = []
    for i in range(len(spans)):
        begin = 0 if i == 0 else bisect.bisect_left(token_starts, region_starts[i])
        bounds.append(begin)
    bounds.append(len(offsets))

    units: list[_Unit] = []
    for i, (s_start, s_end) in enumerate(spans):
        first, last = bounds[i], bounds[i + 1]  # tokens [first, last)
        n = last - first
        if n <= 0:
            continue
        start = min(s_start, offsets[first][0])
        end = max(s_end, offsets[last - 1][1])
        if n <= max_tokens:
            units.append(_Unit(start, end, first, n))
            continue
        units.extend(_split_long(text, offsets, first, last, start, end, piece_tokens))
    return units


def _split_long(
    text: str,
    offsets: Sequence[tuple[int, int]],
    first: int,
    last: int,
    start: int,
    end: int,
    piece_tokens: int,
) -> list[_Unit]:
    """Cut tokens [first, last) into pieces of <= piece_tokens, preferring word starts."""
    pieces: list[_Unit] = []
    begin = first
    while begin < last:
        stop = min(begin + piece_tokens, last)
        if stop < last:
            # Back off to a token that starts a word (preceded by whitespace), if any.
            cut = stop
            while cut > begin + 1 and not _starts_word(text, offsets[cut][0]):
                cut -= 1
            if cut > begin + 1:
                stop = cut
        span_start = start if begin == first else offsets[begin][0]
        span_end = end if stop == last else offsets[stop][0]
        pieces.append(_Unit(span_start, span_end, begin, stop - begin))
        begin = stop
    return pieces


def _starts_word(text: str, pos: int) -> bool:
    return pos == 0 or text[pos - 1].isspace()


def chunk_text(
    text: str,
    token_offsets: TokenOffsets,
    max_tokens: int,
    overlap_tokens: int = 32,
) -> list[Chunk]:
    """Cut `text` into sentence-aligned chunks of at most `max_tokens` tokens each.

    Args:
        text: the (normalized) text.
        token_offsets: the model tokenizer's character offsets of `text`'s tokens, without
            special tokens or prefixes.
        max_tokens: the budget per chunk (the model's limit minus special tokens and prefix).
        overlap_tokens: at most this many tokens of whole sentences repeated from the end of
            one chunk at the start of the next (0 for none).

    Returns:
        The chunks in text order; [] when the text has no tokens.

    Raises:
        InvalidInputError: a budget under 1 token or a negative overlap.
    """
    if max_tokens < 1:
        raise InvalidInputError("the chunk budget must be at least one token")
    if overlap_tokens < 0:
        raise InvalidInputError("the chunk overlap cannot be negative")
    overlap_tokens = min(overlap_tokens, max_tokens // 2)
    offsets = list(token_offsets(text))
    if not offsets:
        return []
    piece_tokens = max(min(max_tokens, _MIN_PIECE_TOKENS), min(max_tokens, overlap_tokens or 64))
    units = _units(text, offsets, max_tokens, piece_tokens)
    if not units:
        return [Chunk(offsets[0][0], offsets[-1][1], len(offsets))]

    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        # Overlap: the previous chunk's last units, while they fit in overlap_tokens.
        carried: list[_Unit] = []
        if chunks and overlap_tokens:
            total = 0
            j = i - 1
            while j >= 0 and total + units[j].n_tokens <= overlap_tokens:
                total += units[j].n_tokens
                carried.insert(0, units[j])
                j -= 1
        members = list(carried)
        used = sum(u.n_tokens for u in members)
        if used + units[i].n_tokens > max_tokens:  # no room: drop the overlap
            members, used = [], 0
        while i < len(units) and used + units[i].n_tokens <= max_tokens:
            members.append(units[i])
            used += units[i].n_tokens
            i += 1
        first_token = members[0].first_token
        last_token = members[-1].first_token + members[-1].n_tokens
        chunks.append(Chunk(members[0].start, members[-1].end, last_token - first_token))
    return chunks
