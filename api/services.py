"""Building the recommender's parts from a home folder and its settings.

`recommender/` takes plain objects; this module is where the settings are read:

- `load_embedder(settings)`: the embedding model (offline; HF_HUB_OFFLINE=1) with its vector
  cache in the home;
- `build_index(settings)`: embed every program of the store (normalized name, description
  and sector names, as passages) and save the candidate index atomically
  (`peyvand index build`);
- `load_recommender(settings)`: store + embedder + index (refusing one built with another
  embedding model) + the live ranker of the registry (or the unsupervised fallback) ->
  a `pipeline.Recommender`. When the store's catalogue has programs the index lacks or
  texts it has not seen, the index is rebuilt first (only changed programs are embedded:
  the others come from the vector cache). The fact reader's learned sector reader comes
  with it (`load_sector_model`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import ModelMismatchError, NotFittedError, bilingual
from recommender.retrieval.index import index_folder
from recommender.store.history import program_load
from recommender.taxonomy import sector_vocabulary

from .settings import Settings

if TYPE_CHECKING:
    from recommender.ranking.ranker import FitRanker
    from recommender.retrieval.hybrid import CandidateRetriever
    from recommender.schemas import Program
    from recommender.scoring.pipeline import Recommender
    from recommender.store.database import Store

logger = logging.getLogger(__name__)

__all__ = [
    "IndexBuild",
    "build_index",
    "index_staleness",
    "load_embedder",
    "load_live_ranker",
    "load_recommender",
    "load_sector_model",
    "open_store",
]


@dataclass(frozen=True)
class IndexBuild:
    """What `build_index` did.

    Attributes:
        path: the new index version's folder.
        n_programs: programs indexed.
        model_id: the embedding model's id.
        seconds: wall time of the build.
    """

    path: Path
    n_programs: int
    model_id: str
    seconds: float


def open_store(settings: Settings) -> Store:
    """The store of the home, migrated to the newest schema (home folder created)."""
    from recommender.store.database import Store

    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db_url)
    try:
        store.upgrade()
    except BaseException:
        store.close()
        raise
    return store


def load_embedder(settings: Settings) -> Any:
    """The fitted `embedding.Embedder` named by the settings (never downloads anything)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from recommender.embedding.encoder import Embedder

    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    embedder = Embedder(
        model=settings.embedding_model,
        runtime=settings.embedding_runtime,
        models_dir=settings.models_dir,
        cache_path=settings.vector_cache,
        num_threads=settings.embedding_threads,
    )
    return embedder.fit()


def build_index(
    settings: Settings, *, store: Store | None = None, embedder: Any | None = None
) -> IndexBuild:
    """Embed every program of the store and save the candidate index (atomically).

    Args:
        settings: the home's settings (index in `settings.index_dir`).
        store: an open store (default: the home's).
        embedder: a fitted embedder (default: `load_embedder(settings)`).

    Returns:
        What was built.

    Raises:
        InvalidInputError: the store has no program.
    """
    from recommender.scoring.index import build_retriever

    started = time.perf_counter()
    own_store = store is None
    store = store or open_store(settings)
    try:
        programs = store.list_programs()
    finally:
        if own_store:
            store.close()
    embedder = embedder or load_embedder(settings)
    labels, terms = sector_vocabulary()
    retriever = build_retriever(programs, embedder, sector_labels=labels, sector_terms=terms)
    path = retriever.save(settings.index_dir)
    return IndexBuild(
        path=path,
        n_programs=len(programs),
        model_id=str(embedder.model_id_),
        seconds=time.perf_counter() - started,
    )


def _content(program: Program) -> tuple[str, str, tuple[str, ...]]:
    return program.name, program.description, tuple(program.sectors)


def index_staleness(indexed: Sequence[Program], current: Sequence[Program]) -> str | None:
    """Why the index no longer matches the catalogue (English, for notes), or None.

    Only what the index embeds counts (name, description, sectors); seats, money, places and
    the active flag are read from the current records at request time.
    """
    known = {p.id: _content(p) for p in indexed}
    new = [p.id for p in current if p.id not in known]
    changed = [p.id for p in current if p.id in known and known[p.id] != _content(p)]
    if not new and not changed:
        return None
    return f"{len(new)} new and {len(changed)} changed program(s) since the index was built"


