"""Layer dialects: one module per API, request checks and event shapes; no I/O.

requests (request bodies and the `simulation` options), responses (Responses API events),
chat (Chat Completions chunks), responses_websocket (the Responses WebSocket mode's messages),
common (what they share). A new API dialect goes here. May import helpers.server.model only.
"""
