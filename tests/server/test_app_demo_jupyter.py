"""`python -m helpers.server.demo` inside and outside a Jupyter server, as a subprocess.

Inside (here: the environment a hub's single-user server gives its terminals and kernels) it
prints the jupyter-server-proxy URL and picks a free port, since many students share one host;
outside it prints what it always printed. A proxy URL asked for outside Jupyter, and a port
already taken, get one clear line and exit 2, leaving nothing running.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import httpx

JUPYTER_VARS = ("JUPYTERHUB_", "JUPYTER_SERVER_URL", "JPY_PARENT_PID")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any Jupyter markers (pytest may run in a terminal)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(JUPYTER_VARS)}
    return {**env, **extra}


def demo(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "helpers.server.demo", *args]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_inside_a_hub_it_prints_the_proxied_url_on_a_free_port() -> None:
    env = clean_env(
        JUPYTERHUB_SERVICE_PREFIX="/user/alice/", JUPYTERHUB_PUBLIC_HUB_URL="http://hub.test/"
    )
    process = demo(env=env)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Classroom demo ready.")
        line = process.stdout.readline()
        found = re.fullmatch(
            r"  Open in your browser:  http://hub\.test/user/alice/proxy/(\d+)/demo\n", line
        )
        assert found, line
        port = int(found.group(1))
        assert port != 8765  # port 0 inside Jupyter: 30 students never collide
        page = httpx.get(f"http://127.0.0.1:{port}/demo/", timeout=10)  # the proxy's view
        assert page.status_code == 200 and "demoBase" in page.text
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_hub_without_a_public_url_prints_a_path() -> None:
    process = demo("--port", "0", env=clean_env(JUPYTERHUB_SERVICE_PREFIX="/user/bob/"))
    try:
        assert process.stdout is not None
        process.stdout.readline()
        line = process.stdout.readline()
        assert re.fullmatch(
            r"  Open in your browser \(after your hub's address\):  /user/bob/proxy/\d+/demo\n",
            line,
        ), line
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_asking_for_the_proxy_url_outside_jupyter_is_a_clear_error() -> None:
    process = demo("--jupyter", "--port", "0", env=clean_env())
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and out == ""
    assert err.startswith("Not running inside a Jupyter server")
    assert "Traceback" not in err


def test_a_port_already_taken_is_a_clear_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        process = demo("--port", str(port), env=clean_env())
        out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and out == ""
    assert f"Cannot listen on 127.0.0.1:{port}" in err and "--port 0" in err
    assert "Traceback" not in err
