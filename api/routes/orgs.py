"""Organizations (houses) of the network: the list every signed-in user may read."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/orgs", tags=["network"])
