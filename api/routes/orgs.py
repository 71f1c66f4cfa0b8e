"""Organizations (houses) of the network: the list every signed-in user may read.

`GET /v1/orgs`: every house (id, name, kind, province, city, active), ordered by id. Houses
are not a tenant's rows: an applicant choosing where to apply and staff referring between
houses see the same list.
"""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import CurrentUserDep, StoreDep
from ..schemas import OrgPublic

router = APIRouter(prefix="/v1/orgs", tags=["network"])


@router.get("", response_model=list[OrgPublic])
def list_orgs(store: StoreDep, user: CurrentUserDep) -> list[OrgPublic]:
    """Every house of the network."""
    return [OrgPublic(**org.model_dump()) for org in store.list_organizations()]
