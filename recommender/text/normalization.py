"""Persian text normalization on hazm: the first stage of the data flow.

`normalize` turns any business-plan or program text into one canonical form used for
embedding, lexical matching and hashing (vector cache keys):

- Arabic letters to their Persian forms (ي ى → ی, ك → ک, ة ە ۀ → ه), diacritics removed;
- digits unified to Latin 0-9 (Persian ۰-۹ and Arabic-Indic ٠-٩ both accepted), the Persian
  decimal and thousands separators (٫ ٬) to "." and ",";
- half-space (ZWNJ) repaired by hazm (کتاب ها → کتاب‌ها, می خواهم → می‌خواهم), stray ZWNJs
  removed, punctuation spacing corrected;
- control characters, emoji and other pictographs stripped; long letter repetitions shortened;
- English words, numbers, URLs and e-mail addresses kept as written: they are masked from
  hazm, whose spacing rules would otherwise split "B2B" or "2.5".

`tokenize` gives the lexical tokens for BM25: normalized words, colloquial forms mapped to
formal ones with hazm's `InformalNormalizer` (می‌خوایم → می‌خواهیم, خونه → خانه), Latin
lower-cased, stop words and punctuation dropped.

The function is idempotent: normalize(normalize(x)) == normalize(x) (property-tested).
"""

from __future__ import annotations

import gc
import hashlib
import re
import threading
import unicodedata
from collections import OrderedDict
from functools import lru_cache

import hazm

ZWNJ = "\u200c"

_CHAR_MAP = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ئ": "ئ",
        "ك": "ک",
        "ة": "ه",
        "ە": "ه",
        "ۀ": "ه",
        "ہ": "ه",
        "ھ": "ه",
        "٫": ".",
        "٬": ",",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\t": " ",
        "\r": "\n",
        "\f": "\n",
        "\v": "\n",
        "\u2028": "\n",
        "\u2029": "\n",
        **{chr(0x06F0 + d): str(d) for d in range(10)},
        **{chr(0x0660 + d): str(d) for d in range(10)},
    }
)

# Spans hazm must not touch: URLs, e-mails, and Latin/number runs with inner punctuation
# ("B2B", "SaaS-based", "2.5", "peyvand.ir", "10,000").
_PROTECTED = re.compile(
    r"(?:https?://|www\.)[^\s\u0600-\u06ff]+"
    r"|[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
    r"|[A-Za-z0-9]+(?:[._\-/:+,][A-Za-z0-9]+)*"
)
_SPACES = re.compile(r"[ ]{2,}")
_SPACE_AROUND_NEWLINE = re.compile(r" *\n[ \n]*")
_ZWNJ_RUNS = re.compile(ZWNJ + "{2,}")
# A ZWNJ is meaningful only between two joining letters; elsewhere it is noise.
_STRAY_ZWNJ = re.compile(rf"(?:(?<=[\s\W\d])|^){ZWNJ}|{ZWNJ}(?=[\s\W\d]|$)")
_LATIN_WORD = re.compile(r"[A-Za-z]")
_KEEP_CATEGORIES = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nd", "Nl", "No", "Pc", "Pd",
                    "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Zs"}


@lru_cache(maxsize=1)
def _hazm_normalizer() -> hazm.Normalizer:
    return hazm.Normalizer(persian_numbers=False)


def _one_copy(value: dict, canonical: dict) -> dict:
    """`canonical` when it holds the same entries as `value`, so the process keeps one copy.

    hazm builds its 190,000-word lexicon (and its table of 350,000 verb forms) anew in every
    tokenizer, normalizer and lemmatizer, ~50 MB each; none of them changes it after building.
    """
    return canonical if value is not canonical and value == canonical else value


@lru_cache(maxsize=1)
def _word_tokenizer() -> hazm.WordTokenizer:
    """What `hazm.word_tokenize` uses (a default WordTokenizer), on the shared lexicon."""
    tokenizer = hazm.WordTokenizer()
    tokenizer.words = _one_copy(tokenizer.words, _hazm_normalizer().tokenizer.words)
    return tokenizer


@lru_cache(maxsize=1)
def _informal_normalizer() -> hazm.InformalNormalizer:
    """hazm's colloquial-to-formal normalizer without the parts our use never reaches.

    hazm builds an `InformalLemmatizer` (~750,000 informal verb forms, ~150 MB) that only its
    `split_token_words` reads, and that only runs with `seperation_flag=True` (never here).
    Its `normalized_word` reads only the words of its lemmatizer, never the lemmatizer's
    500,000 verb forms (used by `Lemmatizer.lemmatize`, which it does not call). Its two word
    tokenizers and its lemmatizer each hold a copy of the lexicon, and its normalizer part a
    copy of the verb forms, equal to those of `_hazm_normalizer`: they share those instead.
    Every result stays the same (a test compares with an untouched instance). Measured on
    tokenize's first call: the hazm objects held 447 MB with the lemmatizer dropped alone,
    228 MB with the sharing too.
    """
    informal = hazm.InformalNormalizer()
    if not informal.seperation_flag:
        del informal.ilemmatizer
        informal.lemmatizer.verbs = {}
    base = _hazm_normalizer()
    for holder in (informal.tokenizer, informal.word_tokenizer, informal.lemmatizer):
        holder.words = _one_copy(holder.words, base.tokenizer.words)
    if hasattr(informal, "verbs") and hasattr(base, "verbs"):
        informal.verbs = _one_copy(informal.verbs, base.verbs)
    gc.collect()
    return informal


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return frozenset(hazm.stopwords_list())


