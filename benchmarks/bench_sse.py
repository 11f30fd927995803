"""How fast is helpers.sse.SSEDecoder next to the decoders people actually use?

Same input for everyone, in one process: 100,000 Responses-API-shaped
`response.output_text.delta` events, cut into random 1-4096 byte chunks (seeded).

Peers:
- openai SDK: `openai._streaming.SSEDecoder().iter_bytes(chunks)`, what `client.responses.create(
  stream=True)` runs on every response body.
- httpx-sse, decoders only: an incremental UTF-8 decoder, then `httpx_sse._decoders.SSELineDecoder`
  and `SSEDecoder`, exactly the loop `EventSource.iter_sse()` runs, without httpx around it.
- httpx-sse, full: `EventSource(httpx.Response(content=iter(chunks))).iter_sse()`, which adds
  httpx's own text decoding layer (what a user of the library pays).

All decoders must agree on the number of events and on every event's type and data before any
figure is printed. Run: `.venv/bin/python benchmarks/bench_sse.py [--events N] [--runs R]`.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import platform
import random
import time
from collections.abc import Callable, Iterator

import httpx
import httpx_sse
import openai
from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
from httpx_sse._decoders import SSELineDecoder as HttpxSSELineDecoder
from openai._streaming import SSEDecoder as OpenAISSEDecoder

from helpers.sse import SSEDecoder

WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "tokens")


def responses_delta_stream(n_events: int, seed: int) -> bytes:
    """A body shaped like the real Responses API stream of text deltas."""
    rng = random.Random(seed)
    item_id = "msg_" + "".join(rng.choices("0123456789abcdef", k=48))
    parts = []
    for n in range(n_events):
        payload = {
            "type": "response.output_text.delta",
            "sequence_number": n,
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "delta": " " + rng.choice(WORDS),
            "logprobs": [],
        }
        data = json.dumps(payload, separators=(",", ":"))
        parts.append(f"event: response.output_text.delta\ndata: {data}\n\n")
    return "".join(parts).encode("utf-8")


def cut_into_chunks(body: bytes, seed: int, max_size: int = 4096) -> list[bytes]:
    rng = random.Random(seed)
    chunks, start = [], 0
    while start < len(body):
        size = rng.randint(1, max_size)
        chunks.append(body[start : start + size])
        start += size
    return chunks


def decode_ours(chunks: list[bytes]) -> list[tuple[str, str]]:
    decoder = SSEDecoder()
    data = []
    for chunk in chunks:
        data.extend((event.event, event.data) for event in decoder.feed(chunk))
    data.extend((event.event, event.data) for event in decoder.close())
    return data


def decode_openai(chunks: list[bytes]) -> list[tuple[str, str]]:
    return [(event.event, event.data) for event in OpenAISSEDecoder().iter_bytes(iter(chunks))]


def decode_httpx_sse_decoders(chunks: list[bytes]) -> list[tuple[str, str]]:
    utf8 = codecs.getincrementaldecoder("utf-8")()
    lines, decoder = HttpxSSELineDecoder(), HttpxSSEDecoder()
    data = []

    def handle(line_list: list[str]) -> None:
        for line in line_list:
            event = decoder.decode(line)
            if event is not None:
                data.append((event.event, event.data))

    for chunk in chunks:
        handle(lines.decode(utf8.decode(chunk)))
    handle(lines.decode(utf8.decode(b"", True)) + lines.flush())
    return data


def decode_httpx_sse_eventsource(chunks: list[bytes]) -> list[tuple[str, str]]:
    def body() -> Iterator[bytes]:
        yield from chunks

    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())
    return [(event.event, event.data) for event in httpx_sse.EventSource(response).iter_sse()]


PEERS: dict[str, Callable[[list[bytes]], list[tuple[str, str]]]] = {
    "helpers.sse.SSEDecoder": decode_ours,
    f"openai {openai.__version__} SSEDecoder.iter_bytes": decode_openai,
    "httpx-sse decoders only": decode_httpx_sse_decoders,
    "httpx-sse EventSource (via httpx)": decode_httpx_sse_eventsource,
}


def best_rates(chunks: list[bytes], n_events: int, runs: int) -> dict[str, float]:
    """Events/s of each decoder, best of `runs`. Runs are interleaved (one of each decoder,
    then again) so that load from other processes on a shared machine hits all of them alike.
    """
    best = dict.fromkeys(PEERS, float("inf"))
    for _ in range(runs):
        for name, decode in PEERS.items():
            start = time.perf_counter()
            decode(chunks)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: n_events / seconds for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    body = responses_delta_stream(args.events, args.seed)
    chunks = cut_into_chunks(body, args.seed)
    print(
        f"Python {platform.python_version()}, {args.events:,} events, {len(body):,} bytes "
        f"in {len(chunks):,} chunks of 1-4096 bytes (seed {args.seed}), best of {args.runs} runs"
    )

    expected = decode_ours(chunks)
    for name, decode in PEERS.items():
        got = decode(chunks)
        if got != expected:
            raise SystemExit(f"{name} disagrees: {len(got)} events vs our {len(expected)}")
    print(f"all {len(PEERS)} decoders gave the same {len(expected):,} events (same types and data)")
    print(f"load average before timing: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n")

    rates = best_rates(chunks, args.events, args.runs)
    ours = rates["helpers.sse.SSEDecoder"]
    print(f"{'decoder':<40} {'events/s':>12} {'ours is':>9}")
    for name, rate in rates.items():
        print(f"{name:<40} {rate:>12,.0f} {ours / rate:>8.2f}x")


if __name__ == "__main__":
    main()
