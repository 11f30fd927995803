"""Reference solutions for lesson 11's exercises (streaming through the real web)."""

from __future__ import annotations

import codecs
import json


def streaming_location() -> str:
    """Keep the team's gzip and header lines; `proxy_buffering off` makes nginx pass each read on.

    (nginx then flushes the gzip stream on every upstream read, so compression stays on.)
    """
    return """
        proxy_pass http://kit_upstream;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_ignore_headers X-Accel-Buffering;
        gzip on;
        gzip_types text/event-stream;
        gzip_proxied any;
        proxy_buffering off;
    """


def heartbeat_interval(proxy_timeout: float) -> float:
    """Three beats per timeout: if one is lost, the gap (two thirds of it) still fits."""
    return proxy_timeout / 3


def text_from_reads(reads: list[bytes]) -> str:
    """What the demo page's fetch() panel does: decode incrementally, split at blank lines.

    The incremental decoder keeps a character cut between two reads (TextDecoder's
    `{stream: true}`); only text before a blank line is a complete event; comments have no data.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending, text = "", ""
    for read in reads:
        pending += decoder.decode(read)
        *blocks, pending = pending.split("\n\n")
        for block in blocks:
            data = "\n".join(
                line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")
            )
            if data:
                event = json.loads(data)
                if event["type"] == "response.output_text.delta":
                    text += event["delta"]
    return text
