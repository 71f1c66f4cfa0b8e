"""Referral pages: staff refer an application to another house, see incoming and outgoing
referrals and accept or decline them; applicants consent or refuse on their page."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["web"], include_in_schema=False)
