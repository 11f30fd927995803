"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

Anthropic's Messages API (`POST /v1/messages`): the request checks, the error shape and the
stream events, independent of any transport. The answer comes from the same model layer as the
OpenAI dialects, so the same prompt gives the same text on every route.

The stream, as Anthropic documents it (every frame's `event:` line equals its JSON `type`):

    message_start        the Message with empty content; usage.input_tokens
    content_block_start  index 0, an empty text block
    ping                 a keep-alive; the SDK skips it
    content_block_delta  one per text piece: {"type": "text_delta", "text": ...}
    content_block_stop
    message_delta        stop_reason (end_turn | max_tokens | stop_sequence | tool_use |
                         refusal, with `stop_details`: model.refusal),
                         stop_sequence, usage.output_tokens: cumulative, the final count
    message_stop

When the model calls tools (see dialects.anthropic_tools for the request side), each call is a
block of its own instead of the text block, at the next indexes:

    content_block_start  {"type": "tool_use", "id": "toolu_…", "name": ..., "input": {},
                          "caller": {"type": "direct"}}
    content_block_delta  {"type": "input_json_delta", "partial_json": ""}, always first
    content_block_delta  {"type": "input_json_delta", "partial_json": ...}, one per piece
    content_block_stop

and `message_delta` says `stop_reason: "tool_use"`. The pieces joined are the JSON `input`.

With extended thinking (dialects.anthropic_features), a thinking block comes first:

    content_block_start  {"type": "thinking", "thinking": "", "signature": ""}
    content_block_delta  {"type": "thinking_delta", "thinking": ...}, one per piece
    content_block_delta  {"type": "signature_delta", "signature": ...}, exactly one, last
    content_block_stop

and the text (or the tool_use blocks) follow at the next index; with adaptive thinking and a
forced tool (`tool_choice` `any` or `tool`) there is no thinking block. Structured output
(`output_config.format`) streams as ordinary text_delta pieces of JSON.

The shapes follow real recorded streams of 2026 (see /work/shared/real_streams/README.md in the
issue): `message_start.message` is model-first with `stop_details` and the full `usage`
(cache fields, `cache_creation`, `service_tier`, `inference_geo`); `message_delta.usage` repeats
the input and cache counts. The transport pads each JSON with 0-15 spaces before its final `}`
(seeded per request by `padding_seed`), and the ping is `{"type": "ping"}`, as recorded.

A failure after the first token is an `error` event (HTTP status already 200):
`{"type": "error", "error": {"details": null, "type": "overloaded_error", "message": ...}}`.

Not simulated here: server tools, images and documents. Those fields are refused with a
message saying so, rather than silently ignored.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from helpers.server.dialects.anthropic_features import (
    THINKING_BLOCKS,
    Thinking,
    check_thinking_block,
    check_thinking_history,
    forces_tool,
    parse_output_schema,
    parse_thinking,
)
from helpers.server.dialects.anthropic_tools import (
    TOOL_BLOCK,
    check_tool_block,
    messages_features,
)
from helpers.server.dialects.common import Event, new_id
from helpers.server.dialects.requests import apply_simulation
from helpers.server.dialects.tools import with_prompt_schema
from helpers.server.model.content_blocks import (
    BlockPlan,
    block_pieces,
    block_plan,
    signature_for,
)
from helpers.server.model.refusal import STOP_DETAILS
from helpers.server.model.simulated import count_tokens
from helpers.server.model.source import (
    Generation,
    RequestError,
    SimRequest,
    Simulation,
    StreamFailed,
)
from helpers.server.model.tokens import INJECTED_ERROR_MESSAGE
from helpers.server.model.tool_use import Features, PlannedCall

# Fields the kit uses; fields the real API takes and the simulated model ignores; fields the
# real API takes that the kit does not simulate (refused with a clear message); the rest are
# refused the way the real API refuses them ("Extra inputs are not permitted").
USED_FIELDS = (
    "model",
    "max_tokens",
    "messages",
    "system",
    "stop_sequences",
    "temperature",
    "stream",
    "metadata",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "output_format",  # the older beta spelling, with its anthropic-beta header
    "simulation",  # the kit's own extension, as on the OpenAI routes
)
IGNORED_FIELDS = ("top_p", "top_k", "service_tier", "inference_geo", "speed")
NOT_SIMULATED = {
    "container": "code execution containers",
    "mcp_servers": "MCP servers",
    "cache_control": "prompt caching",
    "context_management": "context management",
}
ROLES = ("user", "assistant")

# The error `type` for each HTTP status, as Anthropic names them.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


# --------------------------------------------------------------------------- errors


def error_body(error: RequestError) -> dict[str, Any]:
    """Anthropic's error JSON; the status decides the type, as on the real API."""
    fallback = "api_error" if error.status >= 500 else "invalid_request_error"
    kind = ERROR_TYPES.get(error.status, fallback)
    return {"type": "error", "error": {"type": kind, "message": error.message}}


def _bad(message: str, status: int = 400) -> RequestError:
    return RequestError(message, status=status)


def pre_stream_fault(sim: SimRequest) -> RequestError | None:
    """The faults that come before any stream: 429 (with retry-after), 500 and 529."""
    fault = sim.simulation.fault
    if fault == "429":
        wait_ms = sim.simulation.retry_after_ms
        headers = {
            "retry-after": str(max(1, math.ceil(wait_ms / 1000))),
            "retry-after-ms": str(wait_ms),
        }
        message = f"Rate limit reached for {sim.model} (simulated fault '429')."
        return RequestError(message, status=429, headers=headers)
    if fault == "500":
        return RequestError("Internal server error (simulated fault '500').", status=500)
    if fault == "529":
        return RequestError("Overloaded (simulated fault '529').", status=529)
    return None


# --------------------------------------------------------------------------- request


@dataclass(frozen=True)
class MessagesRequest:
    """A checked /v1/messages request: what the model needs, plus what only this API has."""

    sim: SimRequest
    stop_sequences: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    thinking: Thinking | None = None  # extended thinking on: a thinking block comes first
    preamble: bool = False  # a short text block before the tool_use blocks (see _preamble)
    forced_tool: bool = False  # tool_choice `any` or `tool`: the turn is prefilled with the call


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text_blocks(value: Any, where: str, role: str | None = None) -> str:
    """A string, or a list of text blocks (and a role's tool blocks, checked on the side)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise _bad(f"{where}: Input should be a valid string or a list of content blocks")
    texts = []
    for index, block in enumerate(value):
        at = f"{where}.{index}"
        if not isinstance(block, dict):
            raise _bad(f"{at}: Input should be a valid dictionary or object")
        kind = block.get("type")
        if kind is None:
            raise _bad(f"{at}.type: Field required")
        if role is not None and kind in TOOL_BLOCK.values():
            check_tool_block(block, at, role)
            continue
        if role is not None and kind in THINKING_BLOCKS:
            check_thinking_block(block, at, role)
            continue
        if kind != "text":
            raise _bad(
                f"{at}.type: content blocks of type {kind!r} are not simulated on the kit's "
                "local server (only 'text')"
            )
        extra = sorted(set(block) - {"type", "text", "cache_control", "citations"})
        if extra:
            raise _bad(f"{at}.{extra[0]}: Extra inputs are not permitted")
        if not isinstance(block.get("text"), str):
            raise _bad(f"{at}.text: Input should be a valid string")
        texts.append(block["text"])
    return "\n".join(texts)


def _messages(value: Any) -> list[tuple[str, str]]:
    if value is None:
        raise _bad("messages: Field required")
    if not isinstance(value, list):
        raise _bad("messages: Input should be a valid list")
    if not value:
        raise _bad("messages: at least one message is required")
    messages = []
    for index, item in enumerate(value):
        at = f"messages.{index}"
        if not isinstance(item, dict):
            raise _bad(f"{at}: Input should be a valid dictionary or object")
        extra = sorted(set(item) - {"role", "content"})
        if extra:
            raise _bad(f"{at}.{extra[0]}: Extra inputs are not permitted")
        if item.get("role") not in ROLES:
            raise _bad(f"{at}.role: Input should be 'user' or 'assistant'")
        if "content" not in item:
            raise _bad(f"{at}.content: Field required")
        text = _text_blocks(item["content"], f"{at}.content", item["role"])
        tool_blocks = isinstance(item["content"], list) and any(
            block.get("type") in (*TOOL_BLOCK.values(), *THINKING_BLOCKS)
            for block in item["content"]
        )
        last_assistant = item["role"] == "assistant" and index == len(value) - 1
        if not text.strip() and not tool_blocks and not last_assistant:
            raise _bad(f"{at}.content: text content must be non-empty")
        messages.append((item["role"], text))
    return messages


def _max_tokens(value: Any) -> int:
    if value is None:
        raise _bad("max_tokens: Field required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad("max_tokens: Input should be a valid integer")
    if value < 1:
        raise _bad("max_tokens: Input should be greater than or equal to 1")
    return value


def _model(value: Any) -> str:
    if value is None:
        raise _bad("model: Field required")
    if not isinstance(value, str) or not value.strip():
        raise _bad("model: Input should be a non-empty string")
    return value


def _stop_sequences(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise _bad("stop_sequences: Input should be a valid list of strings")
    if not all(s.strip() for s in value):
        raise _bad("stop_sequences: each stop sequence must contain non-whitespace")
    return tuple(value)


def _check_sampling(body: dict[str, Any]) -> None:
    for name, high in (("temperature", 1), ("top_p", 1)):
        value = body.get(name)
        if value is None:
            continue
        if not _is_number(value):
            raise _bad(f"{name}: Input should be a valid number")
        if not 0 <= value <= high:
            raise _bad(f"{name}: Input should be between 0 and {high}, got {value!r}")
    top_k = body.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
        raise _bad("top_k: Input should be an integer greater than or equal to 0")


def _metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad("metadata: Input should be a valid dictionary or object")
    extra = sorted(set(value) - {"user_id"})
    if extra:
        raise _bad(f"metadata.{extra[0]}: Extra inputs are not permitted")
    if value.get("user_id") is not None and not isinstance(value["user_id"], str):
        raise _bad("metadata.user_id: Input should be a valid string")
    return value


def _check_fields(body: dict[str, Any]) -> None:
    for name in body:
        if name in NOT_SIMULATED:
            raise _bad(
                f"{name}: {NOT_SIMULATED[name]} is part of the real Messages API but is not "
                "simulated on the kit's local server"
            )
        if name not in USED_FIELDS and name not in IGNORED_FIELDS:
            raise _bad(f"{name}: Extra inputs are not permitted")


def parse_messages_request(
    body: dict[str, Any], base: Simulation, betas: tuple[str, ...] = ()
) -> MessagesRequest:
    """Check a POST /v1/messages body; refuse what the real API refuses, in its words.

    `betas`: the values of the request's `anthropic-beta` header (`output_format` needs one).
    """
    _check_fields(body)
    model = _model(body.get("model"))
    max_tokens = _max_tokens(body.get("max_tokens"))
    messages = _messages(body.get("messages"))
    thinking = parse_thinking(body, max_tokens)
    check_thinking_history(body["messages"], thinking)
    output_schema, output_field = parse_output_schema(body, betas)
    system = body.get("system")
    system_text = None if system is None else _text_blocks(system, "system")
    stop_sequences = _stop_sequences(body.get("stop_sequences"))
    _check_sampling(body)
    metadata = _metadata(body.get("metadata"))
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _bad("stream: Input should be a valid boolean")
    try:
        simulation = apply_simulation(base, body.get("simulation"))
    except RequestError as error:
        raise _bad(f"{error.param}: {error.message}") from None
    features = messages_features(body)
    asked = (*features.asked_by, *(["thinking"] if thinking else []),
             *([output_field] if output_field else []))
    features = replace(features, output_schema=output_schema, asked_by=tuple(asked))
    features = with_prompt_schema(features, [
        system_text, *(text for role, text in messages if role == "user")])
    user_texts = [text for role, text in messages if role == "user" and text.strip()]
    prompt = user_texts[-1] if user_texts else "\n".join(text for _, text in messages)
    all_text = "\n".join(t for t in [system_text, *(t for _, t in messages)] if t)
    sim = SimRequest(
        api="messages",
        model=model,
        prompt=prompt,
        input_tokens=count_tokens(all_text),
        stream=stream,
        max_tokens=max_tokens,
        simulation=simulation,
        instructions=system_text,
        messages=tuple(messages),
        features=features,
    )
    return MessagesRequest(sim, stop_sequences, metadata, thinking, _preamble(features),
                           forces_tool(body))


def _preamble(features: Features) -> bool:
    """Whether the model may write a short text block before its tool_use blocks.

    Real Claude often does ("I'll check both the current weather and time in New York
    simultaneously right away!", then two calls: recording anthropic-messages-tool_use-1); with
    `tool_choice` `any` or `tool` it cannot: the API prefills the assistant turn to force the
    call, so the model "will not emit a natural language response or explanation before tool_use
    content blocks" (Anthropic's tool-use guide). The kit's fixed rule (README): under `auto`,
    a text block comes before two or more calls, none before a single call
    (model.content_blocks.PREAMBLE_MIN_CALLS).
    """
    return bool(features.tools) and features.tool_choice == "auto"


# --------------------------------------------------------------------------- stop sequences


@dataclass
class StopScanner:
    """Releases text only once it cannot be the start of a stop sequence.

    A stop sequence may straddle two tokens ("\\n\\n" as "\\n" + "\\n"), so the tail that could
    still grow into one is held back; the stop sequence itself is never shown, as on the API.
    """

    stops: tuple[str, ...]
    held: str = ""

    def feed(self, piece: str) -> tuple[str, str | None]:
        """(text safe to show now, the stop sequence that matched or None)."""
        text = self.held + piece
        hits = [(text.find(stop), stop) for stop in self.stops if stop in text]
        if hits:
            index, stop = min(hits)
            self.held = ""
            return text[:index], stop
        keep = _partial_stop_length(text, self.stops)
        self.held = text[len(text) - keep :]
        return text[: len(text) - keep], None

    def flush(self) -> str:
        """What was held back when the answer ended without a stop sequence."""
        text, self.held = self.held, ""
        return text


def _partial_stop_length(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest end of `text` that begins some stop sequence."""
    longest = max((len(stop) for stop in stops), default=0)
    for size in range(min(len(text), longest - 1), 0, -1):
        if any(stop.startswith(text[-size:]) for stop in stops):
            return size
    return 0


# --------------------------------------------------------------------------- events


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """The Message's usage, as message_start and a non-streamed Message carry it (2026 shape)."""
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
        "inference_geo": "not_available",
    }


def _delta_usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    """message_delta's usage: cumulative counts, input and cache repeated (2026 shape)."""
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    }


