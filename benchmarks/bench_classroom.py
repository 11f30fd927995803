"""How punctual is the kit in a classroom on one hub host? (A benchmark that prints figures.)

1. Students. N real Jupyter kernels (jupyter_client, this venv's ipykernel; N = 5 and 10 by
   default) each do what lesson 3 does: `helpers.backends.get_backend()` starts the kernel's
   own LocalServer, and the openai SDK streams ANSWERS answers of TOKENS tokens (Responses API,
   stream=True) with a known schedule, `extra_body={"simulation": {"ttft": 0.3,
   "tokens_per_second": 20, "jitter": 0}}`. After a warm-up answer, all kernels start at the
   same wall-clock moment. In the kernel, each text delta's arrival is compared with its
   schedule, timed from just before `create()` as lesson 3 times it (so the SDK's own cost of
   sending the request is in the TTFT error). Printed per student and overall: TTFT error
   p50/p99 and inter-token lateness p50/p99/max, in ms, with the load average.

2. The demo. `python -m helpers.server.demo --port 0` (its defaults: 300 ms TTFT, 20 tokens/s,
   seeded jitter ±25 %) and a real `jupyter server` with jupyter-server-proxy under the base URL
   /user/alice/ (a token, loopback only), as on a hub. VIEWERS streams of /demo/stream open at
   once, directly and through /user/alice/proxy/PORT/demo/stream (with `Accept:
   text/event-stream`, as EventSource sends, and the Jupyter token); direct and proxied runs
   alternate, round after round, so a noisy neighbour hits both alike. The client is
   benchmarks/bench_server.py's lean raw-socket StreamClient: each viewer's clock starts when
   its request was written, and each token's lateness is its arrival minus (request written +
   the demo's own schedule for that token). Printed per run: first-token error and inter-token
   lateness p50/p99/max, the earliest token (below 0: early), how many viewers got the exact
   text, and the CPU the demo server and the Jupyter server (the proxy) spent per delivered
   event (/proc/PID/stat), then a verdict for each goal of issue 18:
       p50 first-token error <= 30 ms directly;  the proxy adds <= 20 ms to it (p50).
   A goal is met or not met only when every round agrees; otherwise "not established".
   Where configurable-http-proxy is installed (`make hub-deps`), a third path goes through it
   (JupyterHub's own proxy, node, routing to the demo): no goal, for comparison.

All the processes (kernels and their servers, the demo, the Jupyter server, this client) share
the machine's cores, as they would on a hub host.

    flock /tmp/kit-bench.lock .venv/bin/python benchmarks/bench_classroom.py \\
        [--students 5 10] [--viewers 100] [--rounds 3] [--stagger-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_server import StreamClient, cpu_seconds, percentiles, verdict
from jupyter_client.manager import KernelManager

from helpers.chunked import ChunkedDecoder
from helpers.server.model.simulated import LatencyProfile, answer_prompt
from helpers.sse import SSEDecoder

ROOT = Path(__file__).resolve().parent.parent
JUPYTER_VARS = ("JUPYTERHUB_", "JUPYTER_SERVER_URL", "JPY_PARENT_PID")
FIRST_TOKEN_GOAL_MS, PROXY_GOAL_MS = 30.0, 20.0

# What each student streams.
ANSWERS, TOKENS, TTFT, TOKENS_PER_SECOND = 3, 60, 0.300, 20.0
STUDENT_PROMPT = "Describe a sailing boat in detail"  # generated prose, longer than TOKENS

# What the teacher's demo streams: the page's default prompt, the demo's default latency.
DEMO_PROMPT, DEMO_TTFT_MS, DEMO_TOKENS_PER_SECOND = "Compare websockets vs SSE", 300, 20.0
JUPYTER_BASE = "/user/alice/"


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without Jupyter's markers (the demo then prints its direct URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(JUPYTER_VARS)}
    return {**env, **extra}


def load() -> str:
    return f"load average {os.getloadavg()[0]:.2f}"


def ms(values: list[float]) -> str:
    """p50/p99/max of seconds, in ms."""
    return "/".join(f"{v:.1f}" for v in percentiles(values)) if values else "-"


# --------------------------------------------------------------------------- 1. students

SETUP_CELL = f"""
import json, time
from helpers.backends import get_backend
backend = get_backend()  # lesson 3's first cell: this kernel's own LocalServer
client, model = backend.client, backend.model
SIMULATION = {{"ttft": {TTFT}, "tokens_per_second": {TOKENS_PER_SECOND}, "jitter": 0}}

