"""A classroom on a real JupyterHub, in Chromium: the hub set-up the README's teacher page shows.

A real `jupyterhub` (PyPI) with its real proxy, configurable-http-proxy (npm, `make hub-deps`),
loads data/hub/jupyterhub_config.py on 127.0.0.1 with free ports: the dummy authenticator, the
simple local-process spawner, the students' group and the role that opens the teacher's demo.
This test adds only what a test needs (sub-config below): a service token to start servers and
kernels, free ports, and a marker in every process's environment to prove none is left behind.

In Chromium, three students log in (each in their own browser context: their own cookies):
- each opens lesson 4 in their own JupyterLab and sees the live view stream and stop;
- each opens the demo started in their own server (a kernel runs the kit's server; the URL is
  the one helpers.jupyter_url prints there) as /user/NAME/proxy/PORT/demo: both panels stream;
- each opens the teacher's demo, in the teacher's named server "demo", through the hub: the
  role in the config grants it; a student opening another student's demo gets 403.

Skips (with a note) without jupyterhub, configurable-http-proxy, node or Chromium, except under
CI=true, where that is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ci import skip_or_fail
from lab_harness import (
    CHROMIUM,
    REPO,
    copy_without_outputs,
    evidence_on_failure,
    free_port,
    wait_for_kernel_idle,
    watch_console,
)
from test_demo_jupyter_proxy_browser import assert_both_panels_streamed, require_server_proxy
from test_lesson04_browser import (
    NOTEBOOK,
    check_live_view_streams_and_stops,
    require_chromium,
    slower_copy,
)

from helpers.browser import CHROMIUM_ARGS
from helpers.server.model.simulated import answer_prompt

pytestmark = pytest.mark.browser

HUB_CONFIG = REPO / "data" / "hub" / "jupyterhub_config.py"
# The venv running this test (.venv, or .venv-latest under `make test-latest`): its jupyterhub, and
# the configurable-http-proxy `make hub-deps` put beside it (the Makefile's HUB_NODE).
VENV_BIN = Path(sys.prefix) / "bin"
KIT_CHP = Path(sys.prefix) / "hub-node" / "node_modules" / ".bin" / "configurable-http-proxy"
STUDENTS = ("alice", "bob", "carol")
TEACHER = "teacher"
DEMO_PROMPT = "Compare websockets vs SSE"  # the page's default prompt
WAIT = 180  # seconds: the bound on any one wait (servers starting on a busy 2-core machine)


def find_chp() -> str | None:
    """configurable-http-proxy as the config finds it: KIT_CHP, PATH, then `make hub-deps`'s."""
    found = os.environ.get("KIT_CHP") or shutil.which("configurable-http-proxy")
    return found or (str(KIT_CHP) if KIT_CHP.exists() else None)


def missing_part(chp: str | None) -> str | None:
    """What this test cannot run without, said so that a reader knows what to install."""
    if not (VENV_BIN / "jupyterhub").exists():
        return "jupyterhub is not installed (pip install -r requirements-dev.txt)"
    if not shutil.which("node"):
        return "node is not installed (configurable-http-proxy runs on it: apt-get install nodejs)"
    if chp is None:
        return "configurable-http-proxy is not installed (make hub-deps)"
    return None


@pytest.mark.parametrize(
    ("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)]
)
def test_a_missing_part_skips_locally_and_fails_in_ci(monkeypatch, tmp_path: Path, ci, outcome):
    monkeypatch.setenv("PATH", str(tmp_path))  # no node, no configurable-http-proxy
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="is not installed"):
        skip_or_fail(missing_part(None) or "", "the hub test")


# --- the hub: started from the example config, stopped with everything it started -------------


