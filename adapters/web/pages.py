"""The printable bill page: `GET /bars/{bar}/booths/{booth}/bills/{bill}` (HTML).

Authenticated like the portal (`Authorization: Bearer rlk_…`): an operator or
auditor key reads any bar's bills, a bar owner's key only its own bar's; a
switch key none. Refusals are JSON `{"error", "message"}` with a 4xx status.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response

from adapters.http.auth import bearer_token
from adapters.http.errors import error
from adapters.web.bill import render_bill
from ledger.booths import check_booth_name
from ledger.errors import LedgerError
from services.api_keys import Principal
from services.phonebar.service import PhoneBars


def bill_pages(phonebars: PhoneBars, authenticate: Callable[[str | None], Principal | None],
               timezone: str) -> APIRouter:
    router = APIRouter()

    @router.get("/bars/{bar}/booths/{booth}/bills/{bill}", include_in_schema=False)
    def bill_page(bar: str, booth: str, bill: int, request: Request) -> Response:
        principal = authenticate(bearer_token(request.headers.get("authorization")))
        if principal is None:
            return error("unauthenticated", "send a valid API key: Authorization: Bearer <key>", 401,
                         {"WWW-Authenticate": "Bearer"})
        if not (principal.role in ("operator", "auditor") or (principal.role == "bar_owner" and principal.bar == bar)):
            return error("forbidden", "this key may not read this bar's bills", 403)
        try:
            check_booth_name(booth)
            found = phonebars.bill(bar, booth, bill)
        except LedgerError as err:
            return error(err.code, str(err), 400)
        if found is None:
            return error("unknown_bill", f"booth {booth} of bar {bar} has no bill {bill}", 404)
        return Response(render_bill(found, timezone), media_type="text/html; charset=utf-8")

    return router
