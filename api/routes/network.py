"""The network operator's view: demand and supply per house and per sector."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/network", tags=["network"])
