"""How punctual is the kit's server under load? (A benchmark that prints figures, not a test.)

For C = 1, 50, 200, 500 concurrent streams of 100 tokens at 20 tokens/s with a 300 ms time to
first token, a client in a separate process measures, for every token, its arrival time minus
its scheduled time (request sent + 300 ms + i / 20 s):

- TTFT error: lateness of token 0;  inter-token lateness: lateness of tokens 1..99;
- p50 / p99 / max of each, in milliseconds, and SSE events per second received;
- 'earliest': the smallest lateness of any token; below zero, a token came before its time
  (a server whose clock started before the request was sent would show it here);
- 'own p99': p99 of each token's lateness minus its own stream's TTFT error. A server that
  times tokens from when its handler starts makes a request that waited in the accept queue
  late by the same amount for every token; this column shows the jitter left once that offset
  is removed. (The kit's server starts the clock when the kernel received the request, read
  from TCP_INFO on Linux: see helpers/arrival_clock.py.)

The same load runs against a minimal reference endpoint on the same stack (Starlette + uvicorn
+ sse-starlette's EventSourceResponse, the same schedule and a same-sized JSON payload), so the
two are printed side by side. The client is a lean raw-socket asyncio client; its CPU use is
printed so you can see it is not the bottleneck. Streams start spread evenly over one token
interval (--stagger-ms, default 50), like requests arriving over time rather than all in the
same microsecond; pass --stagger-ms 0 for the synchronized worst case.

    .venv/bin/python benchmarks/bench_server.py [--streams 1 50 200 500] [--stagger-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
TOKENS, TOKENS_PER_SECOND, TTFT = 100, 20.0, 0.300
PROMPT = "Describe a sailing boat in detail"  # no canned answer: generated prose, > 100 tokens
DELTA_MARKER = b"event: response.output_text.delta"
FINAL_MARKERS = (b"event: response.completed", b"event: response.incomplete")


# --------------------------------------------------------------------------- reference server


def reference_app():  # pragma: no cover - runs in its own process
    """The smallest honest peer: same schedule, same-sized events, sse-starlette framing."""
    from sse_starlette.sse import EventSourceResponse
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def stream(request):
        await request.body()
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def events():
            for index in range(TOKENS):
                await asyncio.sleep(
                    max(0.0, start + TTFT + index / TOKENS_PER_SECOND - loop.time())
                )
                payload = {
                    "type": "response.output_text.delta",
                    "sequence_number": index + 4,
                    "item_id": "msg_0123456789abcdef01234567",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": " token",
                    "logprobs": [],
                }
                yield {"event": "response.output_text.delta", "data": json.dumps(payload)}
            yield {"event": "response.completed", "data": "{}"}

        return EventSourceResponse(events(), sep="\n")

    return Starlette(routes=[Route("/v1/responses", stream, methods=["POST"])])


def serve_reference() -> None:  # pragma: no cover - runs in its own process
    import uvicorn

    from helpers.server import base_url_of, bind_socket, run_event_loop

    sock = bind_socket("127.0.0.1", 0)
    config = uvicorn.Config(reference_app(), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.005)
        print(base_url_of(sock), flush=True)
        await task

    run_event_loop(serve())  # the same event loop as the kit server (uvloop when installed)


# --------------------------------------------------------------------------- client


def request_bytes(base_url: str) -> bytes:
    address = urlsplit(base_url)
    body = json.dumps(
        {"model": "kit-sim-1", "input": PROMPT, "stream": True, "max_output_tokens": TOKENS}
    ).encode()
    head = (
        f"POST {address.path}/responses HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class StreamClient(asyncio.Protocol):
    """One stream, read with a bare asyncio Protocol: a timestamp and a byte scan per chunk.

    Lighter than asyncio streams (no StreamReader, no extra task per read), so that the
    client's own CPU time delays arrivals as little as possible. Another schedule or event
    shape (benchmarks/bench_classroom.py's demo viewers) overrides the markers and `due`.
    """

    delta_marker: bytes = DELTA_MARKER
    final_markers: tuple[bytes, ...] = FINAL_MARKERS

    def __init__(self, raw: bytes, done: asyncio.Future[None]) -> None:
        self.raw, self.done = raw, done
        self.loop = asyncio.get_running_loop()
        self.sent, self.pending = 0.0, b""
        self.latenesses: list[float] = []
        self.events = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.sent = self.loop.time()
        transport.write(self.raw)  # type: ignore[attr-defined]

    def due(self, index: int) -> float:
        """When text delta `index` is scheduled, on the event loop's clock."""
        return self.sent + TTFT + index / TOKENS_PER_SECOND

    def data_received(self, data: bytes) -> None:
        now = self.loop.time()
        pending = self.pending + data
        if b"\r" in pending:
            pending = pending.replace(b"\r\n", b"\n")  # sse-starlette can end lines in CRLF
        *blocks, self.pending = pending.split(b"\n\n")
        for block in blocks:
            self.events += 1
            if self.delta_marker in block:
                self.latenesses.append(now - self.due(len(self.latenesses)))
            elif any(marker in block for marker in self.final_markers):
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def one_stream(base_url: str, raw: bytes, delay: float) -> tuple[list[float], int]:
    """Latenesses (seconds) of each text delta, and how many SSE events arrived."""
    await asyncio.sleep(delay)
    loop = asyncio.get_running_loop()
    address = urlsplit(base_url)
    done = loop.create_future()
    _, client = await loop.create_connection(
        lambda: StreamClient(raw, done), address.hostname, address.port
    )
    await done
    return client.latenesses, client.events


def percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.median(ordered) * 1000, p99 * 1000, ordered[-1] * 1000


def verdict(diffs: list[float], goal: float) -> str:
    """Met or not met only when every round agrees; otherwise say the noise decides it.
    (The goal verdicts of bench_proxy.py and bench_classroom.py.)"""
    rounds = ", ".join(f"{d:+.1f}" for d in diffs)
    if all(d <= goal for d in diffs):
        return f"met in every round ({rounds} ms)"
    if all(d > goal for d in diffs):
        return f"NOT met in any round ({rounds} ms)"
    return f"not established: the rounds disagree ({rounds} ms)"


async def run_client(base_url: str, streams: int, stagger: float) -> dict:
    raw = request_bytes(base_url)
    cpu, wall = time.process_time(), time.perf_counter()
    delays = [stagger * i / streams for i in range(streams)]
    results = await asyncio.gather(*(one_stream(base_url, raw, d) for d in delays))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    first = [lat[0] for lat, _ in results if lat]
    later = [x for lat, _ in results for x in lat[1:]]
    own = [x - lat[0] for lat, _ in results for x in lat[1:]]  # minus the stream's TTFT error
    tokens = sum(len(lat) for lat, _ in results)
    return {
        "streams": streams,
        "complete": sum(len(lat) == TOKENS for lat, _ in results),
        "ttft": percentiles(first),
        "inter": percentiles(later),
        "own_p99": percentiles(own)[1],
        "earliest": min(first + later) * 1000,
        "events": sum(n for _, n in results),
        "events_per_s": sum(n for _, n in results) / wall,
        "tokens": tokens,
        "client_cpu": cpu / wall,
    }


# --------------------------------------------------------------------------- orchestration


def start_server(kind: str) -> tuple[subprocess.Popen[str], str]:
    if kind == "kit":
        command = [
            "-m",
            "helpers.server",
            "--port",
            "0",
            "--ttft-ms",
            str(TTFT * 1000),
            "--tokens-per-second",
            str(TOKENS_PER_SECOND),
            "--jitter",
            "0",
        ]
    else:
        command = [str(Path(__file__).resolve()), "--reference-server"]
    process = subprocess.Popen(
        [sys.executable, *command], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    return process, process.stdout.readline().strip()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), to compare cost per event."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    kind: str, server: subprocess.Popen[str], base_url: str, streams: int, stagger_ms: float
) -> dict:
    server_cpu = cpu_seconds(server.pid)
    output = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--client",
            base_url,
            "--streams",
            str(streams),
            "--stagger-ms",
            str(stagger_ms),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(output)
    server_cpu = cpu_seconds(server.pid) - server_cpu
    return {"server": kind, **result, "server_us_per_event": server_cpu / result["events"] * 1e6}


