"""Layer: app (the top). May import: every layer below, and the lesson helpers (helpers.sse).

POST /v1/responses/{id}/cancel: stop a response that is still being generated.

With one-way streaming (SSE) the client cannot speak on the stream it is reading, so stopping
the server takes either a second request (this endpoint; the SDK calls it
``client.responses.cancel(id)``) or hanging up. Lesson 09 measures both against the WebSocket's
in-band ``response.steer``.

Where the response lives decides what "cancel" does:

- streamed over a WebSocket (``helpers.server.transport.websocket``): it ends at the next token
  boundary with status ``"cancelled"``, the socket stays open for the next response;
- answered over HTTP (``app.state.live_streams``, response id -> task): the task is cancelled,
  so generation stops at once and the SSE body ends where it was.

Unknown or already finished ids get the API's 404 error, naming the id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CANCEL_PATH = "/v1/responses/{response_id}/cancel"
UNFINISHED_BODY = "ASGI callable returned without completing response."


class _ExpectCutBodies(logging.Filter):
    """uvicorn logs an error when a body ends early; a body we cut on purpose is not news.

    Each HTTP cancel expects exactly one such record; any other record passes through.
    """

    def __init__(self) -> None:
        super().__init__()
        self.expected = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if self.expected and record.getMessage() == UNFINISHED_BODY:
            self.expected -= 1
            return False
        return True


_cut_bodies = _ExpectCutBodies()


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
    _cut_bodies.expected += 1
    task.cancel()
    return JSONResponse(cancelled_response(response_id))


def install(app: Starlette) -> None:
    """Add the route (POST only; the SDK's ``client.responses.cancel(id)`` calls it)."""
    app.router.routes.append(Route(CANCEL_PATH, cancel_response, methods=["POST"]))
    uvicorn_errors = logging.getLogger("uvicorn.error")
    if _cut_bodies not in uvicorn_errors.filters:
        uvicorn_errors.addFilter(_cut_bodies)
