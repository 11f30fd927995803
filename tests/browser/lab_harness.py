"""Run JupyterLab and Debian's Chromium for a browser test or benchmark, and clean both up.

Shared by tests/browser/ and benchmarks/bench_token_to_dom.py. Everything lives in one temporary
directory: the notebook copy, Jupyter's runtime files, Lab's settings and workspaces, the browser
profile. Nothing is written to ~/.jupyter. Jupyter still finds its lab extensions (ipywidgets)
and the kernel in the repo's .venv (sys.prefix), because the data path is left alone.
"""

from __future__ import annotations

import collections
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
import weakref
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
    ]  # fmt: skip
    if os.geteuid() == 0:  # CI containers often run as root; Jupyter refuses that by default
        command.append("--allow-root")
    log = state / "lab.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command, env=env, cwd=root, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we stop it and its kernels together
        )  # fmt: skip
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


# --- when a browser test fails: what was on screen, and what JupyterLab was asking ---------------

# Every open JupyterLab dialog (a modal <dialog class="jp-Dialog"> over the whole page): its title,
# body and buttons. A dialog nobody expects blocks every click until the test times out.
_OPEN_DIALOGS_JS = """() => [...document.querySelectorAll('.jp-Dialog')].map((d) => ({
    title: (d.querySelector('.jp-Dialog-header')?.innerText || '').trim(),
    body: (d.querySelector('.jp-Dialog-body')?.innerText || '').trim(),
    buttons: [...d.querySelectorAll('.jp-Dialog-footer button')].map((b) => b.innerText.trim()),
}))"""


def open_dialogs(page) -> list[dict]:
    """The JupyterLab dialogs open in ``page``: [{"title", "body", "buttons"}], [] if none."""
    return page.evaluate(_OPEN_DIALOGS_JS)


# The last console messages and uncaught errors of every watched page (what Lab logged before
# a dialog came up: a failed request, a dead kernel), kept for `save_failure_evidence`.
_CONSOLE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def watch_console(context) -> None:
    """Keep the last 200 console messages and page errors of every page of this BrowserContext,
    with the seconds since the page opened."""

    def watch(page) -> None:
        lines = _CONSOLE.setdefault(page, collections.deque(maxlen=200))
        opened = time.monotonic()
        stamp = lambda: f"{time.monotonic() - opened:7.1f}s"  # noqa: E731
        page.on("console", lambda m: lines.append(f"{stamp()} {m.type}: {m.text[:500]}"))
        page.on("pageerror", lambda e: lines.append(f"{stamp()} pageerror: {str(e)[:500]}"))

    for page in context.pages:
        watch(page)
    context.on("page", watch)


def open_pages(browser_or_page) -> list:
    """Every open page of a Playwright Browser, BrowserContext, or of a Page's context."""
    if hasattr(browser_or_page, "contexts"):  # a Browser: one context per student, say
        return [page for context in browser_or_page.contexts for page in context.pages]
    if hasattr(browser_or_page, "pages"):  # a BrowserContext
        return list(browser_or_page.pages)
    return list(browser_or_page.context.pages)


