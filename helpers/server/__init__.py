"""The package, above the layers: re-exports what notebooks and tests use from helpers.server.app.

The kit's local OpenAI-compatible server, in four layers; data flows one way, up:

    model      what text comes next and when: the simulated model, the optional real one,
               steering rules, the seam between them (model/source.py)
    dialects   one module per API: request checks and event shapes (Responses, Chat
               Completions, the Responses WebSocket mode); no I/O
    transport  how events travel: SSE over HTTP with hang-up handling, the WebSocket mode,
               the request-arrival clock
    app        routes, `create_app`, `LocalServer`, the command lines; background responses
               and replay, cancel, the classroom demo

A layer may import the layers below it, never one above (an import-linter contract in
pyproject.toml, run by `lint-imports`). A new API dialect goes in dialects/, a new way to
carry events in transport/.

    with LocalServer(ttft=0.3, tokens_per_second=40) as server: ...   # in a notebook
    python -m helpers.server --port 0                                 # command line
    python -m helpers.server.demo                                     # the classroom demo
"""

from helpers.server.app.server import (
    LocalServer,
    base_url_of,
    bind_socket,
    create_app,
    run_event_loop,
)

__all__ = ["LocalServer", "base_url_of", "bind_socket", "create_app", "run_event_loop"]
