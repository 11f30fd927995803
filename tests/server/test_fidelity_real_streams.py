"""The local server's streams, compared with what the real services sent (data/real_streams/).

For every recording that kept its request body, the test sends that request (model: the simulated
model, `kit-sim-1`) to a LocalServer, reads the raw SSE body over HTTP and compares it with the
recording. Compared:

- framing: Responses and Anthropic frames are `event:` + `data:`, `event` equal to the JSON `type`;
  Chat frames are `data:` only and the last one is `[DONE]`; no comment lines; the Content-Type;
- the order of event types, consecutive repeats collapsed (30 `response.output_text.delta` = one);
  an event type is refined by what it carries where the model's choice shows (`output_item.added`
  of a `function_call` or a `message`; Anthropic's `content_block_delta` of `text_delta` or
  `input_json_delta`; Chat chunks by what their delta holds);
- per event type, the set of fields, recursively into the nested objects that matter (NESTED),
  over every event of that type in the stream.

Not compared: values, key order, byte widths (ids, timestamps, `obfuscation` values, Anthropic's
padding differ by nature). Every difference is either in JUSTIFIED (the simulated model chose
differently, or the field came or went on the wire before or after the recording's date, as the fact
sheet in data/real_streams/README.md dates them), or in NOT_YET_SIMULATED (a server gap), each
with its one-line reason; any other difference fails naming the recording, event type and fields,
and an entry that matches nothing fails too, so both tables shrink when the server catches up.
A recorded request the server refuses is a difference too ("refused"), listed like the others.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.server import LocalServer
from helpers.server.model.simulated import MODEL_ID
from helpers.sse import SSEDecoder

FOLDER = Path(__file__).resolve().parents[2] / "data" / "real_streams"
MANIFEST = json.loads((FOLDER / "manifest.json").read_text(encoding="utf-8"))

RESPONSES, CHAT, ANTHROPIC = "responses", "chat", "anthropic"
PATHS = {RESPONSES: "/v1/responses", CHAT: "/v1/chat/completions", ANTHROPIC: "/v1/messages"}
# Keys whose object value is compared field by field (a list of objects: the union of its members).
NESTED = frozenset(
    {
        "response",
        "item",
        "part",
        "delta",
        "message",
        "usage",
        "content_block",
        "choices",
        "tool_calls",
        "function",
        "error",
        "incomplete_details",
    }
)
_LINE = re.compile(r"\r\n|\r|\n")


# --------------------------------------------------------------------------- pure functions


@dataclass(frozen=True)
class Frame:
    """One SSE block as sent: its field names in order (a comment line counts as ":")."""

    fields: tuple[str, ...]
    event: str | None  # the `event:` value, None without an event line
    data: str


def parse_frames(body: bytes) -> list[Frame]:
    """Split an SSE body into blocks at blank lines, keeping which fields each block had."""
    frames, fields, event, data = [], [], None, []
    for line in _LINE.split(body.decode("utf-8")):
        if line == "":
            if fields:
                frames.append(Frame(tuple(fields), event, "\n".join(data)))
            fields, event, data = [], None, []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        fields.append(name or ":")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if fields:  # a last block without its blank line: the SSE reader drops it, we keep it to see it
        frames.append(Frame(tuple(fields), event, "\n".join(data)))
    return frames


def dialect_of(recording: str) -> str:
    if recording.startswith("openai-responses-"):
        return RESPONSES
    if recording.startswith("openai-chat-"):
        return CHAT
    if recording.startswith("anthropic-messages-"):
        return ANTHROPIC
    raise ValueError(f"no dialect for {recording!r}")


def framing_problems(frames: list[Frame], dialect: str) -> list[str]:
    """What breaks the dialect's framing rule, one short code (no spaces) per kind of problem."""
    problems: set[str] = set()
    for frame in frames:
        if ":" in frame.fields:
            problems.add("comment-lines")
        expected = ("data",) if dialect == CHAT else ("event", "data")
        if frame.fields != expected:
            problems.add("fields=" + ",".join(frame.fields))
        if dialect == CHAT:
            continue
        try:
            kind = json.loads(frame.data).get("type")
        except (ValueError, AttributeError):
            problems.add("data-not-a-JSON-object")
            continue
        if frame.event != kind:
            problems.add(f"event!=type:{frame.event}!={kind}")
    done = [i for i, frame in enumerate(frames) if frame.data == "[DONE]"]
    if dialect == CHAT and done != [len(frames) - 1]:
        problems.add("[DONE]-not-once-at-the-end")
    if dialect != CHAT and done:
        problems.add("[DONE]-sent")
    return sorted(problems)


