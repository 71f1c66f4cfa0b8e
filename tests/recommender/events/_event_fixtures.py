"""A small Persian event for the events tests: 3 slots, 2 tables, startups, a mentor, an
investor and a program, with one mutual and one one-sided request."""

from __future__ import annotations

import copy
from typing import Any

SLOTS = [
    {"id": "s1", "start": "09:00", "end": "09:20"},
    {"id": "s2", "start": "09:30", "end": "09:50"},
    {"id": "s3", "start": "10:00", "end": "10:20"},
]

PAYLOAD: dict[str, Any] = {
    "event": {
        "id": "demo-day",
        "name": "روز نمایش استارتاپ‌ها",
        "date": "2026-05-10",
        "slots": SLOTS,
        "tables": 2,
        "max_meetings_per_participant": 2,
    },
    "participants": [
        {
            "id": "pay",
            "kind": "startup",
            "name": "پرداخت‌یار",
            "profile": "سامانهٔ پرداخت و کیف پول برای فروشگاه‌های کوچک؛ فین‌تک و بانکداری",
            "availability": ["s1", "s2", "s3"],
            "requests": ["vc"],
        },
        {
            "id": "farm",
            "kind": "startup",
            "name": "کشت‌یار",
            "profile": "کشاورزی هوشمند با حسگر رطوبت خاک و آبیاری قطره‌ای",
            "availability": ["s1", "s2"],
            "requests": ["mentor1"],
        },
        {
            "id": "health",
            "kind": "startup",
            "name": "سلامت‌یار",
            "profile": "نوبت‌دهی آنلاین پزشک و پروندهٔ سلامت الکترونیک",
            "availability": ["s2", "s3"],
        },
        {
            "id": "mentor1",
            "kind": "mentor",
            "name": "دکتر رضایی",
            "profile": "منتور کشاورزی و آبیاری هوشمند، بیست سال تجربه",
            "availability": ["s1", "s2", "s3"],
        },
        {
            "id": "vc",
            "kind": "investor",
            "name": "صندوق نوآوری",
            "profile": "سرمایه‌گذاری در فین‌تک، پرداخت و بانکداری باز",
            "availability": ["s1", "s3"],
            "requests": ["pay"],
        },
        {
            "id": "acc",
            "kind": "program",
            "name": "شتاب‌دهندهٔ سلامت",
            "profile": "شتاب‌دهی استارتاپ‌های سلامت دیجیتال و پزشکی از راه دور",
            "availability": ["s2", "s3"],
        },
    ],
}


def payload(**event_changes: Any) -> dict[str, Any]:
    """A fresh copy of PAYLOAD, with changes to its event."""
    data = copy.deepcopy(PAYLOAD)
    data["event"].update(event_changes)
    return data
