"""The network operator's page `/network`: houses, sectors, referrals, with plots."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["web"], include_in_schema=False)
