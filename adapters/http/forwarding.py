"""Switch hook of the forwarding service: an agent's line is busy (or free again) outside the platform's calls.

The switch sees what the platform cannot: an agent on a call it did not
route (a direct call to the agent's line, do-not-disturb). It reports it
here with its bearer token; the agent is skipped by the call distributor
until reported free. Errors keep the one shape `{"error", "message"}` and
change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from adapters.http.errors import json_response
from adapters.http.models import ErrorAnswer
from adapters.http.switch_calls import switch_call
from services.forwarding.service import Forwarding

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorAnswer} for code in (401, 404, 422)}


class AgentBody(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    busy: bool


class AgentAnswer(BaseModel):
    business: str
    agent: str
    busy: bool
    #: Every agent of the business busy now (holding a forwarded call, or reported busy).
    busy_agents: list[str]


def build_forwarding_router(forwarding: Forwarding, switch_of: Callable[[str | None], str]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["switch hooks"], responses=ERRORS)

    @router.post("/forwarding/{business}/agents/{agent}", response_model=AgentAnswer)
    async def mark_agent(business: str, agent: str, request: Request) -> Response:
        """An agent of a forwarded business is busy (`{"busy": true}`) or free again (`false`)."""
        profile = await switch_call(request, switch_of, AgentBody, lambda body, actor: forwarding.mark_agent(
            business, agent, body.busy, actor))
        if isinstance(profile, Response):
            return profile
        e164 = forwarding.number(agent)
        return json_response({"business": profile["number"], "agent": e164, "busy": e164 in profile["busy"],
                              "busy_agents": profile["busy"]})

    return router
