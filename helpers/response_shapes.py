"""Pieces of the Responses API's objects that every transport sends the same way.

The SDK validates each `response` object against its `Response` model, so even fields the kit
does not simulate (sampling settings, tools) must be present. Keeping them here means the HTTP
stream (`sim_events`) and the WebSocket mode (`ws_protocol`) cannot drift apart.
"""

from __future__ import annotations

from typing import Any

# Fields of a Response that the simulated model never varies.
FIXED_RESPONSE_FIELDS: dict[str, Any] = {
    "object": "response",
    "error": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": 1.0,
    "truncation": "disabled",
}


def text_part(text: str) -> dict[str, Any]:
    """An `output_text` content part, as carried by content_part events and message items."""
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
