"""A learned sector reader: which sectors a plan is about, where the keyword rules cannot tell.

The rules of `facts._sectors` find a sector by its keywords; a plan that names its domain in
other words («نرم‌افزار حقوق و دستمزد», «پس‌انداز خرد») or whose keywords point to the wrong
sector («آموزش» in an AI plan) is missed or misread. `SectorModel` is a linear classifier,
one calibrated logistic regression per sector (scikit-learn `OneVsRestClassifier`), over
TF-IDF character n-grams (2-5, within words, sublinear) of the normalized text. It is trained
on plans whose true sectors are known: the synthetic history's (`training.sector_reader`
builds it from the shipped generator, deterministically), never on the hand-written plans it
is measured on (benchmarks/realistic_facts.py).

`combine(rules, not_sectors, probabilities)` is how the two readers meet (`read_facts` with a
`sector_model`):

* the sectors the plan says it is not in (read by the rules) are always removed;
* when the rules found sectors, they are kept, with their confidence, in the order of the
  model's probability (the model decides which of two keyword readings comes first); when
  the model finds every one of them improbable (< `MIN_PROBABILITY`), the confidence is cut
  to `DOUBTED` (below the 0.5 the matching trusts): a keyword alone is weak evidence;
* when the rules found none, the model's best sector is read, with its probability as the
  confidence (and its second when that is at least half as likely and >= 0.3);
* a model probability below `MIN_PROBABILITY` reads nothing.

A saved model is a folder: `sector_model.joblib` (the fitted vectorizer and classifier) and
`meta.json` (the sector slugs, the training set's description and the joblib file's SHA-256).
Only load folders you wrote: joblib unpickles.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from recommender.artifacts import file_sha256, publish_dir
from recommender.errors import CorruptArtifactError, InvalidInputError, bilingual
from recommender.text.normalization import normalize

__all__ = ["DOUBTED", "MIN_PROBABILITY", "SectorModel", "combine", "train_sector_model"]

#: Below this probability the model reads no sector.
MIN_PROBABILITY = 0.15
#: The most confidence a keyword reading keeps when the model finds it improbable.
DOUBTED = 0.45
#: Characters of a plan the model reads (plans state their domain early; long synthetic plans
#: would otherwise dominate training time).
MAX_CHARS = 2500
_MODEL_FILE = "sector_model.joblib"
_META_FILE = "meta.json"
FORMAT = 1


@dataclass
class SectorModel:
    """A fitted sector classifier (see the module docstring).

    Attributes:
        slugs: the sector slugs, in the classifier's column order.
        vectorizer: the fitted TF-IDF vectorizer.
        classifier: the fitted one-vs-rest logistic regression.
        info: what it was trained on (for `meta.json` and messages).
    """

    slugs: tuple[str, ...]
    vectorizer: Any
    classifier: Any
    info: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, text: str, normalized: bool = False) -> dict[str, float]:
        """P(the plan is about sector s) for every sector, from the plan's text."""
        clean = text if normalized else normalize(text or "")
        matrix = self.vectorizer.transform([clean[:MAX_CHARS]])
        probs = self.classifier.predict_proba(matrix)[0]
        return {slug: float(p) for slug, p in zip(self.slugs, probs, strict=True)}

    def save(self, folder: Path) -> Path:
        """Write the model to `folder` whole (atomically replacing an older one)."""

        def write(tmp: Path) -> None:
            joblib.dump({"vectorizer": self.vectorizer, "classifier": self.classifier},
                         tmp / _MODEL_FILE)
            meta = {"format": FORMAT, "slugs": list(self.slugs), "info": self.info,
                    "sha256": file_sha256(tmp / _MODEL_FILE)}
            (tmp / _META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2),
                                          encoding="utf-8")
            for path in (tmp, tmp / _MODEL_FILE, tmp / _META_FILE):
                path.chmod(0o755 if path.is_dir() else 0o644)

        return publish_dir(folder, write)

    @classmethod
    def load(cls, folder: Path) -> SectorModel:
        """Read a model written by `save`.

        Raises:
            FileNotFoundError: no model in `folder`.
            CorruptArtifactError: the files are damaged or from another format.
        """
        folder = Path(folder)
        meta_path = folder / _META_FILE
        if not meta_path.is_file():
            raise FileNotFoundError(meta_path)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT or file_sha256(folder / _MODEL_FILE) != meta["sha256"]:
                raise ValueError("format or checksum")
            parts = joblib.load(folder / _MODEL_FILE)
            return cls(tuple(meta["slugs"]), parts["vectorizer"], parts["classifier"],
                       dict(meta.get("info") or {}))
        except Exception as exc:  # json, joblib/pickle, KeyError each raise their own kind
            raise CorruptArtifactError(
                bilingual(f"the sector reader in {folder} is damaged; rebuild it",
                          f"مدل خواندن حوزه در {folder} آسیب دیده است؛ دوباره بسازیدش")
            ) from exc


