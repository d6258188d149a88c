from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from trunkline.call.service import call_service
from trunkline.call.twilio import basic_credentials, call_resource, sid_uuid, twilio_error
from trunkline.deps import SessionDep
from trunkline.errors import CallNotFound, InvalidAuthToken
from trunkline.workspace.service import workspace_service

# Not in Trunkline's OpenAPI document: it mimics Twilio's own REST API (form body, Basic auth,
# Twilio's error bodies) for agents written against it; docs/calls.md §2 documents it.
router = APIRouter(
    prefix="/2010-04-01/Accounts", tags=["twilio compatibility"], include_in_schema=False
)

_UNAUTHORIZED = JSONResponse(
    twilio_error(401, 20003, "Authenticate"),
    401,
    headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
)


@router.post("/{account_sid}/Calls/{call_sid}.json")
async def update_call(
    account_sid: str, call_sid: str, request: Request, session: SessionDep
) -> JSONResponse:
    """Hang up a call the Twilio way (``Status=completed``).

    HTTP Basic with the stream's ``accountSid`` and an API token of the workspace; answers the
    call resource (200), 404 with Twilio's code 20404 for an unknown call, 401 (20003)
    otherwise. Idempotent, like ``DELETE /api/v1/calls/{uuid}``."""
    creds = basic_credentials(request.headers.get("authorization"))
    workspace = sid_uuid(account_sid, "AC")
    if creds is None or workspace is None or creds[0] != account_sid:
        return _UNAUTHORIZED
    try:
        auth = await workspace_service.authenticate(session, creds[1])
    except InvalidAuthToken:
        return _UNAUTHORIZED
    if auth.workspace_id != workspace:
        return _UNAUTHORIZED
    form = parse_qs((await request.body()).decode(errors="replace"))
    status = (form.get("Status") or [""])[0]
    call_id = sid_uuid(call_sid, "CA")
    if status not in ("completed", "canceled"):
        message = "Only Status=completed or canceled (hang up) is supported."
        return JSONResponse(twilio_error(400, 21218, message), 400)
    if call_id is None:
        return JSONResponse(twilio_error(404, 20404, "The requested resource was not found"), 404)
    try:
        call = await call_service.request_hangup(session, auth.workspace_id, call_id)
    except CallNotFound:
        return JSONResponse(twilio_error(404, 20404, "The requested resource was not found"), 404)
    return JSONResponse(call_resource(call, account_sid))
