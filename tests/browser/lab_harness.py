"""Run JupyterLab and Debian's Chromium for a browser test or benchmark, and clean both up.

Shared by tests/browser/ and benchmarks/bench_token_to_dom.py. Everything lives in one temporary
directory: the notebook copy, Jupyter's runtime files, Lab's settings and workspaces, the browser
profile. Nothing is written to ~/.jupyter. Jupyter still finds its lab extensions (ipywidgets)
and the kernel in the repo's .venv (sys.prefix), because the data path is left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

from helpers.browser import CHROMIUM_ARGS  # the flags measured to work here

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """Jupyter refuses port 0, so ask the OS for a free port and hand it over (tiny race)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    url: str
    token: str
    root: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}"


def _wait_until_ready(url: str, token: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early:\n{log.read_text()[-3000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as reply,
        ):
            if reply.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"jupyter lab did not answer within 60 s:\n{log.read_text()[-3000:]}")


def copy_without_outputs(source: Path, target: Path) -> None:
    """A fresh copy: no saved outputs or widget state, so the page shows only what this run made."""
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, target)


@contextlib.contextmanager
def jupyter_lab(root: Path, notebooks: list[Path]) -> Iterator[Lab]:
    """Copy the notebooks into ``root`` and serve that directory with JupyterLab on 127.0.0.1."""
    root.mkdir(parents=True, exist_ok=True)
    for notebook in notebooks:
        copy_without_outputs(notebook, root / notebook.name)
    port, token = free_port(), secrets.token_hex(16)
    state = root / ".jupyter-state"
    no_news = state / "settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
    no_news.parent.mkdir(parents=True)
    no_news.write_text(json.dumps({"fetchNews": "false"}))  # no "get news?" toast over the page
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")},
        "KIT_BACKEND": "local",  # offline and deterministic, whatever keys the developer has set
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "JUPYTER_CONFIG_DIR": str(state / "config"),  # ignore the user's config; write none
        "IPYTHONDIR": str(state / "ipython"),  # the kernels' history database
        "npm_config_cache": str(state / "npm"),  # Lab asks npm for its prefix; npm writes logs
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={state / 'settings'}",
        f"--LabApp.workspaces_dir={state / 'workspaces'}",
        "--NotebookNotary.db_file=:memory:",  # the trust database would go to ~/.local
        f"--NotebookNotary.secret_file={state / 'notebook_secret'}",
        "--LabApp.extension_manager=readonly",  # no PyPI look-ups: the tests run offline
        "--ServerApp.terminals_enabled=False",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:  # CI containers often run as root; Jupyter refuses that by default
        command.append("--allow-root")
    log = state / "lab.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command, env=env, cwd=root, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we stop it and its kernels together
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_ready(url, token, process, log)
        yield Lab(url, token, root)
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the server's group (server and kernels), then SIGKILL whatever is left."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):  # kernels may outlive a server killed hard
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def chromium_page(profile_dir: Path) -> Iterator[object]:
    """A Playwright page in Debian's Chromium with a fresh profile (Playwright's own download
    of a browser does not work offline)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            env={  # dconf and other desktop caches would otherwise go to ~/.cache, ~/.config
                **os.environ,
                "XDG_CONFIG_HOME": str(profile_dir / "xdg-config"),
                "XDG_CACHE_HOME": str(profile_dir / "xdg-cache"),
            },
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            yield page
        finally:
            context.close()


# --- driving a notebook in JupyterLab -------------------------------------------------------------


def open_notebook(page, lab: Lab, name: str) -> None:
    """Open the notebook and wait until its kernel is idle."""
    page.goto(lab.notebook_url(name), wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    wait_for_kernel_idle(page)


def wait_for_kernel_idle(page, timeout_ms: int = 60_000) -> None:
    """Lab shows the kernel state in the toolbar's status indicator."""
    page.wait_for_selector(
        ".jp-NotebookPanel-toolbar .jp-Toolbar-kernelStatus[data-status='idle'],"
        ".jp-NotebookPanel-toolbar [data-status='idle']",
        timeout=timeout_ms,
    )


def code_cell(page, containing: str):
    """The code cell whose source contains this text (a Playwright locator)."""
    return page.locator(".jp-Notebook .jp-CodeCell").filter(
        has=page.locator(".jp-InputArea-editor", has_text=containing)
    ).first


def run_cell(page, cell, attempts: int = 3) -> None:
    """Select the cell by its prompt and press Shift+Enter, like a learner; then check that
    Lab really queued it (its prompt turns to [*] or a number), and press again if not: a key
    pressed while the page is still wiring up its kernel can be lost on a busy machine."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    prompt = cell.locator(".jp-InputPrompt")
    for _ in range(attempts):
        cell.scroll_into_view_if_needed()
        prompt.click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function(
                "(p) => /\\[(\\*|\\d+)\\]/.test(p.textContent)",
                arg=prompt.element_handle(),
                timeout=10_000,
            )
            return
        except PlaywrightTimeout:
            continue
    raise RuntimeError(f"the cell was not queued after {attempts} Shift+Enter presses")
