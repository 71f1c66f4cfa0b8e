"""The default sector reader, built from the shipped synthetic generator (offline, deterministic).

A house's own history does not say which sectors its plans are truly about (the `sectors`
column is what applicants ticked, often empty); the synthetic generator knows every plan's
true sectors (`truth["applications"][id]`: primary and secondary sector), and writes them in
the registers hand-written plans use (implied domains, denials, mixed sectors, paraphrases,
colloquial and English-heavy plans). So the reader is trained on a fixed synthetic history
(seed `SEED`, `ROUNDS` x `PER_ROUND` plans) and is the same in every home, a cold one
included: `ensure_sector_model(models_dir)` loads it from `models_dir/sector-reader`, or
builds and saves it there when it is missing, damaged, or was built by another recipe
(`RECIPE`) or scikit-learn version (its joblib file is a pickle of scikit-learn objects).
A process builds it at most once (kept in memory by recipe).

    python -m training.sector_reader OUT_DIR     # build it into OUT_DIR/sector-reader
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

from recommender.errors import CorruptArtifactError
from recommender.text.sector_model import SectorModel, train_sector_model

__all__ = ["DIRNAME", "RECIPE", "build_default_sector_model", "ensure_sector_model"]

logger = logging.getLogger(__name__)

DIRNAME = "sector-reader"
SEED = 20_250_117
ROUNDS = 6
PER_ROUND = 100
C = 10.0
#: Changes whenever the training set or the model's settings change: a saved reader built by
#: another recipe is rebuilt.
RECIPE = f"synthetic-v1-seed{SEED}-{ROUNDS}x{PER_ROUND}-C{C:g}"

_BUILT: dict[str, SectorModel] = {}
_LOCK = threading.Lock()


def synthetic_plans(seed: int = SEED, n_rounds: int = ROUNDS,
                    per_round: int = PER_ROUND) -> tuple[list[str], list[list[str]]]:
    """(plans, true sectors of each) from the synthetic generator."""
    from data.synthetic import generate_history

    history = generate_history(seed=seed, n_rounds=n_rounds, applications_per_round=per_round)
    truth = history.truth["applications"]
    texts, labels = [], []
    for app in history.applications:
        latent = truth[app["id"]]
        sectors = [latent["primary_sector"]]
        if latent.get("secondary_sector"):
            sectors.append(latent["secondary_sector"])
        texts.append(app["business_plan"])
        labels.append(sectors)
    return texts, labels


def _sklearn_version() -> str:
    import sklearn

    return str(sklearn.__version__)


def build_default_sector_model() -> SectorModel:
    """Train the default reader on the fixed synthetic history (same result every time)."""
    from recommender.taxonomy import sector_slugs

    with _LOCK:
        model = _BUILT.get(RECIPE)
        if model is None:
            texts, labels = synthetic_plans()
            model = train_sector_model(texts, labels, list(sector_slugs()), C=C,
                                       info={"recipe": RECIPE, "plans": len(texts),
                                             "sklearn": _sklearn_version()})
            _BUILT[RECIPE] = model
        return model


def ensure_sector_model(models_dir: Path) -> SectorModel:
    """The default reader from `models_dir/sector-reader`, built and saved there if needed."""
    folder = Path(models_dir) / DIRNAME
    try:
        model = SectorModel.load(folder)
        if model.info.get("recipe") == RECIPE and model.info.get("sklearn") == _sklearn_version():
            return model
    except FileNotFoundError:
        pass
    except CorruptArtifactError:
        logger.warning("the saved sector reader is damaged; rebuilding it")
    model = build_default_sector_model()
    try:
        model.save(folder)
    except OSError as exc:  # a read-only home still reads sectors, from memory
        logger.warning("could not save the sector reader: %s", exc.__class__.__name__)
    return model


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path(".")
    ensure_sector_model(out)
    print(out / DIRNAME)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
