"""Versioned index folders: how a fitted retriever is written and found again.

`write_version(root, write)` publishes a complete new version under `root/versions/` and
switches the `root/CURRENT` pointer, through the project's one versioning scheme
(`recommender.artifacts.VersionedDir`: a staging folder renamed into place, the pointer
replaced atomically, so a reader never sees a half-written index); `current_version(root)`
follows the pointer. Every file of a version is listed with its sha256 in the version's config
(`checksums`) and checked on load (`verify_checksums`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recommender.artifacts import VersionedDir, file_sha256
from recommender.errors import CorruptArtifactError

__all__ = [
    "checksums",
    "current_version",
    "index_folder",
    "read_config",
    "verify_checksums",
    "write_version",
]

CURRENT_FILE = "CURRENT"
VERSIONS_DIR = "versions"


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by its relative POSIX path, sorted."""
    return {
        file.relative_to(folder).as_posix(): file_sha256(file)
        for file in sorted(folder.rglob("*"))
        if file.is_file()
    }


def verify_checksums(folder: Path, expected: dict[str, str]) -> None:
    """Check the files of `folder` against `expected` (from `checksums`).

    Raises:
        ValueError: a file that does not match its checksum.
        OSError: a file that is missing.
    """
    for name, digest in expected.items():
        if file_sha256(folder / name) != digest:
            raise ValueError(f"{name} does not match its checksum")


def read_config(folder: Path, name: str, fmt: str, version: int) -> dict[str, Any]:
    """The JSON config `folder/name`, checked to be of format `fmt`, version `version`.

    Raises:
        CorruptArtifactError: missing, unreadable or of another format or version.
    """
    try:
        config = json.loads((folder / name).read_text(encoding="utf-8"))
        if not isinstance(config, dict) or config.get("format") != fmt:
            raise ValueError("not a candidate index")
        if config.get("format_version") != version:
            raise ValueError(f"unsupported format version {config.get('format_version')}")
    except (OSError, ValueError) as exc:
        raise CorruptArtifactError(f"cannot read the candidate index in {folder}: {exc}") from exc
    return config


def index_folder(root: Path) -> VersionedDir:
    """The index root as a versioned folder: versions under `root/versions/`, the live one
    named by the one-line pointer `root/CURRENT` (the layout every saved home already has)."""
    return VersionedDir(
        root, pointer=CURRENT_FILE, subdir=VERSIONS_DIR, naming="timestamped", what="index"
    )


def write_version(root: Path, write: Callable[[Path], None], keep_versions: int = 2) -> Path:
    """Write a new version under `root` with `write(folder)` and make it the current one.

    The `keep_versions` newest versions stay (readers that opened an older one keep working).

    Args:
        root: the index root folder (created when missing).
        write: fills a (temporary) version folder.
        keep_versions: how many versions to keep, the new one included (>= 1).

    Returns:
        The new version's folder.
    """
    folder = index_folder(root)
    version = folder.publish(write, make_live=True)
    folder.prune(keep=max(1, keep_versions))
    return folder.versions_root / version


def current_version(path: Path) -> Path:
    """The folder `path/CURRENT` names, or `path` itself when it has no pointer (a version
    folder given directly).

    Raises:
        CorruptArtifactError: a damaged pointer.
    """
    live = index_folder(path).live_path()
    return path if live is None else live
