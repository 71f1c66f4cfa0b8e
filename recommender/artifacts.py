"""One scheme for saved artifacts that are replaced over time: the candidate index, the
rankers, and (with `publish_dir`) the embedding model folders.

A `VersionedDir` is a folder of complete versions and one pointer to the live one::

    root/
      [subdir/]v0001/  v0002/ ...   each written whole under a hidden temporary name, then
                                     renamed into place (a reader never sees half a version)
      POINTER                        names the live version; replaced atomically

The rankers use `VersionedDir(root)` (numbered versions `v0001`, pointer `live.json`); the
candidate index uses `VersionedDir(root, pointer="CURRENT", subdir="versions",
naming="timestamped")`, the layout it has always had on disk.

Two pointer forms, chosen by the pointer's file name:

* `*.json`: `{"live": "v0002", "history": ["v0001", "v0002"]}`; `history` lists the versions
  that were made live, in order, and `rollback` steps back through it.
* anything else (`CURRENT`): one line, the live version's name. Every version of such a
  folder went live when it was published, so its history is every version up to the live
  one, in name order.

No version is ever changed in place: `publish` adds one, `promote`/`rollback` move the
pointer, `prune` deletes the oldest ones that are not live.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from recommender.errors import CorruptArtifactError, InvalidInputError, NotFoundError, bilingual

__all__ = ["VersionedDir", "publish_dir", "write_atomic"]

Naming = Literal["numbered", "timestamped"]
_NUMBERED = re.compile(r"^v(\d{4,})$")
_STAGING_PREFIX = ".staging-"


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks: the one checksum of saved artifacts (the index's
    files, a ranker's model file, the e5 weights a model folder was converted from)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8) so that a reader sees the old or the new file whole."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish_dir(final: str | Path, write: Callable[[Path], Any]) -> Path:
    """Write a whole folder with `write(tmp)` next to `final`, then swap it into place.

    For artifacts kept in one folder without versions (an embedding model built into the
    model cache): the old folder, if any, is moved aside and deleted only after the new one
    is in place, so a reader finds either the old folder or the new one, whole. The
    temporary folder is made with mode 0o700 (`tempfile.mkdtemp`): `write` widens the modes
    when other users must read the result.

    Returns:
        `final`.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        write(tmp)
        if final.exists():
            old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


