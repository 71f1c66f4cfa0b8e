"""Suggested meetings: for each startup of an event, the mentors, investors and programs that
fit it best, with short Persian reasons.

The fit of two participants reads their profiles the way matching reads plans: text
normalized (`text.normalization.normalize`), embedded by the service's embedder (passage
role; a profile too empty to embed counts as no likeness), and the sectors each profile
speaks of read by `text.facts.read_facts` with the sector vocabulary of `sectors.json`::

    fit = COSINE_WEIGHT * likeness + SECTOR_WEIGHT * shares_a_sector       (in [0, 1])

where `likeness` is the cosine of the two profile vectors above the event's own baseline
(`_likeness`: sentence embedders rate any two Persian texts alike). Reasons name what the
two share: a sector («هر دو در حوزهٔ «فین‌تک»»), up to three words of both profiles that
few other profiles use, and the likeness of the texts as a percentage.
Profiles are confidential: nothing here logs them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.errors import EmptyTextError
from recommender.events.model import EventData, Participant
from recommender.text.persian import format_percent

COSINE_WEIGHT = 0.75
SECTOR_WEIGHT = 0.25
#: A partner is suggested only above this fit (0.05: barely any likeness is no reason).
MIN_FIT = 0.05
#: Shared words shown as a reason (the rarest among the event's profiles first).
MAX_SHARED_WORDS = 3
_PARTNER_KINDS = ("mentor", "investor", "program")


@dataclass(frozen=True)
class Suggestion:
    """One suggested meeting of a startup, best first within a startup."""

    startup_id: str
    partner_id: str
    partner_kind: str
    score: float
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "startup_id": self.startup_id,
            "partner_id": self.partner_id,
            "partner_kind": self.partner_kind,
            "score": round(self.score, 4),
            "reasons": list(self.reasons),
        }


class FitTable:
    """The fit of every pair of an event's participants (see the module docstring).

    Args:
        participants: the event's participants.
        vectors: (n_participants, dim) L2-normalized profile vectors (zero rows: no profile).
        sectors: the sectors each profile speaks of (slugs), in participant order.
        words: the content words of each profile, in participant order.
        sector_labels: slug -> Persian name.
    """

    def __init__(
        self,
        participants: Sequence[Participant],
        vectors: np.ndarray,
        sectors: Sequence[frozenset[str]],
        words: Sequence[frozenset[str]],
        sector_labels: dict[str, str],
    ) -> None:
        self.participants = list(participants)
        self.index = {p.id: i for i, p in enumerate(self.participants)}
        self.cosine = _likeness(vectors)
        self.sectors = list(sectors)
        self.words = list(words)
        self.sector_labels = sector_labels
        counts = Counter(w for ws in self.words for w in ws)
        self._rarity = {w: 1.0 / n for w, n in counts.items()}

    def score(self, a: str, b: str) -> float:
        """The fit of two participants, 0..1 (0 for an unknown id)."""
        i, j = self.index.get(a), self.index.get(b)
        if i is None or j is None:
            return 0.0
        shared = 1.0 if self.sectors[i] & self.sectors[j] else 0.0
        value = COSINE_WEIGHT * float(self.cosine[i, j]) + SECTOR_WEIGHT * shared
        return min(1.0, max(0.0, value))

    def reasons(self, a: str, b: str) -> tuple[str, ...]:
        """Short Persian reasons why `a` and `b` fit (what their profiles share)."""
        i, j = self.index.get(a), self.index.get(b)
        if i is None or j is None:
            return ()
        out = []
        for slug in sorted(self.sectors[i] & self.sectors[j]):
            out.append(f"هر دو در حوزهٔ «{self.sector_labels.get(slug, slug)}»")
        shared = sorted(self.words[i] & self.words[j], key=lambda w: (-self._rarity[w], w))
        if shared:
            shown = "، ".join(shared[:MAX_SHARED_WORDS])
            out.append(f"واژه‌های مشترک نمایه‌ها: {shown}")
        likeness = float(self.cosine[i, j])
        if likeness > 0:
            out.append(f"شباهت متن نمایه‌ها: {format_percent(likeness)}")
        return tuple(out)

    def suggestions(self, per_startup: int) -> list[Suggestion]:
        """For each startup (in file order) its `per_startup` best partners with fit >=
        `MIN_FIT`."""
        partners = [p for p in self.participants if p.kind in _PARTNER_KINDS]
        out: list[Suggestion] = []
        for startup in self.participants:
            if startup.kind != "startup":
                continue
            scored = [(self.score(startup.id, p.id), p) for p in partners]
            scored.sort(key=lambda sp: (-sp[0], sp[1].id))
            for score, partner in scored[:per_startup]:
                if score < MIN_FIT:
                    break
                out.append(
                    Suggestion(
                        startup.id,
                        partner.id,
                        partner.kind,
                        score,
                        self.reasons(startup.id, partner.id),
                    )
                )
        return out


def _likeness(vectors: np.ndarray) -> np.ndarray:
    """(n, n) likeness of the profiles in [0, 1]: cosine above the event's own baseline.

    Sentence embedders put every two texts of one language at a high cosine (about 0.85
    for unrelated Persian profiles with e5), so the raw cosine barely separates partners.
    The baseline is the mean cosine of the event's pairs of (non-empty) profiles::

        likeness = clip((cosine - baseline) / (1 - baseline), 0, 1)
    """
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    cosine = np.clip(vectors @ vectors.T, -1.0, 1.0)
    present = np.linalg.norm(vectors, axis=1) > 0
    idx = np.flatnonzero(present)
    baseline = 0.0
    if idx.size > 2:
        block = cosine[np.ix_(idx, idx)]
        off = block[~np.eye(idx.size, dtype=bool)]
        baseline = float(min(max(off.mean(), 0.0), 0.95))
    likeness = np.clip((cosine - baseline) / (1.0 - baseline), 0.0, 1.0)
    likeness[~present, :] = 0.0
    likeness[:, ~present] = 0.0
    return likeness


def _words(text: str) -> frozenset[str]:
    from recommender.text.normalization import tokenize

    return frozenset(t for t in tokenize(text) if len(t) >= 3 and not t.isdigit())


def _vectors(texts: Sequence[str], embedder: Any) -> np.ndarray:
    """(n, dim) vectors of the texts; a text with nothing to embed gets a zero row."""
    usable = [i for i, t in enumerate(texts) if any(ch.isalnum() for ch in t)]
    rows: dict[int, np.ndarray] = {}
    if usable:
        try:
            docs = embedder.embed_documents([texts[i] for i in usable], role="passage")
            for i, doc in zip(usable, docs, strict=True):
                rows[i] = np.asarray(doc.pooled, dtype=np.float32)
        except EmptyTextError:  # one of them: embed one by one to find which
            for i in usable:
                try:
                    doc = embedder.embed_documents([texts[i]], role="passage")[0]
                except EmptyTextError:
                    continue
                rows[i] = np.asarray(doc.pooled, dtype=np.float32)
    dim = int(getattr(embedder, "dim_", 0) or (next(iter(rows.values())).size if rows else 1))
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, vec in rows.items():
        norm = float(np.linalg.norm(vec))
        if norm > 0 and math.isfinite(norm):
            out[i] = vec / norm
    return out


def fit_table(data: EventData, embedder: Any) -> FitTable:
    """The fit of every pair of the event's participants.

    Args:
        data: the event and its participants.
        embedder: a fitted embedder (`embedding.Embedder`, or the tests' fakes).
    """
    from recommender.taxonomy import sector_vocabulary
    from recommender.text.facts import read_facts
    from recommender.text.normalization import normalize

    labels, terms = sector_vocabulary()
    participants = list(data.participants)
    texts = [normalize(p.profile) if p.profile.strip() else "" for p in participants]
    sectors = [
        frozenset(read_facts(t, terms).sectors.value or ()) if t else frozenset() for t in texts
    ]
    words = [_words(t) if t else frozenset() for t in texts]
    return FitTable(participants, _vectors(texts, embedder), sectors, words, labels)


def suggest_meetings(
    data: EventData, embedder: Any, per_startup: int | None = None
) -> tuple[FitTable, list[Suggestion]]:
    """The fit table and each startup's best partners.

    Args:
        per_startup: suggestions per startup (default: the event's
            `max_meetings_per_participant`, at least 3).
    """
    table = fit_table(data, embedder)
    k = per_startup or max(3, data.event.max_meetings_per_participant)
    return table, table.suggestions(k)
