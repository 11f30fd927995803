"""Layer: app (the top). May import: every layer below, and the lesson helpers (helpers.sse).

The two command lines, each printing where to connect once a client really can; Ctrl-C stops it:

    python -m helpers.server --host 127.0.0.1 --port 0 --ttft-ms 300 --tokens-per-second 40
    python -m helpers.server.demo [--lan --api-key KEY] [--port 8765]     (also: make demo)

`helpers/server/__main__.py` and `helpers/server/demo.py` only call `main` and `demo_main`.
"""

from __future__ import annotations

import argparse
import socket
import sys

from helpers.jupyter_url import NotInJupyter, current_jupyter, proxied_url
from helpers.server.app.demo import install_demo
from helpers.server.app.server import (
    base_url_of,
    bind_socket,
    create_app,
    is_loopback,
    serve_until_interrupted,
)
from helpers.server.model.real import ModelNotAvailable, model_source_named
from helpers.server.model.simulated import LatencyProfile
from helpers.server.model.source import Simulation

SERVER_DESCRIPTION = (
    "A local OpenAI-compatible streaming server backed by the simulated model (offline, no key)."
)
DEMO_DESCRIPTION = (
    "The classroom demo: one prompt answered blocking and streamed, side by side, in a browser."
)
DEMO_PORT = 8765

# --------------------------------------------------------------------------- the server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.server", description=SERVER_DESCRIPTION
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ttft-ms", type=float, default=300.0)
    parser.add_argument("--tokens-per-second", type=float, default=40.0)
    parser.add_argument("--jitter", type=float, default=0.25)
    parser.add_argument("--think-ms", type=float, default=0.0)
    parser.add_argument("--prefill-tokens-per-second", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fault", choices=["error", "drop", "stall", "429", "500", "529"], default=None
    )
    parser.add_argument("--fault-after", type=int, default=5, help="tokens before error/drop/stall")
    parser.add_argument(
        "--fault-count", type=int, default=None, help="fault only the first N requests"
    )
    parser.add_argument("--stall-seconds", type=float, default=3600.0)
    parser.add_argument(
        "--heartbeat-seconds",
        type=float,
        default=None,
        help="send an SSE comment (': keep-alive') after this many quiet seconds; default: never",
    )
    parser.add_argument(
        "--hangup-grace-seconds",
        type=float,
        default=0.0,
        help="keep generating this long after a client hangs up, as a real server bills until "
        "it notices (GET /kit/tokens/ID counts those tokens); default: stop at once",
    )
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument(
        "--model",
        default=None,
        help="smollm2: a real model on your CPU (optional install: make local-model); "
        "default: the simulated model",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """`python -m helpers.server`."""
    args = parse_args(argv)
    if not is_loopback(args.host) and not args.api_key:
        print(
            f"Refusing to listen on {args.host!r} without --api-key: anyone on the network could "
            "use this server. Add --api-key KEY, or use --host 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    latency = LatencyProfile(
        args.ttft_ms / 1000,
        args.tokens_per_second,
        args.jitter,
        args.prefill_tokens_per_second,
        args.think_ms / 1000,
    )
    try:
        source = model_source_named(args.model)
    except ModelNotAvailable as missing:
        print(missing, file=sys.stderr)
        return 2
    simulation = Simulation(
        latency,
        args.seed,
        args.fault,
        args.fault_after,
        args.stall_seconds,
        heartbeat=args.heartbeat_seconds,
        model_source=source,
    )
    app = create_app(
        simulation,
        api_key=args.api_key,
        fault_count=args.fault_count,
        hangup_grace=args.hangup_grace_seconds,
    )
    sock = bind_socket(args.host, args.port)
    return serve_until_interrupted(app, sock, lambda: print(base_url_of(sock), flush=True))


# --------------------------------------------------------------------------- the classroom demo


def lan_address() -> str:
    """This machine's address on the local network (a UDP connect sends no packet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def parse_demo_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.server.demo", description=DEMO_DESCRIPTION
    )
    parser.add_argument("--lan", action="store_true", help="listen on all interfaces")
    parser.add_argument("--api-key", default=None, help="required with --lan")
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"0 picks a free port; default {DEMO_PORT}, or 0 inside Jupyter (many students, "
        "one hub host)",
    )
    parser.add_argument(
        "--jupyter",
        action="store_true",
        help="print only the jupyter-server-proxy URL; fail if not inside a Jupyter server",
    )
    parser.add_argument("--ttft-ms", type=float, default=300.0, help="server default")
    parser.add_argument("--tokens-per-second", type=float, default=20.0, help="server default")
    return parser.parse_args(argv)


def share_urls(host: str, port: int, api_key: str | None, proxied: str | None = None) -> list[str]:
    """The lines to print: where the teacher and the students open the page.

    Inside Jupyter (`proxied` given) 127.0.0.1 may be another machine than the browser's, so
    only the jupyter-server-proxy URL is printed; a bare path means "on your hub's address".
    """
    if proxied is not None:
        where = "" if proxied.startswith("http") else " (after your hub's address)"
        return [f"Open in your browser{where}:  {proxied}"]
    lines = [f"On this machine:  http://127.0.0.1:{port}/demo"]
    if host != "127.0.0.1":
        lines.append(f"Students open:    http://{lan_address()}:{port}/demo?api_key={api_key}")
        lines.append("(the key is in the URL because EventSource cannot send headers)")
    return lines


def demo_main(argv: list[str] | None = None) -> int:
    """`python -m helpers.server.demo` (and `make demo`)."""
    args = parse_demo_args(argv)
    if args.lan and not args.api_key:
        print(
            "--lan needs --api-key KEY: anyone on the network could otherwise use this server.",
            file=sys.stderr,
        )
        return 2
    host = "0.0.0.0" if args.lan else "127.0.0.1"
    jupyter = None if args.lan else current_jupyter()
    port = args.port if args.port is not None else (DEMO_PORT if jupyter is None else 0)
    if args.jupyter and jupyter is None:
        print(NotInJupyter(port, "/demo"), file=sys.stderr)
        return 2
    latency = LatencyProfile(args.ttft_ms / 1000, args.tokens_per_second)
    app = create_app(Simulation(latency), api_key=args.api_key)
    install_demo(app)
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        print(
            f"Cannot listen on {host}:{port} ({exc.strerror}): another demo or server may have "
            "it. Stop that one, or pick another port: --port 0 takes a free one.",
            file=sys.stderr,
        )
        return 2

    def announce() -> None:
        print("Classroom demo ready. Ctrl-C stops it.", flush=True)
        bound = sock.getsockname()[1]
        proxied = None if jupyter is None else proxied_url(jupyter, bound, "/demo")
        for line in share_urls(host, bound, args.api_key, proxied):
            print("  " + line, flush=True)

    return serve_until_interrupted(app, sock, announce)
