// The page's side of lesson 13's relay: POST the prompt, read the relay's own SSE protocol
// (start / delta / done / error) with fetch + ReadableStream + TextDecoder, render as it grows, Stop.
//
// An answer is "complete" only when `done` arrived. An `error` event, or a stream that ends
// without `done` (the relay or a proxy hung up), marks it failed: what arrived stays visible,
// but never as a finished answer.
//
// Stop does two things: it POSTs api/stop/{id} (the id came in the `start` event), and it aborts
// the fetch. The abort alone reaches the relay directly or through nginx, but not through a
// proxy that reads on after the browser left (jupyter-server-proxy 4.6, on a JupyterHub).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  // Relative to the page, so it works at http://127.0.0.1:PORT/ and under a Jupyter server's
  // proxy (/user/NAME/proxy/PORT/), even if the address was typed without its last slash.
  function apiUrl(path = "chat") {
    const here = new URL(location.href);
    here.search = "";
    here.hash = "";
    if (!here.pathname.endsWith("/")) {
      here.pathname = /\.html?$/.test(here.pathname)
        ? here.pathname.replace(/[^/]*$/, "")
        : here.pathname + "/";
    }
    return new URL("api/" + path, here).href;
  }

  // Markdown as it grows when the renderer is there (markdown_stream.js), else plain text,
  // appended piece by piece (never innerHTML: the model's text is untrusted).
  function makeView(container) {
    container.replaceChildren();
    if (typeof window.StreamingMarkdown === "function" && window.marked && window.DOMPurify) {
      container.classList.remove("plain");
      return new window.StreamingMarkdown(container);
    }
    container.classList.add("plain");
    let text = "";
    return {
      append(piece) { text += piece; container.append(document.createTextNode(piece)); },
      end() {},
      get text() { return text; },
    };
  }

  // Complete SSE blocks out of the text read so far; the rest waits for more bytes.
  function takeEvents(buffer) {
    const events = [];
    buffer = buffer.replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.search(/\n\n|\r\r/)) !== -1) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let type = "message";
      const data = [];
      for (const line of block.split(/\r|\n/)) {
        if (line === "" || line.startsWith(":")) continue;  // comments: keep-alive pings
        const colon = line.indexOf(":");
        const name = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (name === "event") type = value;
        else if (name === "data") data.push(value);
      }
      if (data.length) events.push({ type, data: data.join("\n") });
    }
    return { events, rest: buffer };
  }

  let controller = null;
  let answerId = null;  // from the relay's `start` event: what Stop names
  let stopHeaders = {};
  const result = { state: "idle", text: "", deltas: 0, reads: 0, message: "", answerId: null,
                   stopSent: false };

  function setState(state, message) {
    result.state = state;
    result.message = message || "";
    $("status").dataset.state = state;
    $("answer").dataset.state = state;
    $("status").textContent = message ? `${state}: ${message}` : state;
    const busy = state === "streaming";
    $("ask").disabled = busy;
    $("stop").disabled = !busy;
  }

  async function ask(prompt) {
    controller = new AbortController();
    const view = makeView($("answer"));
    Object.assign(result, { text: "", deltas: 0, reads: 0, started: performance.now(),
                            firstDeltaAt: null, endedAt: null, answerId: null, stopSent: false });
    answerId = null;
    setState("streaming");
    const headers = { "content-type": "application/json", accept: "text/event-stream" };
    const xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/);  // behind a Jupyter server
    if (xsrf) headers["x-xsrftoken"] = decodeURIComponent(xsrf[1]);
    stopHeaders = xsrf ? { "x-xsrftoken": decodeURIComponent(xsrf[1]) } : {};
    let ending = null;  // "done" or "error"
    try {
      const response = await fetch(apiUrl(), {
        method: "POST", headers, body: JSON.stringify({ prompt }), signal: controller.signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      while (ending === null) {
        const { value, done } = await reader.read();
        if (done) break;
        result.reads += 1;
        // stream: true keeps a character whose bytes are split across two reads whole.
        const taken = takeEvents(buffer + decoder.decode(value, { stream: true }));
        buffer = taken.rest;
        for (const event of taken.events) {
          const data = JSON.parse(event.data);
          if (event.type === "start") {
            answerId = result.answerId = data.id;
          } else if (event.type === "delta") {
            if (result.firstDeltaAt === null) result.firstDeltaAt = performance.now();
            result.deltas += 1;
            result.text += data.text;
            view.append(data.text);
          } else if (event.type === "done") {
            ending = "done";
          } else if (event.type === "error") {
            ending = "error";
            result.message = data.message;
          }
        }
      }
      view.end();
      if (ending === "done") setState("complete");
      else if (ending === "error") setState("failed", result.message);
      else setState("failed", "the stream ended without done");
    } catch (error) {
      view.end();
      if (error.name === "AbortError") setState("stopped", "you stopped it");
      else setState("failed", error.message || String(error));
    } finally {
      result.endedAt = performance.now();
      controller = null;
      answerId = null;
    }
    return { ...result };
  }

  // stop({request: false}) only aborts: what lesson 13 measures through a proxy, never the button.
  function stop({ request = true } = {}) {
    if (!controller) return;
    if (request && answerId) {
      // Its own small request, not tied to the aborted fetch (keepalive: sent even if the tab
      // is closing). The relay closes the model's stream on it, whatever sits in between.
      fetch(apiUrl("stop/" + encodeURIComponent(answerId)),
            { method: "POST", headers: stopHeaders, keepalive: true }).catch(() => {});
      result.stopSent = true;
    }
    controller.abort();  // closes the connection: the relay sees the hang-up, if it reaches it
  }

  // Closing the tab while an answer streams is a Stop too.
  window.addEventListener("pagehide", () => stop());

  $("ask").addEventListener("click", () => ask($("prompt").value));
  $("stop").addEventListener("click", () => stop());
  window.relay = { ask, stop, apiUrl, takeEvents, get last() { return { ...result }; } };
})();
