"""POST /v1/responses/{id}/cancel: stop a response that is still being generated.

With one-way streaming (SSE) the client cannot speak on the stream it is reading, so stopping
the server takes either a second request (this endpoint; the SDK calls it
``client.responses.cancel(id)``) or hanging up. Lesson 09 measures both against the WebSocket's
in-band ``response.steer``.

Where the response lives decides what "cancel" does:

- streamed over a WebSocket (``helpers.ws_server``): it ends at the next token boundary with
  status ``"cancelled"``, the socket stays open for the next response;
- answered over HTTP (``app.state.live_streams``, response id -> task): the task is cancelled,
  so generation stops at once and the SSE body ends where it was.

Unknown or already finished ids get the API's 404 error, naming the id.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CANCEL_PATH = "/v1/responses/{response_id}/cancel"


def cancelled_response(response_id: str) -> dict[str, Any]:
    """The answer body: a Response object whose status says what happened."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "cancelled",
        "model": "",
        "output": [],
        "error": None,
        "incomplete_details": None,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }


def not_found(response_id: str) -> JSONResponse:
    message = (
        f"No response with id '{response_id}' is being generated (unknown, or already finished)."
    )
    error = {"message": message, "type": "invalid_request_error", "param": "response_id",
             "code": "response_not_found"}
    return JSONResponse({"error": error}, status_code=404)


async def cancel_response(request: Request) -> JSONResponse:
    """Stop the response if it is in flight on this server; 404 otherwise."""
    response_id = request.path_params["response_id"]
    state = request.app.state
    ws_stats = getattr(state, "ws_stats", None)
    if ws_stats is not None and ws_stats.cancel(response_id):
        return JSONResponse(cancelled_response(response_id))
    task: asyncio.Task[Any] | None = getattr(state, "live_streams", {}).get(response_id)
    if task is None or task.done():
        return not_found(response_id)
    task.cancel()
    return JSONResponse(cancelled_response(response_id))


def install(app: Starlette) -> None:
    """Add the route (POST only; the SDK's ``client.responses.cancel(id)`` calls it)."""
    app.router.routes.append(Route(CANCEL_PATH, cancel_response, methods=["POST"]))