def payloads(frames: list[Frame]) -> list[dict[str, Any]]:
    """Each frame's JSON (Chat's `[DONE]` left out: it is not JSON)."""
    return [json.loads(frame.data) for frame in frames if frame.data != "[DONE]"]


def event_type(payload: dict[str, Any], dialect: str) -> str:
    """The event's type, refined where the model's choice shows (see the module docstring)."""
    if dialect == CHAT:
        return _chat_kind(payload)
    kind = payload.get("type", "?")
    for key in ("item", "content_block", "delta", "part"):
        inner = payload.get(key)
        if isinstance(inner, dict) and "type" in inner:
            return f"{kind}[{inner['type']}]"
    return kind


def _chat_kind(chunk: dict[str, Any]) -> str:
    if "error" in chunk:
        return "chunk[error]"
    if not chunk.get("choices"):
        return "chunk[usage]"
    choice = chunk["choices"][0]
    delta = choice.get("delta") or {}
    if choice.get("finish_reason") is not None:
        return "chunk[finish]"
    if "role" in delta:
        return "chunk[role]"
    if delta.get("tool_calls"):
        return "chunk[tool_call]" if "id" in delta["tool_calls"][0] else "chunk[tool_arguments]"
    if "content" in delta:
        return "chunk[content]"
    return "chunk[other]"


def event_sequence(events: Iterable[dict[str, Any]], dialect: str) -> list[str]:
    """Event types in order, a run of the same type counted once."""
    sequence: list[str] = []
    for payload in events:
        kind = event_type(payload, dialect)
        if not sequence or sequence[-1] != kind:
            sequence.append(kind)
    return sequence


def field_tree(value: Any, prefix: str = "") -> set[str]:
    """Dotted paths of an object's fields, going into NESTED keys (`choices[].delta.content`)."""
    paths: set[str] = set()
    if not isinstance(value, dict):
        return paths
    for key, inner in value.items():
        path = f"{prefix}{key}"
        paths.add(path)
        if key not in NESTED:
            continue
        if isinstance(inner, dict):
            paths |= field_tree(inner, f"{path}.")
        elif isinstance(inner, list):
            for member in inner:
                paths |= field_tree(member, f"{path}[].")
    return paths


def fields_by_type(events: Iterable[dict[str, Any]], dialect: str) -> dict[str, set[str]]:
    """Per event type, the union of the field trees of its events."""
    found: dict[str, set[str]] = {}
    for payload in events:
        found.setdefault(event_type(payload, dialect), set()).update(field_tree(payload))
    return found


@dataclass(frozen=True, order=True)
class Difference:
    """One way the local stream differs from a recording.

    `where` is an event type, or "sequence" / "framing" / "request"; `what` is "missing" (in the
    recording, not sent here) or "extra" (sent here, not in the recording), or "refused" (the
    server answered the recorded request with an error, so no stream could be compared); `name` is
    a field path, or, for "sequence", an event type, for "framing", the problem, for "request",
    `status:field`.
    """

    recording: str
    where: str
    what: str
    name: str

    def __str__(self) -> str:
        return f"{self.recording}: {self.where}: {self.what} {self.name}"


def diff_streams(
    recording: str, dialect: str, recorded: list[Frame], local: list[Frame]
) -> set[Difference]:
    """Every Difference between a recorded body's frames and the local server's."""
    found = {
        Difference(recording, "framing", "extra", problem)
        for problem in framing_problems(local, dialect)
    }
    old, new = payloads(recorded), payloads(local)
    before, after = event_sequence(old, dialect), event_sequence(new, dialect)
    if dialect == CHAT:  # [DONE] is part of the sequence a reader sees
        before += ["[DONE]"] if recorded and recorded[-1].data == "[DONE]" else []
        after += ["[DONE]"] if local and local[-1].data == "[DONE]" else []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("delete", "replace"):
            found |= {Difference(recording, "sequence", "missing", k) for k in before[i1:i2]}
        if op in ("insert", "replace"):
            found |= {Difference(recording, "sequence", "extra", k) for k in after[j1:j2]}
    want, got = fields_by_type(old, dialect), fields_by_type(new, dialect)
    for kind in want.keys() & got.keys():
        found |= {Difference(recording, kind, "missing", f) for f in want[kind] - got[kind]}
        found |= {Difference(recording, kind, "extra", f) for f in got[kind] - want[kind]}
    return found