def message_object(
    request: SimRequest, message_id: str, content: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    """A Message with every field the SDK reads, keys in the recorded order (model first)."""
    return {
        "model": request.model,
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": None,
        "stop_sequence": None,
        "stop_details": None,
        "usage": _usage(request.input_tokens, 0),
        **fields,
    }


def padding_seed(request: MessagesRequest) -> int:
    """Seeds the transport's 0-15 spaces of padding: the same request, the same bytes."""
    sim = request.sim
    return zlib.crc32(f"{sim.simulation.seed}|{sim.model}|{sim.prompt}".encode())


def _event(event_type: str, **fields: Any) -> Event:
    return event_type, {"type": event_type, **fields}


def _stream_error(failure: StreamFailed) -> Event:
    """An injected fault looks like the API's usual mid-stream failure: an overload."""
    kind = "overloaded_error" if str(failure) == INJECTED_ERROR_MESSAGE else "api_error"
    return _event("error", error={"details": None, "type": kind, "message": str(failure)})


def _blocks_for(request: MessagesRequest) -> BlockPlan:
    """Thinking opens the assistant turn; after tool results the turn goes on without it.

    A forced tool (only adaptive thinking accepts one: dialects.anthropic_features) skips the
    thinking: the API prefills the turn with the call, so nothing comes before the tool_use block.
    """
    sim = request.sim
    thinking = (request.thinking is not None and not sim.features.tool_results
                and not request.forced_tool)
    return block_plan(sim, thinking=thinking, preamble=request.preamble)


async def message_events(
    request: MessagesRequest, message_id: str | None = None
) -> AsyncIterator[Event]:
    """The Messages stream, from message_start to message_stop (or an `error` event)."""
    sim, generation = request.sim, Generation()
    message_id = message_id or new_id("msg_")
    start = message_object(sim, message_id, [], usage=_usage(sim.input_tokens, 1))
    yield _event("message_start", message=start)
    blocks = _blocks_for(request)
    stops: list[str] = []  # the stop sequence that ended the text, if one did
    try:
        async for event in _content_blocks(request, generation, blocks, stops):
            yield event
    except StreamFailed as failure:
        yield _stream_error(failure)
        return
    stop = stops[0] if stops else None
    reason = (
        "stop_sequence" if stop else "max_tokens" if generation.truncated
        else "refusal" if blocks.plan.refusal == "stop"
        else "tool_use" if blocks.plan.calls else "end_turn"
    )
    # A refusal's details ride on message_delta with the stop_reason (Anthropic's "Handle
    # streaming refusals"; the SDK's RawMessageDeltaEvent.delta.stop_details).
    details = dict(STOP_DETAILS) if reason == "refusal" else None
    yield _event(
        "message_delta",
        delta={"stop_reason": reason, "stop_sequence": stop, "stop_details": details},
        usage=_delta_usage(sim.input_tokens, generation.output_tokens),
    )
    yield _event("message_stop")


@dataclass
class _OpenBlock:
    """The block being streamed: its place, what it is, and (thinking) the text sent so far."""

    index: int
    key: tuple[str, int]
    thinking: str = ""


async def _content_blocks(
    request: MessagesRequest, generation: Generation, blocks: BlockPlan, stops: list[str]
) -> AsyncIterator[Event]:
    """Each planned block opened, filled and closed in turn; never two open at once."""
    order = {key: index for index, key in enumerate(blocks.blocks)}
    calls = blocks.plan.calls
    shown = request.thinking is None or request.thinking.display != "omitted"
    current = _OpenBlock(0, blocks.blocks[0])
    yield _block_start(current, calls)
    yield _event("ping")
    if current.key[0] == "call":
        yield _event("content_block_delta", index=0, delta=_json_delta(""))
    scanner = StopScanner(request.stop_sequences)
    pieces = block_pieces(request.sim, generation, blocks)
    try:
        async for kind, owner, piece in pieces:
            if (kind, owner) != current.key:  # the next block: close this one, open its own
                for event in _block_end(current, scanner):
                    yield event
                current = _OpenBlock(order[kind, owner], (kind, owner))
                yield _block_start(current, calls)
                if kind == "call":
                    yield _event("content_block_delta", index=current.index, delta=_json_delta(""))
            if kind == "call":
                yield _event("content_block_delta", index=current.index, delta=_json_delta(piece))
            elif kind == "thinking":
                current.thinking += piece
                if shown:
                    delta = {"type": "thinking_delta", "thinking": piece}
                    yield _event("content_block_delta", index=current.index, delta=delta)
            else:
                text, stop = scanner.feed(piece)
                if text:
                    delta = _text_delta(text)
                    yield _event("content_block_delta", index=current.index, delta=delta)
                if stop is not None:
                    stops.append(stop)
                    break
    finally:
        await pieces.aclose()  # a stop sequence ends generation now, not at garbage collection
    for event in _block_end(current, scanner):
        yield event


def _block_end(block: _OpenBlock, scanner: StopScanner) -> list[Event]:
    """What closes a block: held-back text, or a thinking block's one signature_delta."""
    events = []
    if block.key[0] == "text":
        rest = scanner.flush()
        if rest:
            events.append(_event("content_block_delta", index=block.index, delta=_text_delta(rest)))
    elif block.key[0] == "thinking":
        delta = {"type": "signature_delta", "signature": signature_for(block.thinking)}
        events.append(_event("content_block_delta", index=block.index, delta=delta))
    events.append(_event("content_block_stop", index=block.index))
    return events


def _block_start(block: _OpenBlock, calls: tuple[PlannedCall, ...]) -> Event:
    """An empty block of the right type; a tool_use block names its call (input streams next)."""
    kind, owner = block.key
    if kind == "thinking":
        content: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
    elif kind == "text":
        content = {"type": "text", "text": ""}
    else:
        content = {"type": "tool_use", "id": new_id("toolu_"), "name": calls[owner].name,
                   "input": {}, "caller": {"type": "direct"}}
    return _event("content_block_start", index=block.index, content_block=content)


def _text_delta(text: str) -> dict[str, str]:
    return {"type": "text_delta", "text": text}


def _json_delta(partial_json: str) -> dict[str, str]:
    return {"type": "input_json_delta", "partial_json": partial_json}


def _tool_input(partial_json: str) -> Any:
    """The parsed input; a call cut by max_tokens keeps what parsed whole so far ({} if none)."""
    try:
        return json.loads(partial_json or "{}")
    except ValueError:
        return {}


async def collect_message(
    request: MessagesRequest, message_id: str | None = None
) -> dict[str, Any]:
    """The non-streamed Message, assembled from the very same events."""
    blocks: dict[int, dict[str, Any]] = {}
    message: dict[str, Any] = {}
    async for event_type, payload in message_events(request, message_id):
        if event_type == "error":
            kind = payload["error"]["type"]
            raise RequestError(
                payload["error"]["message"], status=529 if kind == "overloaded_error" else 500
            )
        if event_type == "message_start":
            message = payload["message"]
        elif event_type == "content_block_start":
            blocks[payload["index"]] = {**payload["content_block"], "partial_json": ""}
        elif event_type == "content_block_delta":
            block, delta = blocks[payload["index"]], payload["delta"]
            kind = delta["type"]
            if kind == "text_delta":
                block["text"] += delta["text"]
            elif kind == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif kind == "signature_delta":
                block["signature"] = delta["signature"]
            else:
                block["partial_json"] += delta["partial_json"]
        elif event_type == "message_delta":
            message = {**message, **payload["delta"]}
            message["usage"] = {**message["usage"], **payload["usage"]}
    message["content"] = [_finished(blocks[index]) for index in sorted(blocks)]
    return message


def _finished(block: dict[str, Any]) -> dict[str, Any]:
    partial_json = block.pop("partial_json")
    if block["type"] == "tool_use":
        block["input"] = _tool_input(partial_json)
    return block