def train_sector_model(
    texts: Sequence[str],
    labels: Sequence[Sequence[str]],
    slugs: Sequence[str],
    *,
    C: float = 10.0,
    info: Mapping[str, Any] | None = None,
) -> SectorModel:
    """Fit a `SectorModel` on plans and their true sectors (deterministic).

    Args:
        texts: the plans (raw; normalized here).
        labels: each plan's sectors (slugs from `slugs`; at least one).
        slugs: every sector slug, the model's columns. A sector no plan has gets a column of
            zeros (probability ~0).
        C: the inverse regularization of each logistic regression.
        info: stored with the model (what it was trained on).

    Raises:
        InvalidInputError: no plans, lengths differ, or a label is not in `slugs`.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    if not texts or len(texts) != len(labels):
        raise InvalidInputError("give one list of sectors per plan, and at least one plan")
    column = {slug: i for i, slug in enumerate(slugs)}
    y = np.zeros((len(texts), len(slugs)), dtype=np.int8)
    for row, sectors in enumerate(labels):
        for slug in sectors:
            if slug not in column:
                raise InvalidInputError(f"unknown sector '{slug}'")
            y[row, column[slug]] = 1
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                 min_df=2 if len(texts) >= 20 else 1, dtype=np.float32)
    matrix = vectorizer.fit_transform([normalize(t or "")[:MAX_CHARS] for t in texts])
    present = y.any(axis=0)
    base = LogisticRegression(C=C, solver="liblinear", max_iter=1000, random_state=0)
    classifier = _PartialOneVsRest(OneVsRestClassifier(base).fit(matrix, y[:, present]),
                                   present)
    return SectorModel(tuple(slugs), vectorizer, classifier, dict(info or {}))


class _PartialOneVsRest:
    """A one-vs-rest classifier over the sectors seen in training, reporting 0 for the rest
    (scikit-learn refuses a label column that is never positive)."""

    def __init__(self, fitted: Any, present: np.ndarray) -> None:
        self.fitted = fitted
        self.present = np.asarray(present, dtype=bool)

    def predict_proba(self, matrix: Any) -> np.ndarray:
        out = np.zeros((matrix.shape[0], self.present.size))
        out[:, self.present] = self.fitted.predict_proba(matrix)
        return out


def combine(
    rules: tuple[tuple[str, ...], float],
    not_sectors: Sequence[str],
    probabilities: Mapping[str, float],
) -> tuple[tuple[str, ...], float]:
    """The sectors read from a plan, rules and model together (see the module docstring).

    Args:
        rules: (sectors, confidence) the keyword rules read.
        not_sectors: the sectors the plan says it is not in (always removed).
        probabilities: the model's probability per sector.

    Returns:
        (sectors, confidence); ((), 0.0) when neither reads a sector.
    """
    denied = set(not_sectors)
    probs = {s: p for s, p in probabilities.items() if s not in denied}
    found, confidence = rules
    kept = [s for s in found if s not in denied]
    if kept:
        order = sorted(kept, key=lambda s: (-probs.get(s, 0.0), kept.index(s)))
        if probs.get(order[0], 0.0) < MIN_PROBABILITY:
            confidence = min(confidence, DOUBTED)
        return tuple(order), confidence
    ranked = sorted(probs, key=lambda s: -probs[s])
    if not ranked or probs[ranked[0]] < MIN_PROBABILITY:
        return (), 0.0
    top = [ranked[0]]
    if len(ranked) > 1 and probs[ranked[1]] >= max(0.3, 0.5 * probs[ranked[0]]):
        top.append(ranked[1])
    return tuple(top), round(min(0.9, probs[ranked[0]]), 2)
