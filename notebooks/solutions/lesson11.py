"""Reference solutions for lesson 11's exercises (streaming through the real web)."""

from __future__ import annotations


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
    """Two beats per timeout: one may be late or lost and the connection still lives."""
    return proxy_timeout / 3
