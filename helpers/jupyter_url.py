"""The URL a student's browser can open for a port on the machine that runs their Jupyter.

On a laptop the demo is at http://127.0.0.1:PORT/demo. On a JupyterHub the student's browser
cannot reach that port: only the Jupyter server's own URL reaches it, through
jupyter-server-proxy, as `/user/alice/proxy/PORT/demo`. So the kit asks where it runs:

- on a hub, the single-user server gives its kernels and terminals `JUPYTERHUB_SERVICE_PREFIX`
  (`/user/alice/`), and the hub's public address when one is configured;
- in a plain Jupyter server, a terminal gets `JUPYTER_SERVER_URL`, and a kernel gets
  `JPY_PARENT_PID`, the server's process id, which `list_running_servers()` turns into its
  address and base URL. A kernel started by nbconvert or nbval has a parent that is no server,
  so it counts as "not in Jupyter".

`find_jupyter` is a pure function of the environment and the server list, and the URL builders
are pure functions of its answer; `current_jupyter()` asks this process. Lesson 8 and the demo
command print `open_url(port, "/demo", current_jupyter())`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "JupyterServer",
    "NotInJupyter",
    "current_jupyter",
    "find_jupyter",
    "jupyter_proxy_url",
    "local_url",
    "open_url",
    "proxied_url",
    "running_servers",
]


@dataclass(frozen=True)
class JupyterServer:
    """Where the Jupyter server that runs this code is reached from the student's browser."""

    base_url: str  # the path prefix, always with a trailing slash: "/" or "/user/alice/"
    origin: str  # "http://127.0.0.1:8888", or "" when unknown (a hub with no public URL set)
    kind: str  # "JupyterHub" or "Jupyter server"


class NotInJupyter(RuntimeError):
    """A jupyter-server-proxy URL was asked for, but this code does not run in a Jupyter server."""

    def __init__(self, port: int, path: str = "/demo") -> None:
        super().__init__(
            "Not running inside a Jupyter server (no JUPYTERHUB_SERVICE_PREFIX, no "
            "JUPYTER_SERVER_URL, no running server that started this kernel), so there is no "
            f"jupyter-server-proxy URL. On this machine, open {local_url(port, path)} instead."
        )


def _slashed(path: str) -> str:
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def find_jupyter(
    env: Mapping[str, str], servers: Iterable[Mapping[str, Any]]
) -> JupyterServer | None:
    """The Jupyter server this process runs under, or None (a plain Python, nbconvert, CI)."""
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix:
        public = env.get("JUPYTERHUB_PUBLIC_URL") or env.get("JUPYTERHUB_PUBLIC_HUB_URL") or ""
        return JupyterServer(_slashed(prefix), _origin(public), "JupyterHub")
    terminal_url = env.get("JUPYTER_SERVER_URL")
    if terminal_url and _origin(terminal_url):
        return JupyterServer(
            _slashed(urlsplit(terminal_url).path), _origin(terminal_url), "Jupyter server"
        )
    parent = env.get("JPY_PARENT_PID", "")
    for server in servers:
        if parent and str(server.get("pid")) == parent:
            base = _slashed(str(server.get("base_url", "/")))
            return JupyterServer(base, _origin(str(server.get("url", ""))), "Jupyter server")
    return None


def proxied_url(server: JupyterServer, port: int, path: str = "/demo") -> str:
    """`<origin><base_url>proxy/<port>/<path>`: jupyter-server-proxy's way to a local port."""
    return f"{server.origin}{server.base_url}proxy/{port}/{path.lstrip('/')}"


def local_url(port: int, path: str = "/demo") -> str:
    """What a browser on this very machine opens."""
    return f"http://127.0.0.1:{port}/{path.lstrip('/')}"


def running_servers() -> list[dict[str, Any]]:
    """Jupyter's own list of its running servers (empty when jupyter_server is not installed)."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return []
    return list(list_running_servers())


def current_jupyter(
    env: Mapping[str, str] | None = None, servers: Iterable[Mapping[str, Any]] | None = None
) -> JupyterServer | None:
    """find_jupyter for this process: its environment, and Jupyter's list when it may help."""
    env = os.environ if env is None else env
    if servers is None:  # only look for servers when a kernel's parent could be one
        servers = running_servers() if env.get("JPY_PARENT_PID") else []
    return find_jupyter(env, servers)


def jupyter_proxy_url(port: int, path: str, server: JupyterServer | None) -> str:
    """The jupyter-server-proxy URL for a local port; NotInJupyter (saying what to open) if none."""
    if server is None:
        raise NotInJupyter(port, path)
    return proxied_url(server, port, path)


def open_url(port: int, path: str = "/demo", server: JupyterServer | None = None) -> str:
    """The URL to print for a student: proxied inside Jupyter, http://127.0.0.1:PORT outside.

    Lessons call `open_url(port, "/demo", current_jupyter())`.
    """
    return local_url(port, path) if server is None else proxied_url(server, port, path)
