"""The browser's own streaming clients, run in a real headless Chromium from Python.

Why: `EventSource`, `fetch()` and the browser's connection limits are not Python; reading about
them is not watching them. Lesson 11 and the browser tests open the kit's demo page in Chromium
(through Playwright, from requirements-dev.txt) and evaluate small scripts there:

    reason = browser_missing()           # None, or one sentence saying what is not installed
    result = in_chromium(demo_url, "async () => (await window.demo.runFetch({...})).text")

Each call starts a fresh browser with a fresh profile, so its connection pool starts empty.
Playwright's own browser download needs the network; the kit uses Debian's `chromium` (or one on
PATH). The call runs in a worker thread because Playwright's sync API refuses to run inside a
Jupyter kernel's event loop.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = [
    "CHROMIUM_ARGS",
    "SEVEN_STREAMS",
    "UNSAFE_RENDER",
    "browser_missing",
    "chromium_executable",
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


def _run(url: str, script: str, arg: Any, ignore_https_errors: bool) -> Any:
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    with tempfile.TemporaryDirectory(prefix="kit-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            args=CHROMIUM_ARGS,
            headless=True,
            ignore_https_errors=ignore_https_errors,
            env={**os.environ, "XDG_CONFIG_HOME": profile, "XDG_CACHE_HOME": profile},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(url)
            return page.evaluate(script, arg)
        finally:
            context.close()


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


# Seven EventSources at once on one origin. Over HTTP/1.1 Chromium opens at most 6 connections
# per origin, so the 7th request waits until one stream ends; over HTTP/2 all share one
# connection. Returns the page's protocol and, per stream, times from performance.now().
SEVEN_STREAMS = """async (opts) => {
  const first = [];
  const started = Array.from({length: 7}, (_, i) => window.demo.runStream(opts, () => {
    if (first[i] === undefined) first[i] = performance.now(); }).then((r) => ({
    n: i + 1, firstAt: first[i], endAt: performance.now(), text: r.text})));
  const protocol = performance.getEntriesByType("navigation")[0].nextHopProtocol;
  return {protocol, streams: await Promise.all(started)};
}"""

# A model output that carries markup, rendered as it grows: innerHTML parses it (and runs the
# onerror handler), textContent shows it as text. Returns what each way did.
UNSAFE_RENDER = """async (pieces) => {
  window.ran = 0;
  const unsafe = document.createElement("div"), safe = document.createElement("div");
  document.body.append(unsafe, safe);
  let text = "";
  for (const piece of pieces) {
    text += piece;
    unsafe.innerHTML = text;   // what many "render the stream" snippets do
    safe.textContent = text;   // the text, whatever it contains
  }
  const img = unsafe.querySelector("img");
  if (img && !window.ran) await new Promise((ok) => img.addEventListener("error", ok));
  await new Promise((ok) => setTimeout(ok, 0));  // let the inline handler finish
  return { innerHTML: { images: unsafe.querySelectorAll("img").length, handlerRan: window.ran,
                        shown: unsafe.textContent },
           textContent: { images: safe.querySelectorAll("img").length, shown: safe.textContent } };
}"""
