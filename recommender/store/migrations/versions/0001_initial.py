"""The first tables: programs, applications, intake rounds and their programs, outcomes,
audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "programs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("sectors", JSON, nullable=False),
        sa.Column("stages", JSON, nullable=False),
        sa.Column("province", sa.String(100), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("residency_seats", sa.Integer(), nullable=False),
        sa.Column("funding_min", sa.BigInteger(), nullable=False),
        sa.Column("funding_max", sa.BigInteger(), nullable=False),
        sa.Column("equity_percent", sa.Float(), nullable=True),
        sa.Column("requires_knowledge_based", sa.Boolean(), nullable=False),
        sa.Column("accepts_remote", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
    )
    op.create_index(op.f("ix_programs_kind"), "programs", ["kind"])
    op.create_index(op.f("ix_programs_active"), "programs", ["active"])

    op.create_table(
        "applications",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("startup_name", sa.String(300), nullable=False),
        sa.Column("business_plan", sa.Text(), nullable=False),
        sa.Column("sectors", JSON, nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("province", sa.String(100), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("team_size", sa.Integer(), nullable=False),
        sa.Column("funding_ask", sa.BigInteger(), nullable=False),
        sa.Column("needs_residency", sa.Boolean(), nullable=False),
        sa.Column("knowledge_based", sa.Boolean(), nullable=False),
        sa.Column("founded_year", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.String(64), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
    )
    op.create_index(op.f("ix_applications_round_id"), "applications", ["round_id"])

    op.create_table(
        "intake_rounds",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_rounds")),
    )

    op.create_table(
        "round_programs",
        sa.Column("round_id", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("budget", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["intake_rounds.id"],
            name=op.f("fk_round_programs_round_id_intake_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_round_programs_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("round_id", "program_id", name=op.f("pk_round_programs")),
    )
    op.create_index(op.f("ix_round_programs_program_id"), "round_programs", ["program_id"])

    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("program_id", sa.String(64), nullable=False),
        sa.Column("round_id", sa.String(64), nullable=True),
        sa.Column("residency_granted", sa.Boolean(), nullable=False),
        sa.Column("funded_amount", sa.BigInteger(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_outcomes_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_outcomes_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
        sa.UniqueConstraint(
            "application_id", "program_id", name=op.f("uq_outcomes_application_id")
        ),
    )
    op.create_index(op.f("ix_outcomes_application_id"), "outcomes", ["application_id"])
    op.create_index(op.f("ix_outcomes_program_id"), "outcomes", ["program_id"])
    op.create_index(op.f("ix_outcomes_round_id"), "outcomes", ["round_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target_kind", sa.String(50), nullable=False),
        sa.Column("target_id", sa.String(300), nullable=False),
        sa.Column("detail", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_target_kind"), "audit_log", ["target_kind"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("outcomes")
    op.drop_table("round_programs")
    op.drop_table("intake_rounds")
    op.drop_table("applications")
    op.drop_table("programs")
