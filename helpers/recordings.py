"""Real streamed bodies from data/real_streams/, read with the kit's own SSE decoder.

The folder holds what api.openai.com and api.anthropic.com actually sent (copied from public
repositories' test fixtures; data/real_streams/README.md names each file's source and licence).
The lessons put one beside the local server's stream for the same kind of request:

    real = load_recording("openai-responses-text-1.sse")
    local = SSEDecoder().feed(raw) ...
    for line in compare_fields(real, local):
        print(line)

Nothing here talks to a server: a recording is a fixed file, so what it prints never changes.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from helpers.sse import ServerSentEvent, SSEDecoder

__all__ = [
    "RECORDINGS_DIR",
    "compare_fields",
    "event_kind",
    "field_paths",
    "fields_by_type",
    "load_recording",
    "recorded_request",
    "recording_bytes",
    "sequence",
    "side_by_side",
    "source_of",
]

RECORDINGS_DIR = Path(__file__).resolve().parent.parent / "data" / "real_streams"


def recording_bytes(name: str) -> bytes:
    """The body exactly as the recorder stored it (`name` with or without `.sse`)."""
    return (RECORDINGS_DIR / f"{name.removesuffix('.sse')}.sse").read_bytes()


def load_recording(name: str) -> list[ServerSentEvent]:
    """The recording decoded by helpers.sse.SSEDecoder, as a client would see it."""
    decoder = SSEDecoder()
    return decoder.feed(recording_bytes(name)) + decoder.close()


def recorded_request(name: str) -> dict[str, Any]:
    """The request body the recorder kept with the stream (KeyError when it kept none)."""
    file = f"{name.removesuffix('.sse')}.request.json"
    if not (RECORDINGS_DIR / file).exists():
        raise KeyError(f"no recorded request for {name}")
    return json.loads((RECORDINGS_DIR / file).read_text(encoding="utf-8"))


def source_of(name: str) -> str:
    """One line for a citation: repository, when it was recorded, the model, the licence."""
    file = f"{name.removesuffix('.sse')}.sse"
    manifest = json.loads((RECORDINGS_DIR / "manifest.json").read_text(encoding="utf-8"))
    entry = next(e for e in manifest if e["file"] == file)
    return (
        f"{file}: {entry['repo']} ({entry['path'].rsplit('/', 1)[-1]}), "
        f"recorded {entry['recorded']}, model {entry['model']}, licence {entry['licence']}"
    )


def field_paths(payload: Any, prefix: str = "", depth: int = 2) -> set[str]:
    """Dotted paths of an event's JSON fields, `depth` levels deep (`item.status`).

    A list of objects counts as the union of its members (`choices[].delta`).
    """
    paths: set[str] = set()
    if not isinstance(payload, dict) or depth == 0:
        return paths
    for key, value in payload.items():
        path = f"{prefix}{key}"
        paths.add(path)
        members = value if isinstance(value, list) else [value]
        suffix = "[]." if isinstance(value, list) else "."
        for member in members:
            paths |= field_paths(member, f"{path}{suffix}", depth - 1)
    return paths


def event_kind(event: ServerSentEvent) -> str:
    """The event's type, refined by the kind of thing it opens or carries.

    `response.output_item.added[reasoning]` and `[message]` are different events to a reader, as
    are Anthropic's `content_block_delta[text_delta]` and `[input_json_delta]`. Data-only streams
    (Chat Completions) are all `message`; their `data: [DONE]` is `[DONE]`.
    """
    if event.data == "[DONE]":
        return "[DONE]"
    payload = event.json()
    for key in ("item", "content_block", "delta", "part"):
        inner = payload.get(key) if isinstance(payload, dict) else None
        if isinstance(inner, dict) and "type" in inner:
            return f"{event.event}[{inner['type']}]"
    return event.event


def sequence(events: Iterable[ServerSentEvent]) -> list[str]:
    """Event kinds in order, a run of one kind shown once with its count (`... x12`)."""
    runs: list[list[Any]] = []
    for event in events:
        kind = event_kind(event)
        if runs and runs[-1][0] == kind:
            runs[-1][1] += 1
        else:
            runs.append([kind, 1])
    return [kind if count == 1 else f"{kind} x{count}" for kind, count in runs]


def side_by_side(real: list[str], local: list[str], width: int = 48) -> list[str]:
    """Two sequences in two columns, lined up where they agree (difflib), a blank where not.

    A run's count is left out of the alignment, so `delta x1` lines up with `delta x23`.
    """
    base = [line.split(" x")[0] for line in real], [line.split(" x")[0] for line in local]
    matcher = difflib.SequenceMatcher(a=base[0], b=base[1], autojunk=False)
    lines = [f"{'recording':{width}} local server"]
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        left, right = real[i1:i2], local[j1:j2]
        for k in range(max(len(left), len(right))):
            a = left[k] if k < len(left) else ""
            b = right[k] if k < len(right) else ""
            lines.append(f"{a:{width}} {b}".rstrip())
    return lines


def fields_by_type(events: Iterable[ServerSentEvent], depth: int = 2) -> dict[str, set[str]]:
    """Per event kind (see event_kind), the union of its events' field paths, in order."""
    found: dict[str, set[str]] = {}
    for event in events:
        fields = set() if event.data == "[DONE]" else field_paths(event.json(), depth=depth)
        found.setdefault(event_kind(event), set()).update(fields)
    return found


def compare_fields(
    real: Iterable[ServerSentEvent], local: Iterable[ServerSentEvent], depth: int = 2
) -> list[str]:
    """One line per event kind: the same fields, or what only one side sent."""
    want, got = fields_by_type(real, depth), fields_by_type(local, depth)
    lines = []
    for kind in [*want, *(k for k in got if k not in want)]:
        if kind not in got:
            lines.append(f"{kind}: only in the recording")
        elif kind not in want:
            lines.append(f"{kind}: only from the local server")
        elif want[kind] == got[kind]:
            lines.append(f"{kind}: same {len(want[kind])} fields")
        else:
            only_real, only_local = sorted(want[kind] - got[kind]), sorted(got[kind] - want[kind])
            parts = [f"{kind}: {len(want[kind] & got[kind])} fields in both"]
            parts += [f"only real: {' '.join(only_real)}"] if only_real else []
            parts += [f"only local: {' '.join(only_local)}"] if only_local else []
            lines.append("; ".join(parts))
    return lines