def load_index(settings: Settings, model_id: str) -> CandidateRetriever:
    """The current candidate index of the home, checked against the embedding model.

    Raises:
        NotFittedError: no index has been built yet.
        ModelMismatchError: it was built with another embedding model.
        CorruptArtifactError: its files are damaged.
    """
    from recommender.retrieval.hybrid import CandidateRetriever

    root = settings.index_dir
    if index_folder(root).live() is None and not (root / "config.json").is_file():
        raise NotFittedError(
            bilingual(
                f"no candidate index in {root} yet: import programs and run "
                "`peyvand index build`",
                f"هنوز نمایهٔ برنامه‌ها در {root} ساخته نشده است: برنامه‌ها را وارد کنید و "
                "peyvand index build را اجرا کنید.",
            )
        )
    return CandidateRetriever.load(root, expected_model_id=model_id)


def load_live_ranker(settings: Settings, model_id: str) -> tuple[str, FitRanker] | None:
    """(version, ranker) of the registry's live model, or None when none is trained.

    Raises:
        CorruptArtifactError: the live model's files cannot be read.
        ModelMismatchError: it was trained on features of another embedding model.
    """
    root = settings.registry_dir
    if not root.exists():
        return None
    from recommender.ranking.registry import ModelRegistry

    live = ModelRegistry(root).live(expected_model_id=model_id)
    if live is None:
        return None
    version, ranker = live
    trained_with = ranker.embedding_model_id_
    if trained_with and trained_with != model_id:
        raise ModelMismatchError(
            f"the live ranking model {version} was trained with embedding model "
            f"'{trained_with}' but '{model_id}' is in use; retrain it (peyvand train) "
            "or roll back (peyvand models rollback)"
        )
    return str(version), ranker


def load_sector_model(settings: Settings) -> Any:
    """The fact reader's learned sector reader (`text.sector_model.SectorModel`) of the home.

    The same in every home: trained on the shipped synthetic generator's plans (whose true
    sectors it knows), deterministically and offline, the first time a home needs it, then
    kept in the models folder (`models build-default` builds it ahead).
    """
    from training.sector_reader import ensure_sector_model

    return ensure_sector_model(settings.models_dir)


def load_recommender(
    settings: Settings,
    *,
    store: Store | None = None,
    embedder: Any | None = None,
    refresh_stale: bool = True,
    sector_model: Any | None = None,
) -> Recommender:
    """Everything a request needs, loaded once: the `Recommender` of the home.

    Args:
        settings: the home's settings.
        store: an open store (default: the home's, closed after loading).
        embedder: a fitted embedder (default: `load_embedder(settings)`).
        refresh_stale: rebuild the index first when the catalogue changed since it was
            built; otherwise answer from the old index with a note.
        sector_model: the learned sector reader of the fact reader (default: the one in the
            models folder, built there from the shipped synthetic generator when missing,
            `training.sector_reader.ensure_sector_model`).

    Returns:
        The recommender (uses the live trained ranker, or the unsupervised fallback).

    Raises:
        NotFittedError: no index yet (run `peyvand index build`).
        ModelMismatchError: the index or the live ranker belongs to another embedding model.
        CorruptArtifactError: the index or the live ranker cannot be read.
    """
    from recommender.ranking.features import FeatureBuilder
    from recommender.scoring.explain import Explainer
    from recommender.scoring.index import current_records
    from recommender.scoring.pipeline import Recommender

    own_store = store is None
    store = store or open_store(settings)
    try:
        current = store.list_programs()
        load = program_load(store)
        embedder = embedder or load_embedder(settings)
        model_id = str(embedder.model_id_)
        notes: list[str] = []
        retriever = load_index(settings, model_id)
        stale = index_staleness(retriever.programs_, current)
        if stale and refresh_stale:
            logger.info("rebuilding the candidate index: %s", stale)
            build_index(settings, store=store, embedder=embedder)
            retriever = load_index(settings, model_id)
        elif stale:
            notes.append(f"the index is out of date ({stale}); run `peyvand index build`")
    finally:
        if own_store:
            store.close()
    live = load_live_ranker(settings, model_id)
    programs = current_records(retriever.programs_, current)
    builder = FeatureBuilder().fit(programs, retriever.vectors_, load)
    labels, terms = sector_vocabulary()
    return Recommender(
        embedder,
        retriever,
        builder,
        live[1] if live else None,
        programs=programs,
        explainer=Explainer(sector_labels=labels, sector_keywords=terms),
        ranker_version=live[0] if live else None,
        notes=notes,
        sector_model=sector_model if sector_model is not None else load_sector_model(settings),
    )
