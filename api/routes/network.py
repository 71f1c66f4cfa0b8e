"""The network operator's view: demand and supply per house and per sector."""

from __future__ import annotations

from fastapi import APIRouter

from recommender.network.summary import NetworkSummary, network_summary

from ..deps import NetworkDep, StoreDep

router = APIRouter(prefix="/v1/network", tags=["network"])


@router.get("/summary", response_model=NetworkSummary)
def summary(store: StoreDep, user: NetworkDep) -> NetworkSummary:
    """Per house: programs, seats, applications, seats offered and granted in its rounds (fill
    rate), funding granted, referrals sent and received; per sector: applications (demand)
    against active programs, seats and budget (supply); the sectors with demand and no active
    program; referral counts per (from house, to house, status). Each figure is defined in
    `recommender.network.summary`. The network operator and admin only."""
    return network_summary(store)