Line = tuple[str, str, str, str, str]


def allowance(*lines: Line) -> dict[Difference, str]:
    """Table lines -> one entry per Difference.

    A line is (recording, where, what, names, reason): `where` and `names` may list several,
    separated by spaces (every pair is an entry); `what` is "missing", "extra" or "refused".
    """
    table: dict[Difference, str] = {}
    for recording, wheres, what, names, reason in lines:
        assert what in ("missing", "extra", "refused"), what
        assert reason and "\n" not in reason, (recording, wheres, names)
        for where in wheres.split():
            for name in names.split():
                key = Difference(recording, where, what, name)
                assert key not in table, f"listed twice: {key}"
                table[key] = reason
    return table


def judge(found: set[Difference], *tables: dict[Difference, str]) -> list[str]:
    """Lines saying what no table explains and which table entries nothing matched; [] is a pass."""
    allowed = set().union(*tables)
    lines = []
    for title, differences in (
        ("differences from the real stream that no table explains:", found - allowed),
        ("table entries no difference matches (the server changed? delete them):", allowed - found),
    ):
        if differences:
            lines.append(title)
            lines += grouped(differences)
    return lines


def grouped(differences: Iterable[Difference]) -> list[str]:
    """One line per recording, place and kind: `rec: where: missing a b c`."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for d in sorted(differences):
        groups.setdefault((d.recording, d.where, d.what), []).append(d.name)
    return [
        f"  {r}: {where}: {what} {' '.join(names)}" for (r, where, what), names in groups.items()
    ]


def month_of(recorded: str) -> str:
    """`YYYY-MM` of a manifest's `recorded` text (an HTTP Date, or a text with a YYYY-MM-DD)."""
    found = re.search(r"\d{4}-\d{2}", recorded)
    if found:
        return found.group()
    return parsedate_to_datetime(recorded).strftime("%Y-%m")


def newer_than_the_recording(found: set[Difference], month: str) -> dict[Difference, str]:
    """The `extra` fields that APPEARED on the wire after the recording's month, with the reason."""
    return {
        d: f"recorded {month}; {APPEARED[d.name][1]}"
        for d in found
        if d.what == "extra" and d.name in APPEARED and month < APPEARED[d.name][0]
    }


# --------------------------------------------------------------------------- the tables

R_TEXT, R_CALL = "openai-responses-text-1", "openai-responses-function_call-1"
R_REASON, R_SCHEMA = "openai-responses-reasoning-2", "openai-responses-structured-1"
R_CUT = "openai-responses-incomplete-1"
C_TEXT, C_TOOLS = "openai-chat-text-2", "openai-chat-tool_calls-1"
A_TEXT, A_TOOLS = "anthropic-messages-text-1", "anthropic-messages-tool_use-1"
A_THINK, A_SCHEMA = "anthropic-messages-thinking-1", "anthropic-messages-structured-1"
R_ALL = "response.created response.in_progress response.completed"
R_ALL_CUT = "response.created response.in_progress response.incomplete"
# Fields that came onto the wire in a known month (the fact sheet, from 363 real bodies): where the
# server sends one and a recording made before that month lacks it, the difference is right.
APPEARED: dict[str, tuple[str, str]] = {
    # Responses
    "sequence_number": (
        "2025-07",
        "sequence_number: none up to 2025-05-20, on every event from 2025-07",
    ),
    "logprobs": ("2025-07", "logprobs: [] on output_text delta/done from 2025-07"),
    "part.logprobs": ("2025-07", "logprobs: [] on output_text content parts from 2025-07"),
    "obfuscation": ("2025-08", "obfuscation on every delta event (Chat: every chunk) from 2025-08"),
    "response.service_tier": ("2025-05", "Response.service_tier first seen 2025-05"),
    "response.background": ("2025-07", "Response.background first seen 2025-07"),
    "response.max_tool_calls": ("2025-07", "Response.max_tool_calls first seen 2025-07"),
    "response.top_logprobs": ("2025-07", "Response.top_logprobs first seen 2025-07"),
    "response.prompt_cache_key": ("2025-08", "Response.prompt_cache_key first seen 2025-08"),
    "response.safety_identifier": ("2025-08", "Response.safety_identifier first seen 2025-08"),
    "response.prompt_cache_retention": (
        "2025-11",
        "Response.prompt_cache_retention first seen 2025-11",
    ),
    "response.completed_at": ("2026-01", "Response.completed_at first seen 2026-01"),
    "response.frequency_penalty": ("2026-01", "Response.frequency_penalty first seen 2026-01"),
    "response.presence_penalty": ("2026-01", "Response.presence_penalty first seen 2026-01"),
    "response.moderation": ("2026-04", "Response.moderation first seen 2026-04"),
    "response.conversation": ("2026-04", "Response.conversation first seen 2026-04"),
    "response.tool_usage": ("2026-07", "Response.tool_usage first seen 2026-07"),
    # Chat
    "service_tier": ("2025-03", "service_tier on every chunk from 2025-03"),
    # Anthropic: not in the tool_use recording (on or before 2026-03-05), in the 2026-04-05 ones
    "message.stop_details": (
        "2026-04",
        "message.stop_details: not before 2026-03-05, there 2026-04",
    ),
    "delta.stop_details": (
        "2026-04",
        "message_delta's stop_details: not before 2026-03-05, there 2026-04",
    ),
}

