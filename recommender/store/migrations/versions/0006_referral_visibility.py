"""Row-level security: a receiving house sees a referral only once the applicant consented.

0004's policy on `referrals` let the receiving house read a referral in any state, including
one still waiting for the applicant's consent (with its note about the application) and one the
applicant refused. The rule is now the store's (`tenancy.referrals_visible`): the referring
house sees its referrals; the receiving house those that were opened to it (open, accepted,
declined); the owning applicant those of their applications. (PostgreSQL only; SQLite relies
on the store.)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TENANT_ROLE = "peyvand_tenant"  # recommender.store.tenancy.TENANT_ROLE
_ORG = "coalesce(current_setting('peyvand.org_id', true), '')"
_USER = "coalesce(current_setting('peyvand.user_id', true), '')"
_OWNED = (
    "SELECT o.application_id FROM application_owners o "
    f"WHERE {_USER} <> '' AND o.user_id::text = {_USER}"
)

# Frozen here: a later change of the rule needs its own migration.
REFERRAL_POLICY = (
    f"({_ORG} <> '' AND (from_org = {_ORG} OR "
    f"(to_org = {_ORG} AND status IN ('open', 'accepted', 'declined')))) "
    f"OR application_id IN ({_OWNED})"
)
_REFERRAL_POLICY_0004 = (
    f"({_ORG} <> '' AND (from_org = {_ORG} OR to_org = {_ORG})) OR application_id IN ({_OWNED})"
)


def _replace_referral_policy(condition: str) -> None:
    for policy in ("tenant_read", "tenant_change", "tenant_delete"):
        op.execute(f"DROP POLICY IF EXISTS {policy} ON referrals")
    op.execute(
        f"CREATE POLICY tenant_read ON referrals FOR SELECT TO {TENANT_ROLE} USING ({condition})"
    )
    op.execute(
        f"CREATE POLICY tenant_change ON referrals FOR UPDATE TO {TENANT_ROLE} "
        f"USING ({condition}) WITH CHECK (true)"
    )
    op.execute(
        f"CREATE POLICY tenant_delete ON referrals FOR DELETE TO {TENANT_ROLE} USING ({condition})"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_referral_policy(REFERRAL_POLICY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_referral_policy(_REFERRAL_POLICY_0004)
