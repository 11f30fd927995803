"""Does the classroom demo server keep pace with a room full of viewers?

Starts `python -m helpers.server.demo --port 0` in its own process (as in class), then opens N
concurrent `GET /demo/stream` event streams (streamed mode) from one asyncio client and reads
them with helpers.sse. The simulated model schedules every token at an absolute time, so a
server that keeps pace finishes each stream at about the ideal time:

    ideal = ttft + (tokens - 1) / tokens_per_second     (jitter averages out over the answer)

Printed: first-token and total times (min / median / max) next to the ideal, and whether every
viewer got the exact text. The client shares the machine's cores with the server, so the
figures are an upper bound on the server's own lateness.

Run: `.venv/bin/python benchmarks/bench_demo.py [--viewers 100] [--drop-every 0]`
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
from urllib.parse import urlencode

import httpx

from helpers.server.model.simulated import answer_prompt
from helpers.sse import SSEDecoder

PROMPT = "Compare websockets vs SSE"


async def one_viewer(client: httpx.AsyncClient, url: str) -> tuple[float, float, str]:
    """(first token s, total s, text) for one stream, following reconnects if drop_every."""
    start = time.perf_counter()
    first, pieces, last_id = 0.0, {}, ""
    while True:
        headers = {"Last-Event-ID": last_id} if last_id else {}
        decoder = SSEDecoder()
        try:
            async with client.stream("GET", url, headers=headers) as response:
                async for chunk in response.aiter_raw():
                    for event in decoder.feed(chunk):
                        last_id = event.id
                        data = json.loads(event.data)
                        if event.event == "done":
                            return first, time.perf_counter() - start, "".join(
                                pieces[n] for n in sorted(pieces)
                            )
                        first = first or time.perf_counter() - start
                        pieces[data["n"]] = data["text"]
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.3)  # the server's retry: 300 ms


def summary(values: list[float]) -> str:
    return (
        f"min {min(values):.2f} s, median {statistics.median(values):.2f} s, "
        f"max {max(values):.2f} s"
    )


async def run(base: str, args: argparse.Namespace) -> None:
    query = urlencode(
        {
            "prompt": PROMPT,
            "mode": "stream",
            "ttft_ms": args.ttft_ms,
            "tokens_per_second": args.tokens_per_second,
            "drop_every": args.drop_every,
        }
    )
    url = f"{base}/demo/stream?{query}"
    limits = httpx.Limits(max_connections=args.viewers + 10)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        results = await asyncio.gather(*(one_viewer(client, url) for _ in range(args.viewers)))
    answer = answer_prompt(PROMPT, seed=0)
    ideal = args.ttft_ms / 1000 + (len(answer.tokens) - 1) / args.tokens_per_second
    exact = sum(text == answer.text for _, _, text in results)
    print(f"{args.viewers} concurrent viewers, {len(answer.tokens)} tokens each at "
          f"{args.tokens_per_second:.1f} tokens/s, drop_every={args.drop_every}")
    print(f"first token: {summary([r[0] for r in results])} (ideal {args.ttft_ms / 1000:.2f} s)")
    print(f"whole answer: {summary([r[1] for r in results])} (ideal {ideal:.2f} s)")
    print(f"exact text: {exact}/{args.viewers}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--ttft-ms", type=float, default=300)
    parser.add_argument("--tokens-per-second", type=float, default=20)
    parser.add_argument("--drop-every", type=int, default=0)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    command = [sys.executable, "-m", "helpers.server.demo", "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        server.stdout.readline()  # "Classroom demo ready."
        page_url = server.stdout.readline().split()[-1]
        asyncio.run(run(page_url.removesuffix("/demo"), args))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
