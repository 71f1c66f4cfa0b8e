"""Names and defaults shared by every stage (one place, so no stage invents its own)."""

from __future__ import annotations

SEED = 20261126
DEFAULT_TOP_K = 10
DEFAULT_CANDIDATES = 50

PROGRAM_KINDS: tuple[str, ...] = (
    "accelerator",
    "incubator",
    "creative_house",
    "innovation_center",
    "vc_fund",
    "grant_program",
    "technology_park",
)
STAGES: tuple[str, ...] = ("idea", "mvp", "early_revenue", "growth")

# Persian labels for what people read (UI, reasons, reports).
KIND_LABELS_FA: dict[str, str] = {
    "accelerator": "شتاب‌دهنده",
    "incubator": "مرکز رشد",
    "creative_house": "خانه خلاق",
    "innovation_center": "مرکز نوآوری",
    "vc_fund": "صندوق سرمایه‌گذاری خطرپذیر",
    "grant_program": "برنامه حمایتی بلاعوض",
    "technology_park": "پارک علم و فناوری",
}
STAGE_LABELS_FA: dict[str, str] = {
    "idea": "ایده",
    "mvp": "محصول اولیه",
    "early_revenue": "درآمد اولیه",
    "growth": "رشد",
}

#: How a plan wants its money, in Persian (facts read from a plan: `funding_kind`).
FUNDING_KIND_LABELS_FA: dict[str, str] = {
    "grant": "بلاعوض",
    "equity": "سرمایه در ازای سهام",
    "loan": "وام",
}

# Text limits.
MAX_PLAN_CHARS = 50_000
MAX_IMPORT_BYTES = 10 * 1024 * 1024