def answer_latenesses(simulation):
    sent, late = time.perf_counter(), []
    stream = client.responses.create(
        model=model, input={STUDENT_PROMPT!r}, stream=True, max_output_tokens={TOKENS},
        extra_body={{"simulation": simulation}},
    )
    for event in stream:
        if event.type == "response.output_text.delta":
            due = simulation["ttft"] + len(late) / simulation["tokens_per_second"]
            late.append(time.perf_counter() - sent - due)
    return late

answer_latenesses({{"ttft": 0, "tokens_per_second": 1000, "jitter": 0}})  # warm-up
print("ready")
"""

MEASURE_CELL = """
time.sleep(max(0.0, {start_at!r} - time.time()))  # every student starts at the same moment
print(json.dumps([answer_latenesses(SIMULATION) for _ in range({answers})]))
"""


def cell_output(kernel_client, msg_id: str, timeout: float) -> str:
    """What one executed cell printed; raises with the traceback if it failed."""
    printed = []
    deadline = time.monotonic() + timeout
    while True:
        msg = kernel_client.get_iopub_msg(timeout=max(1.0, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            printed.append(content["text"])
        elif kind == "error":
            raise RuntimeError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(printed)


def run_everywhere(clients: list, code: str, timeout: float) -> list[str]:
    """Send one cell to every kernel first, then collect: the kernels run it concurrently."""
    msg_ids = [kc.execute(code) for kc in clients]
    return [cell_output(kc, msg_id, timeout) for kc, msg_id in zip(clients, msg_ids, strict=True)]


@contextlib.contextmanager
def kernels(count: int) -> Iterator[list]:
    """`count` started kernels of this venv's python (KIT_BACKEND=local), shut down after."""
    managers = [KernelManager(kernel_name="python3") for _ in range(count)]
    clients = []
    try:
        for manager in managers:
            manager.start_kernel(  # its stderr is only ipykernel's start-up warnings
                env=clean_env(KIT_BACKEND="local"), cwd=str(ROOT), stderr=subprocess.DEVNULL
            )
        for manager in managers:
            kc = manager.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=120)
            clients.append(kc)
        yield clients
    finally:
        for kc in clients:
            kc.stop_channels()
        for manager in managers:
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)


def bench_students(count: int) -> None:
    with kernels(count) as clients:
        run_everywhere(clients, SETUP_CELL, timeout=180)
        print(f"\n{count} students, {load()} at the start")
        start_at = time.time() + 2.0
        cell = MEASURE_CELL.format(start_at=start_at, answers=ANSWERS)
        outputs = run_everywhere(clients, cell, timeout=300)
    runs = [json.loads(out) for out in outputs]
    print(f"{'student':<10}{'deltas':>8}{'TTFT error p50/p99':>20}{'inter-token p50/p99/max':>26}")
    for number, answers in enumerate(runs, 1):
        print_student(f"{number}", answers)
    print_student("all", [answer for answers in runs for answer in answers])
    print(f"{load()} at the end")


def print_student(label: str, answers: list[list[float]]) -> None:
    first = [late[0] for late in answers if late]
    later = [x for late in answers for x in late[1:]]
    ttft = percentiles(first)
    deltas = sum(len(late) for late in answers)
    print(f"{label:<10}{deltas:>8}{ttft[0]:>10.1f}/{ttft[1]:<9.1f}{ms(later):>26}")


# --------------------------------------------------------------------------- 2. the demo


class DemoViewer(StreamClient):
    """bench_server's client with the demo's events and schedule; keeps the bytes for a text
    check afterwards (decoded then, so that reading stays as lean as bench_server's)."""

    delta_marker = b"event: delta"
    final_markers = (b"event: done",)

    def __init__(self, raw: bytes, done: asyncio.Future[None], schedule: list[float]) -> None:
        super().__init__(raw, done)
        self.schedule, self.received = schedule, bytearray()

    def due(self, index: int) -> float:
        return self.sent + self.schedule[min(index, len(self.schedule) - 1)]

    def data_received(self, data: bytes) -> None:
        self.received += data
        super().data_received(data)

    def text(self) -> str | None:
        """The answer, if the response was a 200 whose deltas and `done` event agree."""
        head, _, body = bytes(self.received).partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return None
        if b"transfer-encoding: chunked" in head.lower():
            body = b"".join(ChunkedDecoder().feed(body))
        events = SSEDecoder().feed(body)
        deltas = "".join(json.loads(e.data)["text"] for e in events if e.event == "delta")
        done = [json.loads(e.data)["text"] for e in events if e.event == "done"]
        return deltas if done == [deltas] else None