# Differences that are right: the model chose otherwise, or the wire changed after the recording
# (dates: the fact sheet in data/real_streams/README.md).
JUSTIFIED: dict[Difference, str] = allowance(
    (
        R_TEXT,
        "sequence",
        "extra",
        "response.output_item.added[reasoning] response.output_item.done[reasoning]",
        "model's choice: gpt-5.5 (effort low) sent no reasoning item; kit-sim-1 always does",
    ),
    (
        R_CALL,
        "sequence",
        "extra",
        "response.output_item.added[reasoning] response.output_item.done[reasoning]",
        "model's choice: gpt-5.5 (effort low) sent no reasoning item; kit-sim-1 always does",
    ),
    (
        R_TEXT,
        "response.output_item.added[message] response.output_item.done[message]",
        "missing",
        "item.phase",
        "model-specific: gpt-5.5's message items carry phase (fact sheet); kit-sim-1 has no phases",
    ),
    (
        C_TOOLS,
        "chunk[role]",
        "extra",
        "choices[].delta.refusal",
        "varies on the wire: this first chunk has no refusal, tool_calls-2's has (fact sheet)",
    ),
)

# Gaps of the local server today: each line is a difference it should stop making.
NOT_YET_SIMULATED: dict[Difference, str] = allowance()


# --------------------------------------------------------------------------- running it


def recordings_with_requests() -> list[dict[str, Any]]:
    return [entry for entry in MANIFEST if entry.get("request")]


def local_request(entry: dict[str, Any]) -> dict[str, Any]:
    """The recorded request, with the simulated model's name in place of the real model's."""
    body = json.loads((FOLDER / entry["request"]).read_text(encoding="utf-8"))
    return {**body, "model": MODEL_ID}


def refusal_name(status: int, body: bytes) -> str:
    """`400:param` for a refusal: OpenAI's `param`, or the field Anthropic's message starts with."""
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return f"{status}:?"
    field = error.get("param") or error.get("message", "?").split(":")[0]
    return f"{status}:{field}".replace(" ", "_")


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0.002, tokens_per_second=5000, jitter=0.0) as running:
        yield running


def differences_for(
    server: LocalServer, entry: dict[str, Any], recorded: bytes | None = None
) -> set[Difference]:
    """Send the entry's request; compare the answer with the recording (or with `recorded`)."""
    recording, dialect = entry["file"].removesuffix(".sse"), dialect_of(entry["file"])
    url = server.base_url.removesuffix("/v1") + PATHS[dialect]
    with httpx.stream("POST", url, json=local_request(entry), timeout=30) as reply:
        body = reply.read()
    if reply.status_code != 200:
        return {Difference(recording, "request", "refused", refusal_name(reply.status_code, body))}
    if recorded is None:
        recorded = (FOLDER / entry["file"]).read_bytes()
    found = diff_streams(recording, dialect, parse_frames(recorded), parse_frames(body))
    content_type = reply.headers.get("content-type", "")
    if entry.get("content_type") and content_type != entry["content_type"]:
        found.add(
            Difference(
                recording, "framing", "extra", "content-type=" + content_type.replace(" ", "")
            )
        )
    return found