def _clean_characters(text: str) -> str:
    """Drop control characters, emoji and invalid surrogates; map letters and digits."""
    if has_surrogates(text):
        text = "".join(ch for ch in text if not 0xD800 <= ord(ch) <= 0xDFFF)
    text = unicodedata.normalize("NFC", text).translate(_CHAR_MAP)
    out = []
    for ch in text:
        if ch == "\n" or ch == ZWNJ:
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat in _KEEP_CATEGORIES:
            out.append(ch)
        elif cat in ("So", "Sk", "Cs", "Co", "Cn"):
            continue  # emoji, pictographs, surrogates, private use, unassigned
        elif cat.startswith("Z"):
            out.append(" ")
        # Cc and Cf (other than ZWNJ): dropped
    return "".join(out)


def has_surrogates(text: str) -> bool:
    """True when `text` holds lone surrogates (not encodable as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _normalize_persian_run(segment: str) -> str:
    """hazm on a run of text without protected spans, keeping its edge spaces."""
    if not segment.strip():
        return " " if segment else ""
    lead = " " if segment[0].isspace() else ""
    trail = " " if segment[-1].isspace() else ""
    body = _hazm_normalizer().normalize(segment)
    return lead + body.strip(" ") + trail if body.strip(" ") else (lead or trail)


def _normalize_line(line: str) -> str:
    parts: list[str] = []
    pos = 0
    for match in _PROTECTED.finditer(line):
        parts.append(_normalize_persian_run(line[pos : match.start()]))
        parts.append(match.group(0))
        pos = match.end()
    parts.append(_normalize_persian_run(line[pos:]))
    text = "".join(parts)
    text = _ZWNJ_RUNS.sub(ZWNJ, text)
    text = _STRAY_ZWNJ.sub("", text)
    return _SPACES.sub(" ", text).strip(" ")


def _normalize_once(text: str) -> str:
    text = _clean_characters(text)
    lines = [_normalize_line(line) for line in text.split("\n")]
    text = "\n".join(line for line in lines if line)
    return _SPACE_AROUND_NEWLINE.sub("\n", text).strip()


class _RecentTexts:
    """A small thread-safe LRU of normalize() results. A plan is normalized, then tokenized
    (which normalizes again) and hashed: the second call must not pay hazm twice. Each result
    is also stored as its own key, since normalize(normalize(x)) == normalize(x)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._data: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> str | None:
        with self._lock:
            value = self._data.get(text)
            if value is not None:
                self._data.move_to_end(text)
            return value

    def put(self, text: str, value: str) -> None:
        with self._lock:
            for key in (text, value):
                self._data[key] = value
                self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


_recent = _RecentTexts()


def normalize(text: str) -> str:
    """Canonical Persian form of `text` (see the module docstring for the rules).

    Args:
        text: any text; may mix Persian, Arabic letters, English and digits of any script.

    Returns:
        The normalized text ("" when nothing readable is left). Idempotent.
    """
    if not text:
        return ""
    cached = _recent.get(text)
    if cached is not None:
        return cached
    result = _normalize_fixed_point(text)
    _recent.put(text, result)
    return result


def _normalize_fixed_point(text: str) -> str:
    current = _normalize_once(text)
    # hazm's spacing rules can need a second look where the first pass joined two
    # pieces; iterate to the fixed point (in practice one extra pass at most).
    for _ in range(4):
        nxt = _normalize_once(current)
        if nxt == current:
            return current
        current = nxt
    return current


def sentences(text: str) -> list[str]:
    """Sentences of normalize(text), split by hazm's sentence tokenizer and at line breaks."""
    out: list[str] = []
    for line in normalize(text).split("\n"):
        out.extend(s.strip() for s in hazm.sent_tokenize(line) if s.strip())
    return out


def _informal_word(word: str) -> str:
    """Formal form of one colloquial Persian word (the word itself when hazm has none)."""
    if _LATIN_WORD.search(word) or len(word) < 2:
        return word
    return _formal_cached(word)


@lru_cache(maxsize=200_000)
def _formal_cached(word: str) -> str:
    try:
        result = _informal_normalizer().normalize(word)
        candidates = result[0][0] if result and result[0] else []
        return candidates[0] if candidates else word
    except Exception:  # hazm's informal model has gaps; the word stays as written
        return word


def tokenize(text: str) -> list[str]:
    """Lexical tokens of `text` for BM25: normalized words, colloquial forms made formal,
    Latin lower-cased, stop words and punctuation dropped.

    Args:
        text: raw or normalized text.

    Returns:
        The tokens in reading order (may be empty).
    """
    stop = _stopwords()
    tokens: list[str] = []
    for line in normalize(text).split("\n"):
        pos = 0
        for match in _PROTECTED.finditer(line):
            tokens.extend(_persian_tokens(line[pos : match.start()], stop))
            tokens.append(match.group(0).lower())
            pos = match.end()
        tokens.extend(_persian_tokens(line[pos:], stop))
    return tokens


def _persian_tokens(segment: str, stop: frozenset[str]) -> list[str]:
    out = []
    for word in _word_tokenizer().tokenize(segment) if segment.strip() else []:
        if not any(ch.isalnum() for ch in word):
            continue
        word = _informal_word(word)
        if word not in stop:
            out.append(word)
    return out


def text_hash(text: str) -> str:
    """sha256 hex digest of the UTF-8 text (callers pass normalized text)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
