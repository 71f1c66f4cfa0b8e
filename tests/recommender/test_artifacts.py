"""The one versioned-artifact scheme: whole versions renamed into place, an atomically
replaced pointer (JSON with history, or the index's one-line CURRENT), rollback, pruning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recommender.artifacts import VersionedDir, publish_dir
from recommender.errors import CorruptArtifactError, InvalidInputError, NotFoundError


def writer(text: str):
    def write(folder: Path) -> None:
        (folder / "data.txt").write_text(text, encoding="utf-8")

    return write


def test_numbered_versions_with_a_json_pointer(tmp_path: Path) -> None:
    folder = VersionedDir(tmp_path, what="model")
    assert folder.versions() == [] and folder.live() is None and folder.live_path() is None
    stamped: list[str] = []
    v1 = folder.publish(writer("a"), stamp=lambda path, version: stamped.append(version))
    v2 = folder.publish(writer("b"))
    assert (v1, v2) == ("v0001", "v0002") and stamped == ["v0001"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v0001", "v0002"]  # no pointer yet
    folder.promote(v1)
    folder.promote(v2)
    pointer = json.loads((tmp_path / "live.json").read_text(encoding="utf-8"))
    assert pointer == {"live": "v0002", "history": ["v0001", "v0002"]}
    assert (folder.live_path() / "data.txt").read_text(encoding="utf-8") == "b"
    assert folder.rollback() == "v0001" and folder.history() == ["v0001"]
    with pytest.raises(InvalidInputError, match="no earlier live model"):
        folder.rollback()
    with pytest.raises(NotFoundError, match="no model version 'v0009'"):
        folder.promote("v0009")


def test_a_failed_write_or_check_changes_nothing(tmp_path: Path) -> None:
    folder = VersionedDir(tmp_path)
    folder.publish(writer("a"), make_live=True)

    def broken(path: Path) -> None:
        (path / "half").write_text("x")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        folder.publish(broken)
    assert folder.versions() == ["v0001"] and [p.name for p in tmp_path.glob(".*")] == []
    folder.publish(writer("b"))

    def refuse(version: str) -> None:
        raise CorruptArtifactError(f"{version} is damaged")

    with pytest.raises(CorruptArtifactError):
        folder.promote("v0002", check=refuse)
    assert folder.live() == "v0001"


def test_a_name_taken_by_another_writer_is_skipped(tmp_path: Path) -> None:
    folder = VersionedDir(tmp_path)

    def race(path: Path, version: str) -> None:
        if version == "v0001":  # another process publishes v0001 first
            (tmp_path / "v0001").mkdir(exist_ok=True)
            (tmp_path / "v0001" / "data.txt").write_text("theirs")

    assert folder.publish(writer("ours"), stamp=race) == "v0002"
    assert (tmp_path / "v0002" / "data.txt").read_text() == "ours"


def test_the_index_layout_current_pointer_and_pruning(tmp_path: Path) -> None:
    root = tmp_path / "index"
    # A home written before this module: an old-style version name and its CURRENT.
    old = "20250101T120000-abcdef12"
    (root / "versions" / old).mkdir(parents=True)
    (root / "CURRENT").write_text(old + "\n", encoding="utf-8")
    folder = VersionedDir(root, pointer="CURRENT", subdir="versions", naming="timestamped")
    assert folder.live() == old and folder.live_path() == root / "versions" / old
    newer = [folder.publish(writer(str(i)), make_live=True) for i in range(3)]
    assert folder.versions() == [old, *newer]
    assert (root / "CURRENT").read_text(encoding="utf-8") == newer[-1] + "\n"
    assert folder.history() == [old, *newer]
    assert folder.prune(keep=2) == [old, newer[0]]
    assert folder.versions() == newer[1:]
    assert folder.rollback() == newer[1] and folder.live() == newer[1]
    folder.publish(writer("x"))  # published, not live: pruning keeps the live one
    folder.prune(keep=1)
    assert folder.versions() == [newer[1]]
    assert not list((root / "versions").glob(".*"))


@pytest.mark.parametrize("content", ["../../etc", "", ".staging-x"])
def test_a_damaged_pointer_is_a_corrupt_artifact(tmp_path: Path, content: str) -> None:
    (tmp_path / "CURRENT").write_text(content, encoding="utf-8")
    with pytest.raises(CorruptArtifactError):
        VersionedDir(tmp_path, pointer="CURRENT", naming="timestamped").live()
    (tmp_path / "live.json").write_text(json.dumps({"live": content or 1, "history": 3}))
    with pytest.raises(CorruptArtifactError):
        VersionedDir(tmp_path).live()


def test_publish_dir_swaps_a_whole_folder(tmp_path: Path) -> None:
    final = tmp_path / "models" / "e5"
    publish_dir(final, writer("first"))
    publish_dir(final, writer("second"))
    assert (final / "data.txt").read_text() == "second"

    def broken(path: Path) -> None:
        raise OSError("no space")

    with pytest.raises(OSError):
        publish_dir(final, broken)
    assert (final / "data.txt").read_text() == "second"
    assert [p.name for p in final.parent.iterdir()] == ["e5"]
