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

# Who runs programs and intake rounds (DESIGN.md, Organization).
ORG_KINDS: tuple[str, ...] = (
    "creative_house",
    "innovation_center",
    "incubator",
    "accelerator",
    "technology_park",
    "fund",
    "network",
)
#: Account roles as a person reads them (web pages and the command line).
ROLE_LABELS_FA: dict[str, str] = {
    "admin": "مدیر سامانه",
    "network": "گردانندهٔ شبکه",
    "staff": "کارشناس خانه",
    "applicant": "متقاضی",
}

ORG_KIND_LABELS_FA: dict[str, str] = {
    "creative_house": "خانه خلاق",
    "innovation_center": "مرکز نوآوری",
    "incubator": "مرکز رشد",
    "accelerator": "شتاب‌دهنده",
    "technology_park": "پارک علم و فناوری",
    "fund": "صندوق",
    "network": "شبکه",
}
#: The one organization of a single-house install (files without org_id belong to it).
DEFAULT_ORG_ID = "main"
DEFAULT_ORG_NAME_FA = "خانه خلاق"

# A referral's life (DESIGN.md, Referral).
REFERRAL_STATES: tuple[str, ...] = (
    "pending_consent",
    "open",
    "accepted",
    "declined",
    "withdrawn",
)
REFERRAL_STATE_LABELS_FA: dict[str, str] = {
    "pending_consent": "در انتظار رضایت متقاضی",
    "open": "باز",
    "accepted": "پذیرفته شد",
    "declined": "رد شد",
    "withdrawn": "پس گرفته شد",
}

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
