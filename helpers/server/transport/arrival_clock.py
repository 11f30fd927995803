"""Layer: transport. May import: helpers.server.dialects, helpers.server.model, helpers.sse.

When did a request arrive? The kernel knows, even when the server was too busy to look.

The simulated model's time to first token runs from a request's arrival. During a burst
(hundreds of streams opened within 50 ms) requests wait in the kernel's accept queue while the
event loop works through the ones before them, and a handler may start 100 ms after its request
came in. Timing the tokens from the handler would make every token of that stream late by the
wait; timing them from the arrival lets the 300 ms TTFT absorb it, like a real API's clock.

Linux reports, for each TCP socket, how long ago its last data segment arrived
(`tcpi_last_data_recv` in `struct tcp_info`). uvicorn's HTTP protocol reads it as a request's
first bytes are parsed and puts the arrival time in `scope["state"]["received_at"]`.
Elsewhere (macOS, Windows, Unix sockets) the wait reads as 0: the clock starts when parsing does.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # needs httptools

# The kernel counts that wait in timer ticks (4 ms at the common CONFIG_HZ=250), so it can
# read up to one tick more than the real wait. Taking one tick off means a token is never early
# (it can be late by up to a tick instead). 4 ms suits kernels built with HZ 250 or 1000.
KERNEL_TICK_MS = 4
_TCP_INFO_LAST_DATA_RECV = 52  # byte offset of tcpi_last_data_recv (u32, ms): a stable ABI


def seconds_since_bytes_arrived(sock: Any) -> float:
    """How long ago the last data arrived on `sock`, from the kernel; 0.0 where unknown."""
    tcp_info = getattr(socket, "TCP_INFO", None)  # Linux only
    if tcp_info is None or sock is None:
        return 0.0
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, tcp_info, 104)
    except OSError:  # not a TCP socket, or the client already left
        return 0.0
    if len(info) < _TCP_INFO_LAST_DATA_RECV + 4:
        return 0.0
    waited_ms = struct.unpack_from("I", info, _TCP_INFO_LAST_DATA_RECV)[0]
    return max(0, waited_ms - KERNEL_TICK_MS) / 1000


class ArrivalStampingProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, plus each request's arrival time in `scope["state"]`.

    Use it with `uvicorn.Config(app, http=ArrivalStampingProtocol)`; read it with
    `arrival_time(scope)` (in Starlette, `request.state.received_at`).
    """

    def on_message_begin(self) -> None:
        super().on_message_begin()
        waited = seconds_since_bytes_arrived(self.transport.get_extra_info("socket"))
        # asyncio's and uvloop's loop.time() both read the clock that time.monotonic() reads.
        self.scope["state"]["received_at"] = time.monotonic() - waited


def arrival_time(scope: dict[str, Any]) -> float:
    """When the request in `scope` arrived (event-loop time); now, if it was not stamped."""
    stamped = scope.get("state", {}).get("received_at")
    return stamped if stamped is not None else asyncio.get_running_loop().time()
