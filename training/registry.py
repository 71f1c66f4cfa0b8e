"""The model registry: versioned rankers under HOME/registry/, one of them live.

Layout:

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

import datetime as dt
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.errors import CorruptArtifactError, InvalidInputError, NotFoundError
from recommender.ranking.ranker import FitRanker

__all__ = ["ModelEntry", "ModelRegistry"]

_LIVE_FILE = "live.json"
_META_FILE = "meta.json"
_VERSION = re.compile(r"^v(\d{4,})$")


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


def _write_json_atomic(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ModelRegistry:
    """Versioned rankers in a folder, with one live version.

    Args:
        root: the registry folder (HOME/registry); created when a model is registered.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------ reading

    def _versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = [p.name for p in self.root.iterdir() if p.is_dir() and _VERSION.match(p.name)]
        return sorted(found, key=lambda v: int(v[1:]))

    def _state(self) -> dict[str, Any]:
        path = self.root / _LIVE_FILE
        if not path.is_file():
            return {"live": None, "history": []}
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(state.get("history"), list):
                raise ValueError("history is not a list")
            return {"live": state.get("live"), "history": [str(v) for v in state["history"]]}
        except (ValueError, OSError, AttributeError) as exc:
            raise CorruptArtifactError(f"cannot read {path}: {exc}") from exc

    def _meta(self, version: str) -> dict[str, Any]:
        path = self.root / version / _META_FILE
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise CorruptArtifactError(f"cannot read {path}: {exc}") from exc
        if not isinstance(meta, dict):
            raise CorruptArtifactError(f"{path} does not hold a JSON object")
        return meta

    def live_version(self) -> str | None:
        """The live version, or None."""
        return self._state()["live"]

    def list(self) -> list[ModelEntry]:
        """Every registered model, oldest first."""
        live = self.live_version()
        entries = []
        for version in self._versions():
            meta = self._meta(version)
            entries.append(
                ModelEntry(
                    version=version,
                    created_at=str(meta.get("created_at", "")),
                    metrics=dict(meta.get("metrics", {})),
                    meta=meta,
                    live=version == live,
                )
            )
        return entries

    def get(self, version: str) -> ModelEntry:
        """The entry of one version.

        Raises:
            NotFoundError: no such version.
        """
        if version not in self._versions():
            raise NotFoundError(f"no model version '{version}' in {self.root}")
        meta = self._meta(version)
        return ModelEntry(
            version=version,
            created_at=str(meta.get("created_at", "")),
            metrics=dict(meta.get("metrics", {})),
            meta=meta,
            live=version == self.live_version(),
        )

    def load(self, version: str, **load_args: Any) -> FitRanker:
        """The ranker of one version (`FitRanker.load` arguments pass through).

        Raises:
            NotFoundError: no such version.
            CorruptArtifactError / ModelMismatchError: from `FitRanker.load`.
        """
        if version not in self._versions():
            raise NotFoundError(f"no model version '{version}' in {self.root}")
        ranker = FitRanker.load(self.root / version, **load_args)
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
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            ranker.save(staging)
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
            for _ in range(1000):
                existing = self._versions()
                number = int(existing[-1][1:]) + 1 if existing else 1
                version = f"v{number:04d}"
                record["version"] = version
                (staging / _META_FILE).write_text(
                    json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8"
                )
                try:
                    os.rename(staging, self.root / version)
                except OSError:
                    if (self.root / version).exists():  # another writer took the number
                        continue
                    raise
                return version
            raise CorruptArtifactError(f"cannot find a free version number in {self.root}")
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def promote(self, version: str) -> str:
        """Make `version` live (checked to load first).

        Raises:
            NotFoundError: no such version.
            CorruptArtifactError / ModelMismatchError: it cannot be loaded.
        """
        self.load(version)
        state = self._state()
        if state["live"] != version:
            state["history"].append(version)
        state["live"] = version
        _write_json_atomic(self.root / _LIVE_FILE, state)
        return version

    def rollback(self) -> str:
        """Make the previously live version live again.

        Returns:
            The version now live.

        Raises:
            InvalidInputError: there is no earlier live version.
        """
        state = self._state()
        history = [v for v in state["history"] if v in set(self._versions())]
        if state["live"] in history:
            history = history[: len(history) - history[::-1].index(state["live"])]
        if len(history) < 2:
            raise InvalidInputError("there is no earlier live model to roll back to")
        previous = history[-2]
        self.load(previous)
        _write_json_atomic(
            self.root / _LIVE_FILE, {"live": previous, "history": history[:-1]}
        )
        return previous
