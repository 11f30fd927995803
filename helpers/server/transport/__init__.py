"""Layer transport: how events travel to the client.

sse_http (SSE framing over HTTP, request bodies, responses that stop when the client hangs up),
websocket (the Responses WebSocket mode), arrival_clock (when a request reached the machine).
May import helpers.server.dialects and helpers.server.model.
"""
