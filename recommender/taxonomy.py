"""The sector taxonomy: the slugs programs and applications are tagged with, each sector's
Persian and English names and the keywords a plan in that sector uses (`sectors.json`, shipped
with the library). The one source of sector names for the index, the explanations, the web UI
and the sample data.

May import: nothing of the project.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

__all__ = ["SECTORS_PATH", "load_sectors", "sector_slugs", "sector_vocabulary"]

SECTORS_PATH = Path(__file__).resolve().parent / "sectors.json"


@lru_cache(maxsize=1)
def _sectors_json() -> str:
    return SECTORS_PATH.read_text(encoding="utf-8")


def load_sectors() -> list[dict]:
    """Return the sector list: dicts with `slug, name_fa, name_en, keywords_fa, keywords_en`.

    Returns:
        A fresh list (callers may modify it) in file order.
    """
    return json.loads(_sectors_json())


def sector_labels_fa() -> dict[str, str]:
    """Sector slug -> its Persian name (what pages and the command line show)."""
    return {s["slug"]: s.get("name_fa") or s["slug"] for s in load_sectors()}


def sector_slugs() -> set[str]:
    """Return the set of known sector slugs (e.g. ``{"fintech", "health", ...}``)."""
    return {sector["slug"] for sector in load_sectors()}


def sector_vocabulary() -> tuple[dict[str, str], dict[str, list[str]]]:
    """(Persian name per sector slug, Persian keywords per slug) from `sectors.json`."""
    labels: dict[str, str] = {}
    terms: dict[str, list[str]] = {}
    for sector in load_sectors():
        slug = sector["slug"]
        labels[slug] = sector.get("name_fa") or slug
        terms[slug] = [labels[slug], *sector.get("keywords_fa", [])]
    return labels, terms