def verdict(recording: str, found: set[Difference]) -> list[str]:
    """judge() after the APPEARED rule, with the two tables' entries for this recording."""
    month = month_of(next(e["recorded"] for e in MANIFEST if e["file"] == f"{recording}.sse"))
    return judge(
        found - newer_than_the_recording(found, month).keys(),
        {key: why for key, why in JUSTIFIED.items() if key.recording == recording},
        {key: why for key, why in NOT_YET_SIMULATED.items() if key.recording == recording},
    )


ENTRIES = recordings_with_requests()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_local_stream_matches_the_recording(server: LocalServer, entry: dict[str, Any]) -> None:
    recording = entry["file"].removesuffix(".sse")
    problems = verdict(recording, differences_for(server, entry))
    assert not problems, f"{recording}:\n" + "\n".join(problems)


def test_a_doctored_recording_fails(server: LocalServer) -> None:
    """The check can fail: a recording with a field the server lacks and without an event."""
    entry = next(e for e in ENTRIES if e["file"] == "openai-responses-incomplete-1.sse")
    original = (FOLDER / entry["file"]).read_text(encoding="utf-8")
    doctored = original.replace(
        '"type":"response.output_text.delta",', '"type":"response.output_text.delta","doctored":1,'
    )
    doctored = re.sub(r"event: response\.output_text\.done\n.*\n\n", "", doctored)
    assert doctored.count('"doctored"') == 16 and "output_text.done" not in doctored
    problems = verdict(R_CUT, differences_for(server, entry, doctored.encode()))
    assert problems[0] == "differences from the real stream that no table explains:"
    assert f"  {R_CUT}: response.output_text.delta: missing doctored" in problems
    assert f"  {R_CUT}: sequence: extra response.output_text.done" in problems
    assert verdict(R_CUT, differences_for(server, entry)) == []  # the true recording passes


def test_a_stale_table_entry_fails() -> None:
    found = {Difference(R_CUT, "sequence", "extra", "x")}
    table = allowance((R_CUT, "sequence", "extra", "x y", "a reason"))
    assert judge(found, table) == [
        "table entries no difference matches (the server changed? delete them):",
        f"  {R_CUT}: sequence: extra y",
    ]


def test_month_of_reads_every_manifest_date() -> None:
    assert month_of("Wed, 06 May 2026 03:12:58 GMT") == "2026-05"
    assert month_of("2025-09-12 14:24:15 UTC (from created/created_at)") == "2025-09"
    assert month_of("≤ 2026-03-05 (no Date header kept)") == "2026-03"
    assert all(re.fullmatch(r"20\d\d-\d\d", month_of(e["recorded"])) for e in MANIFEST)


def test_a_field_is_newer_than_a_recording_only_if_it_appeared_after_its_month() -> None:
    completed_at = Difference("r", "response.created", "extra", "response.completed_at")
    found = {
        completed_at,
        Difference("r", "response.created", "missing", "response.completed_at"),  # not extra
        Difference("r", "response.created", "extra", "sequence_number"),  # 2025-07: not newer
        Difference("r", "response.created", "extra", "response.unheard_of"),  # not in APPEARED
    }
    assert newer_than_the_recording(found, "2025-12") == {
        completed_at: "recorded 2025-12; Response.completed_at first seen 2026-01"
    }
    assert newer_than_the_recording(found, "2026-01") == {}


def test_tables_name_known_recordings_once() -> None:
    names = {entry["file"].removesuffix(".sse") for entry in ENTRIES}
    assert {key.recording for key in JUSTIFIED} | {
        key.recording for key in NOT_YET_SIMULATED
    } <= names
    assert not JUSTIFIED.keys() & NOT_YET_SIMULATED.keys()


# --------------------------------------------------------------------------- the pure functions


def test_parse_frames_reads_what_the_kit_decoder_reads() -> None:
    for entry in MANIFEST:
        body = (FOLDER / entry["file"]).read_bytes()
        decoder = SSEDecoder()
        events = decoder.feed(body) + decoder.close()
        frames = parse_frames(body)
        assert [(f.event or "message", f.data) for f in frames] == [
            (e.event, e.data) for e in events
        ]


def test_parse_frames_keeps_field_names_and_comments() -> None:
    frames = parse_frames(b": hi\n\nevent: a\nid: 3\ndata: {}\n\ndata: x\ndata: y\n\ndata: [DONE]")
    assert frames == [
        Frame((":",), None, ""),
        Frame(("event", "id", "data"), "a", "{}"),
        Frame(("data", "data"), None, "x\ny"),
        Frame(("data",), None, "[DONE]"),
    ]


