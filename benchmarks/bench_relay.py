"""What does lesson 13's relay add to each token? (A benchmark that prints figures.)

The same prompt read by the same raw client (helpers.reads.timed_reads) directly from the kit's
server and through the relay (helpers.relay: FastAPI's SSE, the async openai SDK, start/delta/done/
error), alternately, round after round, so a noisy neighbour hits both alike. The simulated
model's tokens are due at fixed times after the request arrives (jitter 0), so token i arriving
later through the relay than directly is the relay's doing.

Two set-ups, printed side by side:
- "processes": the model server, the relay and this client each in their own process, as a
  deployed relay runs;
- "one process": the relay and the model server in threads of this process, as in the lesson's
  notebook (they share one GIL with the client, so this costs more).

Goals (issue 25): the relay adds at most 5 ms to the first token and at most 2 ms per token, at
the median. A goal is "met" only when every round meets it (bench_server.verdict). Each later
token's figure is printed twice: in all, and beyond the first token's own delay. The relay
forwards the request before the model's clock starts, so every token inherits the first one's
delay; what the relay adds per token on top of that is the second figure.

A third figure is the relay's own work per event, which load changes far less than lateness:
a 133-token answer with no delays at all, read directly and through the relay; the difference in
wall time per event is what the relay's process spent on each (the SDK parsing the model's
event, FastAPI writing the ServerSentEvent, the hops between its tasks).

    .venv/bin/python benchmarks/bench_relay.py [--rounds 5] [--tokens-per-second 50]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_server import verdict

from helpers.reads import timed_reads
from helpers.relay import RelayServer, Upstream, create_app, iter_relay, relay_cost
from helpers.server import LocalServer

REPO = Path(__file__).resolve().parent.parent
GOAL_FIRST_MS, GOAL_EACH_MS = 5.0, 2.0


def start_process(command: list[str]) -> tuple[subprocess.Popen, str]:
    """Start a server command line that prints its URL as its first line."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO, env=env)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def rounds_of(model_url: str, relay_url: str, prompt: str, rounds: int) -> list[dict]:
    list(iter_relay(relay_url, prompt))  # warm up: connections, imports
    return [relay_cost(model_url, relay_url, "kit-sim-1", prompt, rounds=3) for _ in range(rounds)]


def report(label: str, results: list[dict]) -> None:
    first = [r["added_first"] * 1000 for r in results]
    each = [r["added_per_token"] * 1000 for r in results]
    beyond = [r["added_per_token_beyond_first"] * 1000 for r in results]
    rounds = len(results)
    print(f"\n{label}: {results[0]['tokens']} tokens per answer, {rounds} rounds of 3+3 reads")
    print(
        "  TTFT direct / through the relay (ms): "
        + ", ".join(f"{r['ttft_direct'] * 1000:.1f}/{r['ttft_relay'] * 1000:.1f}" for r in results)
    )
    print(f"  added to the first token, median per round: goal <= {GOAL_FIRST_MS} ms: "
          f"{verdict(first, GOAL_FIRST_MS)}")  # fmt: skip
    print(f"  added to each later token, median per round: goal <= {GOAL_EACH_MS} ms: "
          f"{verdict(each, GOAL_EACH_MS)}")  # fmt: skip
    print(f"  ... of which beyond the first token's delay (which every token inherits): "
          f"{verdict(beyond, GOAL_EACH_MS)}")  # fmt: skip


def work_per_event(model_url: str, relay_url: str, answers: int = 10) -> float:
    """Microseconds of relay work per event: a burst answer, relay minus direct (medians)."""
    import statistics
    import time

    prompt = "Compare websockets vs SSE"  # 133 tokens
    direct_body = {"model": "kit-sim-1", "input": prompt, "stream": True, "simulation": BURST}
    times: dict[str, list[float]] = {"direct": [], "relay": []}
    for _ in range(answers):
        for name, url, body in (
            ("direct", model_url + "/responses", direct_body),
            ("relay", relay_url + "api/chat", {"prompt": prompt}),
        ):
            started = time.perf_counter()
            deltas = len(timed_reads(url, body).arrivals(
                "delta" if name == "relay" else "response.output_text.delta"))  # fmt: skip
            times[name].append(time.perf_counter() - started)
    spent = statistics.median(times["relay"]) - statistics.median(times["direct"])
    return spent / deltas * 1e6


BURST = {"ttft": 0, "tokens_per_second": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens-per-second", type=float, default=50)
    parser.add_argument("--prompt", default="Write a haiku")
    args = parser.parse_args()

    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    model, model_url = start_process([
        sys.executable, "-m", "helpers.server", "--port", "0", "--ttft-ms", "50",
        "--tokens-per-second", str(args.tokens_per_second), "--jitter", "0",
    ])  # fmt: skip
    relay, relay_url = start_process(
        [sys.executable, "-m", "helpers.relay", "--model-url", model_url, "--port", "0"]
    )
    try:
        report("processes", rounds_of(model_url, relay_url, args.prompt, args.rounds))
    finally:
        for process in (relay, model):
            process.terminate()
            process.wait(timeout=10)
    burst, burst_url = start_process([
        sys.executable, "-m", "helpers.server", "--port", "0", "--ttft-ms", "0",
        "--tokens-per-second", "0",
    ])  # fmt: skip
    relay, relay_url = start_process(
        [sys.executable, "-m", "helpers.relay", "--model-url", burst_url, "--port", "0"]
    )
    model = burst
    try:
        list(iter_relay(relay_url, "haiku"))
        spent = work_per_event(burst_url, relay_url)
        print(f"  the relay's own work per event (133-token burst, relay - direct): {spent:.0f} µs")
    finally:
        for process in (relay, model):
            process.terminate()
            process.wait(timeout=10)

    with LocalServer(ttft=0.05, tokens_per_second=args.tokens_per_second, jitter=0) as server:
        upstream = Upstream(server.base_url, "kit-sim-1", "unused")
        with RelayServer(create_app(upstream, app_dir=None)) as in_process:
            results = rounds_of(server.base_url, in_process.url, args.prompt, args.rounds)
    report("one process (as in the notebook)", results)


if __name__ == "__main__":
    main()