async def one_viewer(port: int, raw: bytes, schedule: list[float], delay: float) -> DemoViewer:
    await asyncio.sleep(delay)
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    _, viewer = await loop.create_connection(
        lambda: DemoViewer(raw, done, schedule), "127.0.0.1", port
    )
    await done
    return viewer


async def view(port: int, raw: bytes, schedule: list[float], count: int, stagger: float):
    delays = [stagger * i / count for i in range(count)]
    return await asyncio.gather(*(one_viewer(port, raw, schedule, d) for d in delays))


def stream_request(port: int, path: str, token: str | None) -> bytes:
    query = urlencode(
        {"prompt": DEMO_PROMPT, "mode": "stream", "ttft_ms": DEMO_TTFT_MS,
         "tokens_per_second": DEMO_TOKENS_PER_SECOND}
    )  # fmt: skip
    auth = f"Authorization: token {token}\r\n" if token else ""
    return (
        f"GET {path}?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Accept: text/event-stream\r\nCache-Control: no-cache\r\n{auth}\r\n"
    ).encode()


def measure_viewers(
    label: str, port: int, raw: bytes, count: int, stagger: float, pids: dict[str, int]
) -> dict:
    answer = answer_prompt(DEMO_PROMPT, seed=0)
    profile = LatencyProfile(DEMO_TTFT_MS / 1000, DEMO_TOKENS_PER_SECOND)  # as demo_main's
    schedule = profile.schedule(len(answer.tokens), seed=0)
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    client_cpu, wall = time.process_time(), time.perf_counter()
    viewers = asyncio.run(view(port, raw, schedule, count, stagger))
    client_cpu, wall = time.process_time() - client_cpu, time.perf_counter() - wall
    events = sum(v.events for v in viewers) or 1
    first = [v.latenesses[0] for v in viewers if v.latenesses]
    later = [x for v in viewers for x in v.latenesses[1:]]
    return {
        "label": label,
        "viewers": count,
        "complete": sum(len(v.latenesses) == len(answer.tokens) for v in viewers),
        "exact": sum(v.text() == answer.text for v in viewers),
        "first": first,
        "later": later,
        "earliest": min(first + later, default=0.0) * 1000,
        "us_per_event": {
            name: (cpu_seconds(pid) - cpu_before[name]) / events * 1e6 for name, pid in pids.items()
        },
        "client_cpu": client_cpu / wall,
    }


def print_viewers(row: dict) -> None:
    cpu = row["us_per_event"]
    print(
        f"{row['label']:<8}{row['viewers']:>4}{row['complete']:>6}{row['exact']:>7}"
        f"{ms(row['first']):>22}{ms(row['later']):>22}{row['earliest']:>9.1f}"
        f"{cpu['demo']:>8.0f}{cpu.get(row['label'], 0.0):>9.0f}{row['client_cpu'] * 100:>8.0f}%",
        flush=True,
    )


def start_demo() -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, "-m", "helpers.server.demo", "--port", "0"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    process.stdout.readline()  # "Classroom demo ready."
    found = re.search(r"http://127\.0\.0\.1:(\d+)/demo", process.stdout.readline())
    assert found, "the demo did not print its URL"
    return process, int(found.group(1))


def free_port() -> int:
    """Jupyter refuses port 0: ask the OS for a free port and hand it over (tiny race)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def jupyter_server(root: Path) -> Iterator[tuple[subprocess.Popen, int, str]]:
    """A bare `jupyter server` under /user/alice/ on loopback: (process, port, token)."""
    port, token = free_port(), secrets.token_hex(16)
    env = clean_env(
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
        JUPYTER_CONFIG_DIR=str(root / "config"),  # the user's own config stays out
        IPYTHONDIR=str(root / "ipython"),
    )
    command = [
        sys.executable, "-m", "jupyter", "server", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={JUPYTER_BASE}", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--ServerApp.terminals_enabled=False",
        *(["--allow-root"] if os.geteuid() == 0 else []),
    ]  # fmt: skip
    with (root / "server.log").open("w") as log:
        process = subprocess.Popen(
            command, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_ready(f"http://127.0.0.1:{port}{JUPYTER_BASE}api/status?token={token}", process)
        yield process, port, token
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def wait_until_ready(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("jupyter server exited early; see its server.log")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as reply:
            if reply.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("jupyter server did not answer within 60 s")


def chp_binary() -> str | None:
    """configurable-http-proxy where the hub test finds it: KIT_CHP, PATH, `make hub-deps`'s."""
    local = ROOT / ".venv" / "hub-node" / "node_modules" / ".bin" / "configurable-http-proxy"
    found = os.environ.get("KIT_CHP") or shutil.which("configurable-http-proxy")
    return found or (str(local) if local.exists() else None)