def test_framing_problems() -> None:
    good = parse_frames(b'event: a\ndata: {"type":"a"}\n\n')
    assert framing_problems(good, RESPONSES) == []
    assert framing_problems(good, CHAT) == ["[DONE]-not-once-at-the-end", "fields=event,data"]
    wrong = parse_frames(b'event: b\ndata: {"type":"a"}\n\n: ping\n\ndata: [DONE]\n\n')
    assert framing_problems(wrong, ANTHROPIC) == [
        "[DONE]-sent",
        "comment-lines",
        "data-not-a-JSON-object",
        "event!=type:b!=a",
        "fields=:",
        "fields=data",
    ]
    chat = parse_frames(b'data: {"choices":[]}\n\ndata: [DONE]\n\n')
    assert framing_problems(chat, CHAT) == []


def test_event_sequence_collapses_runs_and_refines_types() -> None:
    events = [
        {"type": "response.output_item.added", "item": {"type": "function_call"}},
        {"type": "response.function_call_arguments.delta", "delta": "{"},
        {"type": "response.function_call_arguments.delta", "delta": "}"},
        {"type": "response.output_item.added", "item": {"type": "message"}},
    ]
    assert event_sequence(events, RESPONSES) == [
        "response.output_item.added[function_call]",
        "response.function_call_arguments.delta",
        "response.output_item.added[message]",
    ]
    chunks = [
        {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c"}]}, "finish_reason": None}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0}]}, "finish_reason": None}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0}]}, "finish_reason": None}]},
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {}},
    ]
    assert event_sequence(chunks, CHAT) == [
        "chunk[role]",
        "chunk[tool_call]",
        "chunk[tool_arguments]",
        "chunk[finish]",
        "chunk[usage]",
    ]


def test_field_tree_goes_into_the_nested_objects_only() -> None:
    event = {
        "type": "x",
        "response": {"id": "r", "usage": {"input_tokens": 1}, "text": {"format": {}}},
        "choices": [{"delta": {"content": "a"}}, {"delta": {"role": "b"}}],
        "usage": None,
    }
    assert field_tree(event) == {
        "type",
        "response",
        "response.id",
        "response.usage",
        "response.usage.input_tokens",
        "response.text",
        "choices",
        "choices[].delta",
        "choices[].delta.content",
        "choices[].delta.role",
        "usage",
    }


def test_real_recordings_keep_the_framing_rule_and_match_themselves() -> None:
    for entry in MANIFEST:
        frames = parse_frames((FOLDER / entry["file"]).read_bytes())
        name, dialect = entry["file"].removesuffix(".sse"), dialect_of(entry["file"])
        assert framing_problems(frames, dialect) == [], name
        assert diff_streams(name, dialect, frames, frames) == set()


def test_diff_streams_names_what_differs() -> None:
    old = parse_frames(
        b'event: a\ndata: {"type":"a","f":{"g":1}}\n\nevent: b\ndata: {"type":"b"}\n\n'
    )
    new = parse_frames(b'event: a\ndata: {"type":"a","h":2}\n\nevent: c\ndata: {"type":"c"}\n\n')
    assert diff_streams("r", RESPONSES, old, new) == {
        Difference("r", "a", "missing", "f"),
        Difference("r", "a", "extra", "h"),
        Difference("r", "sequence", "missing", "b"),
        Difference("r", "sequence", "extra", "c"),
    }


# --------------------------------------------------------------------------- the files


def test_recordings_are_byte_exact() -> None:
    for entry in MANIFEST:
        data = (FOLDER / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert len(data) == entry["bytes"], entry["file"]
        if entry.get("request"):
            request = (FOLDER / entry["request"]).read_bytes()
            assert hashlib.sha256(request).hexdigest() == entry["request_sha256"], entry["request"]
    listed = {e["file"] for e in MANIFEST} | {e["request"] for e in MANIFEST if e.get("request")}
    on_disk = {p.name for p in FOLDER.iterdir()} - {"README.md", "manifest.json"}
    assert on_disk == listed


def test_every_recording_names_its_source_and_a_permissive_licence() -> None:
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    permissive = {"Apache-2.0", "MIT", "Apache-2.0 OR BSD-3-Clause"}
    for entry in MANIFEST:
        assert entry["licence"] in permissive, entry["file"]
        assert entry["repo"] and entry["path"] and len(entry["last_commit"]) == 40, entry["file"]
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{entry['file']}`"))
        assert entry["repo"] in row and entry["licence"] in row and entry["last_commit"][:12] in row
