"""The kit's demo page in a real headless Chromium, driven from Python: for the tests.

Why: `EventSource`, `fetch()` and the browser's connection limits are not Python. Lesson 11's
learners see them in their own browser (the demo page's buttons, and short scripts for the
DevTools console); the tests click the same buttons in Chromium (through Playwright, from
requirements-dev.txt) and assert what the lesson says:

    reason = browser_missing()           # None, or one sentence saying what is not installed
    with chromium_page(demo_url) as page:
        page.click("#seven-run")
        seen = page.evaluate("window.demo.lastSeven")
    result = in_chromium(demo_url, "async () => (await window.demo.runFetch({...})).text")

Each call starts a fresh browser with a fresh profile, so its connection pool starts empty.
Playwright's own browser download needs the network; the kit uses Debian's `chromium` (or one on
PATH). The call runs in a worker thread because Playwright's sync API refuses to run inside a
Jupyter kernel's event loop.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = [
    "CHROMIUM_ARGS",
    "browser_missing",
    "chromium_executable",
    "chromium_page",
    "in_chromium",
]

# Headless as root on a machine without a display, offline: the flags measured to work here.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_TIMEOUT_MS = 120_000  # a busy machine: the scripts check orders, not speed


def chromium_executable() -> str | None:
    """Debian's chromium, else a chromium on PATH, else None."""
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_missing() -> str | None:
    """None when a browser can be driven here; otherwise what to install, in one sentence."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -r requirements-dev.txt)"
    if chromium_executable() is None:
        return "Chromium is not installed (Debian: apt-get install chromium)"
    return None


@contextlib.contextmanager
def chromium_page(url: str, *, ignore_https_errors: bool = False) -> Iterator[Any]:
    """A Playwright page at `url` in a fresh headless Chromium (fresh profile), closed after.

    Playwright's sync API: call it from a plain thread (a test), not inside a running event
    loop such as a Jupyter kernel's (`in_chromium` does that for you).
    """
    missing = browser_missing()
    if missing:
        raise RuntimeError(missing)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="kit-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_executable(),
            args=CHROMIUM_ARGS,
            headless=True,
            ignore_https_errors=ignore_https_errors,
            env={**os.environ, "XDG_CONFIG_HOME": profile, "XDG_CACHE_HOME": profile},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(url)
            yield page
        finally:
            context.close()


def _run(url: str, script: str, arg: Any, ignore_https_errors: bool) -> Any:
    with chromium_page(url, ignore_https_errors=ignore_https_errors) as page:
        return page.evaluate(script, arg)


def in_chromium(
    url: str, script: str, arg: Any = None, *, ignore_https_errors: bool = False
) -> Any:
    """Open `url` in a fresh headless Chromium, evaluate `script` (a JS function) with `arg`.

    Returns what the script returns (JSON-like values; a Promise is awaited). Raises
    RuntimeError with `browser_missing()`'s sentence when no browser can be driven here.
    """
    missing = browser_missing()
    if missing:
        raise RuntimeError(missing)
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(_run, url, script, arg, ignore_https_errors).result()