@dataclass
class Hub:
    url: str  # http://127.0.0.1:PORT, the proxy's public port: what students open
    token: str  # the test's service token (admin of users, servers and their kernels)
    log: Path
    process: subprocess.Popen

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """A call to the hub's REST API (or a user server's, via /user/...) with the token."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                raw = reply.read()
                return reply.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as error:
            return error.code, {"error": error.read().decode(errors="replace")}


TEST_SUBCONFIG = """\
# The test's additions to the example config (nothing else differs).
load_subconfig({example!r})
c.JupyterHub.services = [{{"name": "kit-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles.append({{
    "name": "kit-test",
    "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"],
    "services": ["kit-test"],
}})
c.Spawner.environment["KIT_HUB_TEST_RUN"] = {marker!r}
c.Spawner.args += [
    "--LabApp.extension_manager=readonly",  # no PyPI look-ups: offline
    "--LabApp.news_url=",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
]
"""


def marked_processes(marker: str) -> list[int]:
    """Every process whose environment carries this run's marker: hub, proxy, servers, kernels."""
    found = []
    needle = f"KIT_HUB_TEST_RUN={marker}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            with contextlib.suppress(OSError):
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
    return found


def stop_hub(process: subprocess.Popen, marker: str) -> list[int]:
    """SIGTERM the hub, which stops the servers it spawned and its proxy; then SIGKILL whatever
    still carries the marker. Returns the pids that outlived the hub's own clean-up."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    deadline = time.monotonic() + 10  # children the hub signalled may take a moment to exit
    while (left := marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


def wait_until(what: str, ready, hub: Hub) -> None:
    """Poll ``ready()`` until true; a bounded wait that fails with the end of the hub's log."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            raise RuntimeError(f"jupyterhub exited before {what}:\n{hub.log.read_text()[-4000:]}")
        with contextlib.suppress(OSError):
            if ready():
                return
        time.sleep(0.3)
    raise RuntimeError(f"{what}: not within {WAIT} s:\n{hub.log.read_text()[-4000:]}")