def save_failure_evidence(browser_or_page, directory: Path) -> str:
    """A screenshot of every open page and the text of every open JupyterLab dialog, saved in
    ``directory`` (evidence.txt, page-N.png, and console-N.txt for a page `watch_console`
    watched); returns a summary naming the folder. Best effort: a page that does not answer
    within 15 s is noted, not waited for."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for number, page in enumerate(open_pages(browser_or_page), 1):
        lines.append(f"page {number}: {page.url}")
        try:
            page.screenshot(path=directory / f"page-{number}.png", timeout=15_000)
            dialogs = open_dialogs(page)
        except Exception as error:  # a crashed or closed page: say so and go on
            lines.append(f"  (no evidence: {type(error).__name__}: {str(error)[:300]})")
            continue
        lines.append(f"  screenshot page-{number}.png; {len(dialogs)} JupyterLab dialog(s) open")
        for dialog in dialogs:
            body = " / ".join(dialog["body"].splitlines())
            lines.append(f"  dialog {dialog['title']!r}: {body!r}, buttons {dialog['buttons']}")
        if page in _CONSOLE:
            (directory / f"console-{number}.txt").write_text("\n".join(_CONSOLE[page]) + "\n")
            lines.append(f"  its last {len(_CONSOLE[page])} console messages: console-{number}.txt")
    (directory / "evidence.txt").write_text("\n".join(lines) + "\n")
    return f"browser evidence in {directory}:\n" + "\n".join(lines)


@contextlib.contextmanager
def evidence_on_failure(browser_or_page, directory: Path, logs: str = "") -> Iterator[None]:
    """On any failure inside (an assertion, a Playwright timeout, pytest-timeout's), save
    `save_failure_evidence` into ``directory`` and add its summary, and ``logs`` (where the
    servers' logs are), to the error's message."""
    try:
        yield
    except BaseException as error:
        if isinstance(error, (KeyboardInterrupt, GeneratorExit)) or type(error).__name__ in (
            "Skipped",  # pytest.skip() and pytest.xfail(): not failures, nothing to explain
            "XFailed",
        ):
            raise
        try:
            summary = save_failure_evidence(browser_or_page, directory)
        except Exception as failure:  # the evidence must never hide the error itself
            summary = f"no browser evidence saved ({type(failure).__name__}: {failure})"
        summary += f"\n{logs}" if logs else ""
        error.add_note(summary)
        print(summary)
        raise


@contextlib.contextmanager
def chromium_page(profile_dir: Path, evidence_dir: Path | None = None) -> Iterator[object]:
    """A Playwright page in Debian's Chromium with a fresh profile (Playwright's own download
    of a browser does not work offline). If the test fails inside, every open page's screenshot
    and JupyterLab dialogs go to ``evidence_dir`` (default: failure-evidence beside the profile,
    in pytest's tmp_path) and the failure message names it."""
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
            watch_console(context)
            page = context.pages[0] if context.pages else context.new_page()
            with evidence_on_failure(
                context, evidence_dir or profile_dir.parent / "failure-evidence"
            ):
                yield page
        finally:
            context.close()


# --- driving a notebook in JupyterLab -------------------------------------------------------------


def open_notebook(page, lab: Lab, name: str) -> None:
    """Open the notebook and wait until its kernel is idle."""
    page.goto(lab.notebook_url(name), wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    wait_for_kernel_idle(page)


KERNEL_IDLE = (
    ".jp-NotebookPanel-toolbar .jp-Toolbar-kernelStatus[data-status='idle'],"
    ".jp-NotebookPanel-toolbar [data-status='idle']"
)
SELECT_KERNEL = ".jp-Dialog:has(.jp-Dialog-header:text-is('Select Kernel'))"


def press_select_if_lab_asks_for_a_kernel(page) -> bool:
    """On a busy machine JupyterLab 4.6 may ask "Select Kernel" instead of starting the notebook's
    kernel: its startKernel() shows that dialog when it found no kernel to start (the kernelspecs
    had not arrived when the notebook opened) or its session request failed. Seen in the hub test
    beside two CPU burners, with the notebook's own kernel preselected. A learner presses Select;
    so do we, saying so. Any other dialog stays open and fails the test with its text (see
    save_failure_evidence). Returns whether it pressed."""
    dialog = page.locator(SELECT_KERNEL)
    if not (dialog.count() and dialog.first.is_visible()):
        return False
    print("JupyterLab asked 'Select Kernel' (busy machine): pressing Select")
    dialog.first.locator(".jp-mod-accept").click()
    return True


def wait_for_kernel_idle(page, timeout_ms: int = 60_000) -> None:
    """Lab shows the kernel state in the toolbar's status indicator; idle, and no "Select
    Kernel" question for a whole second (the question can come just after the first idle)."""
    deadline = time.monotonic() + timeout_ms / 1000
    idle_since = None
    while True:
        if press_select_if_lab_asks_for_a_kernel(page) or not page.locator(KERNEL_IDLE).count():
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= 1.0:
            return
        if time.monotonic() > deadline:
            page.wait_for_selector(KERNEL_IDLE, timeout=1)  # fails with Playwright's message
            return
        page.wait_for_timeout(200)


def code_cell(page, containing: str):
    """The code cell whose source contains this text (a Playwright locator)."""
    return (
        page.locator(".jp-Notebook .jp-CodeCell")
        .filter(has=page.locator(".jp-InputArea-editor", has_text=containing))
        .first
    )


def run_cell(page, cell, attempts: int = 3) -> None:
    """Select the cell by its prompt and press Shift+Enter, like a learner; then check that
    Lab really queued it (its prompt turns to [*] or a number), and press again if not: a key
    pressed while the page is still wiring up its kernel can be lost on a busy machine."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    prompt = cell.locator(".jp-InputPrompt")
    for _ in range(attempts):
        if press_select_if_lab_asks_for_a_kernel(page):
            wait_for_kernel_idle(page)
        cell.scroll_into_view_if_needed()
        try:  # a dialog over the page intercepts the click: look again for it next time round
            prompt.click(timeout=30_000)
        except PlaywrightTimeout:
            continue
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
