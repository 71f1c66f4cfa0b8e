"""The network operator's page `/network`: houses, sectors, referrals, with plots."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from recommender.constants import ORG_KIND_LABELS_FA, REFERRAL_STATE_LABELS_FA
from recommender.network.charts import NETWORK_OPERATOR_FA, network_charts
from recommender.network.summary import network_summary

from ..deps import store_for
from .views import WebNetworkDep, render

router = APIRouter(tags=["web"], include_in_schema=False)


@router.get("/network", response_class=HTMLResponse)
def network_page(request: Request, user: WebNetworkDep) -> Response:
    """Every house's figures, demand and supply per sector, the sectors to open next and the
    referrals between houses: charts, and the same figures in tables (network operator and
    admin)."""
    summary = network_summary(store_for(request, user))
    charts = {} if summary.is_empty else network_charts(summary)
    names = {h.org_id: h.name for h in summary.houses}
    return render(
        request,
        "network.html",
        user=user,
        summary=summary,
        charts=charts,
        house_names=names,
        network_operator=NETWORK_OPERATOR_FA,
        org_kinds=ORG_KIND_LABELS_FA,
        referral_states=REFERRAL_STATE_LABELS_FA,
    )