@contextlib.contextmanager
def hub_proxy(target_port: int) -> Iterator[tuple[subprocess.Popen | None, int]]:
    """JupyterHub's proxy routing everything to the demo; (None, 0) when it is not installed."""
    binary = chp_binary()
    if binary is None:
        yield None, 0
        return
    port, api_port = free_port(), free_port()
    command = [binary, "--ip", "127.0.0.1", "--port", str(port), "--api-ip", "127.0.0.1",
               "--api-port", str(api_port), "--default-target", f"http://127.0.0.1:{target_port}",
               ]  # fmt: skip
    env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(16)}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("configurable-http-proxy did not start")
        yield process, port
    finally:
        process.terminate()
        process.wait(timeout=10)


def bench_demo(viewers: int, rounds: int, stagger: float) -> None:
    demo, demo_port = start_demo()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-classroom-") as root,
            jupyter_server(Path(root)) as (jupyter, jupyter_port, token),
            hub_proxy(demo_port) as (chp, chp_port),
        ):
            pids = {"demo": demo.pid, "proxy": jupyter.pid}
            proxied_path = f"{JUPYTER_BASE}proxy/{demo_port}/demo/stream"
            paths = {
                "direct": (demo_port, stream_request(demo_port, "/demo/stream", None)),
                "proxy": (jupyter_port, stream_request(jupyter_port, proxied_path, token)),
            }
            if chp is not None:
                pids["chp"] = chp.pid
                paths["chp"] = (chp_port, stream_request(chp_port, "/demo/stream", None))
            for port, raw in paths.values():  # warm-up, not printed: first-request costs
                measure_viewers("warm-up", port, raw, 1, 0, pids)
            print(
                f"\nthe demo: {viewers} viewers, starts spread over {stagger * 1000:g} ms, "
                f"{rounds} rounds, {load()} at the start"
            )
            print(
                f"{'path':<8}{'V':>4}{'done':>6}{'exact':>7}{'first-token err p50/p99/max':>28}"
                f"{'inter-token p50/p99/max':>24}{'earliest':>9}{'demo µs':>8}{'proxy µs':>9}"
                f"{'client':>9}"
            )
            results: list[dict[str, dict]] = []
            for _ in range(rounds):
                rows = {
                    label: measure_viewers(label, port, raw, viewers, stagger, pids)
                    for label, (port, raw) in paths.items()
                }
                for row in rows.values():
                    print_viewers(row)
                results.append(rows)
            print(f"{load()} at the end")
    finally:
        demo.terminate()
        demo.wait(timeout=10)
    print_verdicts(results)


def print_verdicts(results: list[dict[str, dict]]) -> None:
    def p50(rows: dict[str, dict], label: str) -> float:
        return statistics.median(rows[label]["first"]) * 1000

    direct = [p50(rows, "direct") for rows in results]
    added = [p50(rows, "proxy") - p50(rows, "direct") for rows in results]
    print(f"goal: p50 first-token error <= {FIRST_TOKEN_GOAL_MS:g} ms directly: "
          f"{verdict(direct, FIRST_TOKEN_GOAL_MS)}")  # fmt: skip
    print(f"goal: jupyter-server-proxy adds <= {PROXY_GOAL_MS:g} ms to it (p50): "
          f"{verdict(added, PROXY_GOAL_MS)}")  # fmt: skip
    if "chp" in results[0]:
        chp = ", ".join(f"{p50(rows, 'chp') - p50(rows, 'direct'):+.1f}" for rows in results)
        print(f"for comparison, configurable-http-proxy adds (p50, per round): {chp} ms")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="*", default=[5, 10])
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stagger-ms", type=float, default=0.0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {load()} before the run; "
        f"students: {ANSWERS} answers of {TOKENS} tokens each at {TOKENS_PER_SECOND:g} tokens/s "
        f"after {TTFT * 1000:.0f} ms; lateness = arrival - schedule, in ms"
    )
    for count in args.students:
        bench_students(count)
    if args.viewers:
        bench_demo(args.viewers, args.rounds, args.stagger_ms / 1000)


if __name__ == "__main__":
    main()
