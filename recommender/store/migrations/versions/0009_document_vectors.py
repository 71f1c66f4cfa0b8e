"""Document vectors in the store (`recommender.embedding.vector_cache.SqlVectorCache`): on
PostgreSQL every API process and queue worker, on every machine, shares one cache of plan
and program embeddings, so a plan embedded by any worker is never embedded again elsewhere.
No house column: the rows hold no text (a SHA-256 keys them), and the tenant role gets no
rights on the table, so no query made for a house can read them (a later migration that
calls 0004's `grant_tenant_rights` must revoke them again).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TENANT_ROLE = "peyvand_tenant"  # recommender.store.tenancy.TENANT_ROLE


def upgrade() -> None:
    op.create_table(
        "document_vectors",
        sa.Column("model_id", sa.String(300), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("n_chunks", sa.Integer(), nullable=False),
        sa.Column("n_tokens", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.LargeBinary(), nullable=False),
        sa.Column("pooled", sa.LargeBinary(), nullable=False),
        sa.Column("spans", sa.Text(), nullable=False),
        sa.Column("chunk_tokens", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "model_id", "text_sha256", "role", name=op.f("pk_document_vectors")
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            DO $$
            BEGIN
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{TENANT_ROLE}') THEN
                    EXECUTE 'REVOKE ALL ON document_vectors FROM {TENANT_ROLE}';
                END IF;
            END
            $$
            """
        )


def downgrade() -> None:
    op.drop_table("document_vectors")
