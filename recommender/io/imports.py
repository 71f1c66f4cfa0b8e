"""The one import use case, used by `peyvand ... import`, `POST /v1/imports/{kind}` and the
staff web page alike: validate a file completely, write its records to the store in one
transaction, record who imported what in the audit log, and count what happened.

A file that cannot be read never touches the store (the store is opened only after the file
itself was read). References to stored ids (an outcome's application and program, a round's
programs) are checked inside the transaction and reported together with the file's other bad
rows. Without `skip_invalid` any bad row imports nothing; with it the good rows are imported
and the bad ones come back in `ImportReport.errors`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.constants import DEFAULT_ORG_ID, MAX_IMPORT_BYTES
from recommender.errors import ConflictError, InvalidInputError, RowError, bilingual
from recommender.io.reading import check_references, detect_format, read_records
from recommender.store.database import Store

# Kinds whose rows name stored ids; those are checked against the store ("orgs": the house a
# row names in `org_id`).
_REFERENCES: dict[str, tuple[str, ...]] = {
    "outcomes": ("applications", "programs"),
    "rounds": ("programs", "orgs"),
    "programs": ("orgs",),
    "applications": ("orgs",),
}

#: The kinds in Persian, for messages.
KIND_FA = {
    "programs": "برنامه‌ها",
    "applications": "درخواست‌ها",
    "rounds": "دوره‌ها",
    "outcomes": "نتیجه‌ها",
    "orgs": "خانه‌ها",
}


@dataclass(frozen=True)
class ImportReport:
    """What one import did.

    Attributes:
        kind: programs, applications, rounds, outcomes or orgs (houses).
        source: the file name recorded in the audit log.
        created / updated / unchanged: stored records by what happened to them.
        skipped: how many rows were left out (a row with several problems counts once).
        errors: every problem of the skipped rows, by row (empty unless `skip_invalid`).
    """

    kind: str
    source: str
    created: int
    updated: int
    unchanged: int
    skipped: int
    errors: list[RowError] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """created, updated, unchanged, skipped (what the audit log records)."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
        }


def import_file(
    path: str | Path,
    kind: str,
    *,
    open_store: Callable[[], AbstractContextManager[Store]],
    actor: str,
    skip_invalid: bool = False,
    source: str | None = None,
) -> ImportReport:
    """Validate `path`, then upsert its records, audit and count, in one transaction.

    Args:
        path: a .json, .csv or .xlsx file.
        kind: programs, applications, rounds, outcomes or orgs (houses).
        open_store: gives the store as a context manager, called only once the file was
            read (a `Store` closes itself at the end; pass `lambda: nullcontext(store)` for a
            shared store that stays open).
        actor: who imports, for the audit log (e.g. "cli:ali", "staff:maryam").
        skip_invalid: import the good rows and report the bad ones instead of raising.
        source: the file name for the audit log and messages (default: the path's name).

    Returns:
        What was imported.

    Raises:
        InvalidInputError: the file cannot be used at all.
        ImportValidationError: some rows are bad (every one listed) and not `skip_invalid`;
            nothing is imported.
        ConflictError: another import of the same kind for the same house is writing now
            (another request, process or machine); nothing is imported.
    """
    path = Path(path)
    source = source or path.name
    result = read_records(path, kind, skip_invalid=True)
    references = _REFERENCES.get(kind, ())
    if not skip_invalid and not references:
        result.raise_for_errors(source)
    with open_store() as store, store.session() as session:
        _claim(store, kind, session)
        if references:  # listed together with the file's other bad rows
            known = {name: _known_ids(store, name, session) for name in references}
            result = check_references(result, known, skip_invalid=skip_invalid, source=source)
        created, updated = store.upsert(kind, result.items, session=session)
        report = ImportReport(
            kind=kind,
            source=source,
            created=created,
            updated=updated,
            unchanged=len(result.items) - created - updated,
            skipped=len({error.row for error in result.errors}),
            errors=list(result.errors),
        )
        store.audit(actor, "import", kind, source, detail=report.counts(), session=session)
    return report


def _claim(store: Store, kind: str, session: Any) -> None:
    """One import of a kind per house at a time: two at once (two API processes, or the CLI
    beside the service) would interleave their upserts and both report counts that are no
    longer true. The second is refused before it writes anything."""
    house = store.scope.org_id or "*"
    if not store.try_exclusive(f"import:{kind}:{house}", session):
        raise ConflictError(
            bilingual(
                f"another import of {kind} is being written now; try again when it has finished",
                f"ورود دیگری از {KIND_FA.get(kind, kind)} هم‌اکنون در حال ثبت است؛"
                " پس از پایان آن دوباره بفرستید.",
            )
        )


def _known_ids(store: Store, kind: str, session: Any) -> set[str]:
    if kind != "orgs":
        return store.existing_ids(kind, session=session)
    # a store without houses yet makes the single-house install's implicit one on import
    return {o.id for o in store.list_organizations(session=session)} or {DEFAULT_ORG_ID}


def import_upload(
    data: bytes,
    filename: str,
    kind: str,
    *,
    open_store: Callable[[], AbstractContextManager[Store]],
    actor: str,
    skip_invalid: bool = False,
) -> ImportReport:
    """`import_file` for the bytes of an uploaded file (the format follows `filename`).

    Raises:
        InvalidInputError: larger than `MAX_IMPORT_BYTES`, an unknown extension, or a file
            that cannot be used.
        ImportValidationError: as `import_file`.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInputError(f"{filename}: the file is larger than {MAX_IMPORT_BYTES} bytes")
    suffix = Path(filename or "").suffix.lower()
    detect_format(f"upload{suffix}")
    with tempfile.TemporaryDirectory(prefix="peyvand-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return import_file(
            path,
            kind,
            open_store=open_store,
            actor=actor,
            skip_invalid=skip_invalid,
            source=Path(filename).name[:200],
        )