def prepare_home(home: Path, lesson: Path) -> None:
    """A student's home before their server starts: lesson 4, and Lab's news toast turned off."""
    no_news = home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension"
    no_news.mkdir(parents=True, exist_ok=True)
    (no_news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    copy_without_outputs(lesson, home / lesson.name)


def hub_environment(state: Path, chp: str, marker: str) -> dict[str, str]:
    """What the example config reads: its state folder, three free ports, the proxy's path."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "JUPYTERHUB_"))},
        "KIT_HUB_DIR": str(state),
        "KIT_HUB_PORT": str(free_port()),
        "KIT_HUB_API_PORT": str(free_port()),
        "KIT_PROXY_API_PORT": str(free_port()),
        "KIT_CHP": chp,
        "KIT_HUB_TEST_RUN": marker,
    }


def refusal(tmp_path: Path, **changes: str) -> str:
    """Run the example config with these environment changes; it must refuse to start (exit 1,
    within a bounded wait) and leave nothing running. Returns what it said."""
    chp = find_chp()
    if reason := missing_part(chp):
        skip_or_fail(reason, "the hub test")
    marker = uuid.uuid4().hex
    env = {**hub_environment(tmp_path / "hub", chp, marker), **changes}
    process = subprocess.Popen(
        [str(VENV_BIN / "jupyterhub"), "-f", str(HUB_CONFIG)], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=WAIT)
    finally:
        left = stop_hub(process, marker)
    assert process.returncode == 1, output[-3000:]
    assert not left, f"left running after a refusal (killed now): {left}"
    return output


def test_a_taken_port_is_refused_with_a_clear_message(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        said = refusal(tmp_path, KIT_HUB_PORT=str(port))
    assert f"Port {port} on 127.0.0.1 is taken" in said, said[-2000:]
    assert "set KIT_HUB_PORT to a free port" in said


def test_a_missing_proxy_is_refused_with_a_clear_message(tmp_path: Path):
    said = refusal(tmp_path, KIT_CHP=str(tmp_path / "no-proxy-here"))
    assert "configurable-http-proxy not found at " in said, said[-2000:]
    assert "make hub-deps" in said


@contextlib.contextmanager
def jupyterhub(state: Path, chp: str) -> Iterator[Hub]:
    """The example hub on free loopback ports; afterwards nothing of it is left running."""
    state.mkdir(parents=True, exist_ok=True)
    token, marker = secrets.token_hex(16), uuid.uuid4().hex
    config = state / "test_config.py"
    config.write_text(TEST_SUBCONFIG.format(example=str(HUB_CONFIG), token=token, marker=marker))
    env = hub_environment(state, chp, marker)
    port = int(env["KIT_HUB_PORT"])
    log = state / "hub.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [str(VENV_BIN / "jupyterhub"), "-f", str(config)],
            env=env, cwd=state, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    hub = Hub(f"http://127.0.0.1:{port}", token, log, process)
    left: list[int] = []
    try:
        wait_until("the hub answered", lambda: hub.api("GET", "/hub/api/")[0] == 200, hub)
        yield hub
    finally:
        left = stop_hub(process, marker)
    assert not left, f"still running after the hub stopped (killed now): {left}"


def start_server(hub: Hub, user: str, name: str = "") -> None:
    """Ask the hub to spawn a server (named or not); start_servers waits for all of them."""
    path = f"/hub/api/users/{user}/servers/{name}" if name else f"/hub/api/users/{user}/server"
    status, body = hub.api("POST", path)
    assert status in (201, 202), (user, name, status, body)


def server_ready(hub: Hub, user: str, name: str = "") -> bool:
    status, body = hub.api("GET", f"/hub/api/users/{user}")
    return status == 200 and bool(body.get("servers", {}).get(name, {}).get("ready"))


# --- a demo started in a user's server, through its kernel: no terminal needed -----------------

START_DEMO = """\
from helpers.server import LocalServer
from helpers.jupyter_url import current_jupyter, open_url
demo = LocalServer(ttft=0.2, tokens_per_second=60).start()
port = int(demo.base_url.removesuffix("/v1").rsplit(":", 1)[1])
print(demo.base_url, open_url(port, "/demo", current_jupyter()))
"""


def run_in_new_kernel(hub: Hub, server_prefix: str, code: str) -> str:
    """Start a kernel in the server at ``server_prefix`` (/user/alice/) through Jupyter's REST
    API, execute ``code`` over its WebSocket, and return what it printed. The kernel keeps
    running (so does the demo it started) until its server stops."""
    from websockets.sync.client import connect

    status, kernel = hub.api("POST", f"{server_prefix}api/kernels", {"name": "python3"})
    assert status == 201, (status, kernel)
    channels = f"{server_prefix}api/kernels/{kernel['id']}/channels"
    ws_url = hub.url.replace("http://", "ws://", 1) + channels
    msg_id = uuid.uuid4().hex
    request = {
        "header": {
            "msg_id": msg_id, "msg_type": "execute_request", "username": "kit-test",
            "session": uuid.uuid4().hex, "version": "5.3", "date": "",
        },
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False},
    }  # fmt: skip
    printed, deadline = [], time.monotonic() + WAIT
    with connect(ws_url, additional_headers={"Authorization": f"token {hub.token}"}) as ws:
        ws.send(json.dumps(request))
        while time.monotonic() < deadline:
            message = json.loads(ws.recv(timeout=WAIT))
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                raise AssertionError("\n".join(content["traceback"]))
            elif kind == "execute_reply":
                assert content["status"] == "ok", content
                return "".join(printed)
    raise AssertionError(f"the kernel did not finish within {WAIT} s; printed {printed}")


def start_demo(hub: Hub, server_prefix: str) -> str:
    """The kit's server in a kernel of that server; returns the proxied demo path it printed."""
    base_url, proxied = run_in_new_kernel(hub, server_prefix, START_DEMO).split()
    assert base_url.startswith("http://127.0.0.1:"), base_url  # loopback only: no port opened
    port = base_url.removesuffix("/v1").rsplit(":", 1)[1]
    assert proxied == f"{server_prefix}proxy/{port}/demo", proxied  # helpers.jupyter_url on a hub
    return proxied


# --- the browser: one context per student, so each has their own hub login -------------------


@contextlib.contextmanager
def chromium(profile_dir: Path) -> Iterator[object]:
    """Debian's Chromium (Playwright drives it; no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            env={**os.environ, "XDG_CONFIG_HOME": str(profile_dir / "xdg-config"),
                 "XDG_CACHE_HOME": str(profile_dir / "xdg-cache")},
        )  # fmt: skip
        try:
            yield browser
        finally:
            browser.close()


def log_in(browser, hub: Hub, user: str):
    """A fresh context (cookies of its own) logged in through the hub's login form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    watch_console(context)  # what Lab logged, kept for the evidence of a failure
    page = context.new_page()
    page.set_default_timeout(WAIT * 1000)
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", "any password: the dummy authenticator takes it")
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/**")
    return page


def open_demo(page, hub: Hub, path: str) -> tuple[dict, dict, dict]:
    """Open the demo page through the hub; auto=1 runs both panels (and fetch) at once. On
    another user's server the hub first asks the student to authorize it (once per server)."""
    reply = page.goto(f"{hub.url}{path}?auto=1&ttft=200&tps=60")
    assert reply.status != 403, f"the hub refused {path} (403): no role grants access to it"
    if "/hub/api/oauth2/authorize" in page.url:
        page.click("button[type=submit]")
    try:
        page.wait_for_function("window.demo && window.demo.last")
    except Exception as error:
        body = page.inner_text("body")[:600]
        raise AssertionError(f"no demo page at {page.url}: {body}") from error
    return tuple(page.evaluate("window.demo.last"))


@pytest.mark.timeout(600)  # ~2 minutes on a busy 2-core VM; each wait inside is bounded too
def test_three_students_on_a_real_hub(tmp_path: Path):
    require_chromium()
    require_server_proxy()  # /user/NAME/proxy/PORT/ is jupyter-server-proxy in each server
    chp = find_chp()
    if reason := missing_part(chp):
        skip_or_fail(reason, "the hub test")
    lesson = slower_copy(tmp_path / "lesson")
    state = tmp_path / "hub"
    for user in STUDENTS:
        prepare_home(state / "home" / user, lesson)
    expected = answer_prompt(DEMO_PROMPT, seed=0)
    timings: dict[str, float] = {}
    started = time.monotonic()

    with (
        jupyterhub(state, chp) as hub,
        chromium(tmp_path / "profile") as browser,
        # On a failure: every page's screenshot, Lab's open dialogs and console, in the message.
        evidence_on_failure(
            browser, tmp_path / "failure-evidence", f"hub, proxy and user servers' log: {hub.log}"
        ),
    ):
        for user in STUDENTS:  # all at once: they start side by side, as in a class
            start_server(hub, user)
        start_server(hub, TEACHER, "demo")
        for user, name in [*((s, "") for s in STUDENTS), (TEACHER, "demo")]:
            ready = lambda u=user, n=name: server_ready(hub, u, n)  # noqa: E731
            wait_until(f"{user}'s server {name!r} was ready", ready, hub)
        timings["servers started"] = time.monotonic() - started

        teachers_demo = start_demo(hub, f"/user/{TEACHER}/demo/")
        demos = {user: start_demo(hub, f"/user/{user}/") for user in STUDENTS}
        timings["demos started"] = time.monotonic() - started

        pages = {user: log_in(browser, hub, user) for user in STUDENTS}
        for user, page in pages.items():
            page.goto(f"{hub.url}/user/{user}/lab/tree/{NOTEBOOK.name}")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell")
            wait_for_kernel_idle(page, WAIT * 1000)
            check_live_view_streams_and_stops(page, f"hub-{user}-lesson04")
        timings["lesson 4 x3"] = time.monotonic() - started

        for user, page in pages.items():
            assert_both_panels_streamed(open_demo(page, hub, demos[user]), expected)
            assert_both_panels_streamed(open_demo(page, hub, teachers_demo), expected)
        # The role opens the teacher's demo server, not another student's: bob is refused alice's.
        refused = pages["bob"].goto(f"{hub.url}{demos['alice']}")
        assert refused.status == 403, refused.status
        timings["demos viewed"] = time.monotonic() - started

    timings["all stopped"] = time.monotonic() - started
    print("hub classroom timings (s):", {k: round(v, 1) for k, v in timings.items()})