class VersionedDir:
    """Complete versions of one artifact in a folder, with a pointer to the live one.

    Args:
        root: the artifact's folder (created when the first version is published).
        pointer: the pointer file's name in `root`: `live.json` (JSON, with history) or
            another name such as `CURRENT` (one line, the live version).
        subdir: the folder under `root` that holds the versions ("" = `root` itself).
        naming: "numbered" (`v0001`, `v0002`, ...) or "timestamped" (UTC time to the
            microsecond and a random suffix, e.g. `20250321T101500123456-1a2b3c4d`).
        what: what a version is, for messages ("model": "no model version 'v0009' ...").
    """

    def __init__(
        self,
        root: str | Path,
        *,
        pointer: str = "live.json",
        subdir: str = "",
        naming: Naming = "numbered",
        what: str = "artifact",
    ) -> None:
        if naming not in ("numbered", "timestamped"):
            raise ValueError(f"unknown naming '{naming}'; use numbered or timestamped")
        self.root = Path(root)
        self.pointer = pointer
        self.subdir = subdir
        self.naming = naming
        self.what = what

    def __repr__(self) -> str:
        return f"VersionedDir({str(self.root)!r}, pointer={self.pointer!r})"

    @property
    def versions_root(self) -> Path:
        """The folder that holds the version folders."""
        return self.root / self.subdir if self.subdir else self.root

    @property
    def pointer_path(self) -> Path:
        """The pointer file."""
        return self.root / self.pointer

    # ------------------------------------------------------------------ reading

    def versions(self) -> list[str]:
        """Every complete version, oldest first."""
        folder = self.versions_root
        if not folder.is_dir():
            return []
        if self.naming == "numbered":
            found = [p.name for p in folder.iterdir() if p.is_dir() and _NUMBERED.match(p.name)]
            return sorted(found, key=lambda name: int(name[1:]))
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and _is_name(p.name))

    def path(self, version: str) -> Path:
        """The folder of one version.

        Raises:
            NotFoundError: no such version.
        """
        if version not in self.versions():
            raise NotFoundError(
                bilingual(
                    f"no {self.what} version '{version}' in {self.versions_root}",
                    f"نسخهٔ «{version}» در {self.versions_root} نیست.",
                )
            )
        return self.versions_root / version

    def live(self) -> str | None:
        """The live version, or None when nothing was made live yet.

        Raises:
            CorruptArtifactError: the pointer cannot be read.
        """
        return self._state()[0]

    def live_path(self) -> Path | None:
        """The live version's folder (not checked to exist), or None."""
        live = self.live()
        return None if live is None else self.versions_root / live

    def history(self) -> list[str]:
        """The versions made live, oldest first (the live one last unless rolled back)."""
        return self._state()[1]

    def _state(self) -> tuple[str | None, list[str]]:
        path = self.pointer_path
        if not path.is_file():
            return None, []
        if self.pointer.endswith(".json"):
            return _read_json_pointer(path)
        try:
            name = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise CorruptArtifactError(f"cannot read {path}: {exc}") from exc
        if not _is_name(name):
            raise CorruptArtifactError(f"the pointer {path} is damaged")
        versions = self.versions()
        return name, versions[: versions.index(name) + 1] if name in versions else [name]

    # ------------------------------------------------------------------ writing

    def publish(
        self,
        write: Callable[[Path], Any],
        *,
        stamp: Callable[[Path, str], Any] | None = None,
        make_live: bool = False,
    ) -> str:
        """Add a version: `write(folder)` fills a hidden staging folder, which is renamed to
        the next free version name.

        Args:
            write: writes the artifact's files into the folder it is given.
            stamp: called with (folder, version) just before the rename, e.g. to record the
                version's name in its own metadata (again if another writer took the name).
            make_live: also point the pointer at the new version.

        Returns:
            The new version's name.
        """
        self.versions_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.versions_root))
        try:
            write(staging)
            version = self._rename_into_place(staging, stamp)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        if make_live:
            self.promote(version)
        return version

    def _rename_into_place(self, staging: Path, stamp: Callable[[Path, str], Any] | None) -> str:
        for _ in range(1000):
            version = self._next_name()
            if stamp is not None:
                stamp(staging, version)
            try:
                os.rename(staging, self.versions_root / version)
            except OSError:
                if (self.versions_root / version).exists():  # another writer took the name
                    continue
                raise
            return version
        raise CorruptArtifactError(f"cannot find a free version name in {self.versions_root}")

    def _next_name(self) -> str:
        if self.naming == "timestamped":
            now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
            return f"{now}-{uuid.uuid4().hex[:8]}"
        existing = self.versions()
        number = int(existing[-1][1:]) + 1 if existing else 1
        return f"v{number:04d}"

    def promote(self, version: str, check: Callable[[str], Any] | None = None) -> str:
        """Make `version` live; `check(version)` runs first (e.g. load it) and may raise.

        Raises:
            NotFoundError: no such version.
        """
        self.path(version)
        if check is not None:
            check(version)
        live, history = self._state()
        if live != version:
            history.append(version)
        self._write_pointer(version, history)
        return version

    def rollback(self, check: Callable[[str], Any] | None = None) -> str:
        """Make the previously live version live again (`check` runs on it first).

        Returns:
            The version now live.

        Raises:
            InvalidInputError: there is no earlier live version.
        """
        live, history = self._state()
        present = set(self.versions())
        history = [v for v in history if v in present]
        if live in history:
            history = history[: len(history) - history[::-1].index(live)]
        if len(history) < 2:
            raise InvalidInputError(
                bilingual(
                    f"there is no earlier live {self.what} to roll back to",
                    "نسخهٔ زندهٔ پیشینی برای بازگشت نیست.",
                )
            )
        previous = history[-2]
        if check is not None:
            check(previous)
        self._write_pointer(previous, history[:-1])
        return previous

    def _write_pointer(self, live: str, history: list[str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.pointer.endswith(".json"):
            text = json.dumps({"live": live, "history": history}, indent=2, ensure_ascii=False)
        else:
            text = live + "\n"
        write_atomic(self.pointer_path, text)

    def prune(self, keep: int) -> list[str]:
        """Delete the oldest versions so that at most `keep` (>= 1) stay; the live one always
        stays. Readers that opened a deleted version keep their open files.

        Returns:
            The deleted versions.
        """
        versions = self.versions()
        live = self.live()
        old = [v for v in versions if v != live][: max(0, len(versions) - max(1, keep))]
        for version in old:
            shutil.rmtree(self.versions_root / version, ignore_errors=True)
        return old


def _is_name(name: str) -> bool:
    """A version folder's name: not empty, not hidden, no path separator."""
    return bool(name) and not name.startswith(".") and "/" not in name and "\\" not in name


def _read_json_pointer(path: Path) -> tuple[str | None, list[str]]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state.get("history"), list):
            raise ValueError("history is not a list")
        live = state.get("live")
        if live is not None and not _is_name(str(live)):
            raise ValueError(f"'{live}' is not a version name")
    except (ValueError, OSError, AttributeError) as exc:
        raise CorruptArtifactError(f"cannot read {path}: {exc}") from exc
    return (None if live is None else str(live)), [str(v) for v in state["history"]]