def print_row(row: dict) -> None:
    ttft, inter = row["ttft"], row["inter"]
    print(
        f"{row['server']:<14}{row['streams']:>5}{row['complete']:>6}"
        f"{ttft[0]:>8.1f}{ttft[1]:>8.1f}{ttft[2]:>8.1f}"
        f"{inter[0]:>8.1f}{inter[1]:>8.1f}{inter[2]:>8.1f}{row['earliest']:>9.1f}"
        f"{row['own_p99']:>8.1f}"
        f"{row['events_per_s']:>10.0f}{row['server_us_per_event']:>9.0f}"
        f"{row['client_cpu'] * 100:>9.0f}%",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 50, 200, 500])
    parser.add_argument("--stagger-ms", type=float, default=50.0)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--reference-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_server:
        return serve_reference()
    if args.client:
        result = asyncio.run(run_client(args.client, args.streams[0], args.stagger_ms / 1000))
        return print(json.dumps(result))

    print(
        f"{TOKENS} tokens/stream at {TOKENS_PER_SECOND:g} tokens/s, TTFT {TTFT * 1000:.0f} ms, "
        f"starts spread over {args.stagger_ms:g} ms; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} before the run"
    )
    print("lateness = arrival - schedule, in ms, measured by the client; 'done' = complete streams")
    print(
        f"{'server':<14}{'C':>5}{'done':>6}{'TTFT error p50/p99/max':>25}"
        f"{'inter-token lateness p50/p99/max':>34}{'earliest':>9}{'own p99':>8}{'events/s':>10}"
        f"{'srv µs/ev':>10}"
        f"{'client CPU':>10}"
    )
    for kind, label in [("kit", "kit server"), ("reference", "sse-starlette")]:
        process, base_url = start_server(kind)
        try:
            measure(label, process, base_url, 1, 0)  # warm-up, not printed: first-request costs
            for streams in args.streams:
                print_row(measure(label, process, base_url, streams, args.stagger_ms))
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
