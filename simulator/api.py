"""The HTTP side: the aiohttp application, auth, fault injection and loud unknown routes."""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from simulator.gateway import Gateway
from simulator.state import Problem, SimState

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Routes discord.py calls without the bot token (the interaction token is the credential).
TOKENLESS = ("/interactions/", "/webhooks/")
SIMULATOR_KEY = web.AppKey("simulator", object)


class ApiError(Exception):
    """A Discord error response. `record` marks errors a correct bot would never cause."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
        *,
        record: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            self.body["errors"] = errors
        self.record = record


def rejected(body: dict[str, Any]) -> ApiError:
    """A 400 Invalid Form Body (from validation.FormErrors.body())."""
    return ApiError(400, body["code"], body["message"], body.get("errors"), record=True)


@dataclass
class Fault:
    method: str
    template: str
    status: int
    retry_after: float
    remaining: int = 1
    # Discord sometimes does the work and still answers 5xx (a gateway timeout on its side).
    after_commit: bool = False

    def matches(self, method: str, template: str) -> bool:
        return self.method == method and normalise(self.template) == normalise(template)


class Host(Protocol):
    """What the routes and the middleware use of the simulator (`Simulator`, server.py)."""

    state: SimState
    gateway: Gateway
    calls: deque[tuple[str, str, int]]
    after_call: Callable[[str, str, int], None] | None

    @property
    def base_url(self) -> str: ...

    @property
    def gateway_url(self) -> str: ...

    def take_fault(self, method: str, template: str) -> Fault | None: ...


def normalise(template: str) -> str:
    """'/channels/{channel_id}/messages' and '/channels/{id}/messages' are the same route."""
    parts = template.strip("/").split("/")
    return "/" + "/".join("{}" if p.startswith("{") and p.endswith("}") else p for p in parts)


def fault_response(fault: Fault) -> web.Response:
    if fault.status == 429:
        # Discord's rate-limit answer; discord.py only honours it when `Via` is present.
        body = {"message": "You are being rate limited.", "retry_after": fault.retry_after}
        body["global"] = False
        headers = {
            "Retry-After": str(max(1, round(fault.retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
            "X-RateLimit-Bucket": "simulated-bucket",
            "X-RateLimit-Scope": "user",
            "Via": "1.1 google",
        }
        return json_response(body, 429, headers)
    return json_response({"message": "500: Internal Server Error", "code": 0}, fault.status)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON with exactly `Content-Type: application/json`, as Discord sends it (discord.py
    only parses a body whose content type is that string, without a charset)."""
    response = web.Response(body=json.dumps(data).encode(), status=status, headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response


def no_content() -> web.Response:
    return web.Response(status=204)


def build_app(sim: Host, routes: list[tuple[str, str, Handler]]) -> web.Application:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        match = request.match_info
        if match.http_exception is not None:
            return _unknown_route(sim, request)
        template = match.route.resource.canonical if match.route.resource else request.path
        api_path = template.removeprefix(API_PREFIX)
        needs_token = template.startswith(API_PREFIX) and not api_path.startswith(TOKENLESS)
        if needs_token and request.headers.get("Authorization") != f"Bot {sim.state.token}":
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        fault = sim.take_fault(request.method, api_path)
        if fault is not None and not fault.after_commit:
            sim.calls.append((request.method, api_path, fault.status))
            return fault_response(fault)
        try:
            response = await handler(request)
        except ApiError as exc:
            if exc.record:
                sim.state.problems.append(
                    Problem("rejected", request.method, request.path, exc.status, exc.body)
                )
                log.warning("Simulator rejected %s %s: %s", request.method, request.path, exc.body)
            response = json_response(exc.body, exc.status)
        except web.HTTPException:
            raise
        except Exception as exc:
            # A bug in the simulator itself: fail the test rather than hide it in a retry.
            log.exception("Simulator failed on %s %s", request.method, request.path)
            body = {"message": f"Simulator error: {exc!r}", "code": 0}
            sim.state.problems.append(
                Problem("simulator-error", request.method, request.path, 500, body)
            )
            response = json_response(body, 500)
        if fault is not None:
            response = fault_response(fault)
        sim.calls.append((request.method, api_path, response.status))
        if sim.after_call is not None:
            sim.after_call(request.method, api_path, response.status)
        return response

    app = web.Application(middlewares=[middleware], client_max_size=64 * 1024 * 1024)
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    return app


def _unknown_route(sim: Host, request: web.Request) -> web.Response:
    message = f"Simulator has no route {request.method} {request.path}"
    body = {"message": f"404: Not Found ({message})", "code": 0}
    sim.state.problems.append(Problem("unknown-route", request.method, request.path, 404, body))
    log.error("%s: add it to simulator/ if the bot really calls it", message)
    return json_response(body, 404)


@dataclass
class Upload:
    field: str
    filename: str
    data: bytes
    content_type: str


async def read_body(request: web.Request) -> tuple[dict[str, Any], list[Upload]]:
    """The JSON payload and uploaded files of a JSON or multipart (payload_json) request."""
    if request.content_type.startswith("multipart/"):
        payload: dict[str, Any] = {}
        uploads: list[Upload] = []
        reader = await request.multipart()
        async for part in reader:
            if part.name == "payload_json":
                payload = json.loads(await part.text())  # type: ignore[union-attr]
            elif part.filename:
                data = await part.read()  # type: ignore[union-attr]
                kind = part.headers.get("Content-Type", "application/octet-stream")
                uploads.append(Upload(part.name or "", part.filename, bytes(data), kind))
        return payload, uploads
    if not request.can_read_body:
        return {}, []
    try:
        data = await request.json()
    except json.JSONDecodeError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.", record=True) from None
    return (data if isinstance(data, dict) else {"_list": data}), []
