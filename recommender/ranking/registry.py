"""The model registry: versioned rankers under HOME/registry/, one of them live.

Layout (a `recommender.artifacts.VersionedDir`, the scheme the candidate index uses too):

    registry/
      v0001/  ranker.json  ranker.joblib  meta.json
      v0002/  ...
      live.json            {"live": "v0002", "history": ["v0001", "v0002"]}

`meta.json` holds the version, creation time (UTC), the held-out metrics, the feature list,
the training data fingerprint, the embedding model id and whatever else the trainer adds
(rounds, counts, the comparison with the model that was live). A version folder is written
under a temporary name and renamed into place, and `live.json` is replaced atomically, so a
reader never sees half a model. `history` lists the versions that were made live, in order;
`rollback` steps back through it.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.artifacts import VersionedDir
from recommender.errors import CorruptArtifactError
from recommender.ranking.ranker import FitRanker

__all__ = ["MIN_TRAINING_OUTCOMES", "ModelEntry", "ModelRegistry", "trained_on_outcomes"]

_META_FILE = "meta.json"

#: The fewest training outcomes (decided (application, program) pairs) a ranker must have
#: learnt from before `training.train.train` makes it live on its own. Below it the live model
#: stays, or with none live the unsupervised fallback (`ranking.compose.unsupervised_score`)
#: keeps serving. Measured with `benchmarks/learning_curve.py` (defaults: 4 synthetic
#: histories x 5 random draws of the decisions per size, hashing embedder, the product's
#: estimator and calibration): the smallest number of decisions from which, at it and every
#: larger size measured, the trained ranker's held-out NDCG@10 beat the unsupervised
#: fallback's in >= 90% of the runs and on average. At 600 it did in 95% of runs (mean margin
#: +0.038), from 800 in all of them; at 200 only in 65% and at 100 it lost on average. The
#: model is one for the whole store (the network's): a house with few decisions of its own is
#: served by it, and the threshold counts the decisions of every house together.
MIN_TRAINING_OUTCOMES = 600


def trained_on_outcomes(meta: Mapping[str, Any]) -> int | None:
    """How many outcomes a registered version was trained on (its meta.json; versions
    registered before the field existed recorded it as `n_train_pairs`)."""
    value = meta.get("trained_on_outcomes", meta.get("n_train_pairs"))
    return None if value is None else int(value)


@dataclass
class ModelEntry:
    """One registered model.

    Attributes:
        version: "v0001", ...
        created_at: ISO time (UTC).
        metrics: the held-out metrics recorded at registration.
        meta: everything in meta.json.
        live: whether it is the live model.
    """

    version: str
    created_at: str
    metrics: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    live: bool = False


class ModelRegistry:
    """Versioned rankers in a folder, with one live version.

    Args:
        root: the registry folder (HOME/registry); created when a model is registered.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.dir = VersionedDir(self.root, pointer="live.json", what="model")

    # ------------------------------------------------------------------ reading

    def _meta(self, version: str) -> dict[str, Any]:
        path = self.dir.path(version) / _META_FILE
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise CorruptArtifactError(f"cannot read {path}: {exc}") from exc
        if not isinstance(meta, dict):
            raise CorruptArtifactError(f"{path} does not hold a JSON object")
        return meta

    def live_version(self) -> str | None:
        """The live version, or None."""
        return self.dir.live()

    def list(self) -> list[ModelEntry]:
        """Every registered model, oldest first."""
        live = self.live_version()
        return [self._entry(version, live) for version in self.dir.versions()]

    def get(self, version: str) -> ModelEntry:
        """The entry of one version.

        Raises:
            NotFoundError: no such version.
        """
        return self._entry(version, self.live_version())

    def _entry(self, version: str, live: str | None) -> ModelEntry:
        meta = self._meta(version)
        return ModelEntry(
            version=version,
            created_at=str(meta.get("created_at", "")),
            metrics=dict(meta.get("metrics", {})),
            meta=meta,
            live=version == live,
        )

    def describe(self) -> builtins.list[dict[str, Any]]:
        """Every version as JSON-able dicts, oldest first: version, live, created_at,
        trained_on_outcomes, held_out_outcomes, train/test rounds, the held-out metrics, the
        model it was compared with and the promotion decision (`peyvand models list --json`
        and `GET /v1/models`)."""
        return [
            {
                "version": e.version,
                "live": e.live,
                "created_at": e.created_at,
                "trained_on_outcomes": trained_on_outcomes(e.meta),
                "held_out_outcomes": e.meta.get("held_out_outcomes", e.meta.get("n_test_pairs")),
                "train_rounds": list(e.meta.get("train_rounds", [])),
                "test_rounds": list(e.meta.get("test_rounds", [])),
                "metrics": e.metrics,
                "compared_with": e.meta.get("compared_with"),
                "decision": e.meta.get("decision"),
                "embedding_model_id": e.meta.get("embedding_model_id"),
            }
            for e in self.list()
        ]

    def load(self, version: str, **load_args: Any) -> FitRanker:
        """The ranker of one version (`FitRanker.load` arguments pass through).

        Raises:
            NotFoundError: no such version.
            CorruptArtifactError / ModelMismatchError: from `FitRanker.load`.
        """
        ranker = FitRanker.load(self.dir.path(version), **load_args)
        ranker.version_ = version
        return ranker

    def live(self, **load_args: Any) -> tuple[str, FitRanker] | None:
        """(version, ranker) of the live model, or None when no model is live."""
        version = self.live_version()
        if version is None:
            return None
        return version, self.load(version, **load_args)

    # ------------------------------------------------------------------ writing

    def register(
        self, ranker: FitRanker, metrics: Mapping[str, Any], meta: Mapping[str, Any] | None = None
    ) -> str:
        """Save a fitted ranker as a new version (not live; see `promote`).

        Args:
            ranker: the fitted ranker.
            metrics: its held-out metrics (the metrics.json shape).
            meta: more to record (rounds, counts, comparison); JSON-serializable.

        Returns:
            The new version, e.g. "v0003".
        """
        record = {
            **dict(meta or {}),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "metrics": dict(metrics),
            "feature_names": list(ranker.feature_names_),
            "data_fingerprint": ranker.data_fingerprint_,
            "embedding_model_id": ranker.embedding_model_id_,
            "n_train": ranker.n_train_,
            "chosen": dict(ranker.chosen_),
        }

        def stamp(folder: Path, version: str) -> None:
            (folder / _META_FILE).write_text(
                json.dumps({**record, "version": version}, indent=2, ensure_ascii=False),
                encoding="utf-8",
            )

        return self.dir.publish(ranker.save, stamp=stamp)

    def promote(self, version: str) -> str:
        """Make `version` live (checked to load first).

        Raises:
            NotFoundError: no such version.
            CorruptArtifactError / ModelMismatchError: it cannot be loaded.
        """
        return self.dir.promote(version, check=self.load)

    def rollback(self) -> str:
        """Make the previously live version live again.

        Returns:
            The version now live.

        Raises:
            InvalidInputError: there is no earlier live version.
        """
        return self.dir.rollback(check=self.load)
