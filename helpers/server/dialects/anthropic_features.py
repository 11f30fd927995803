"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

Extended thinking and structured output on Anthropic's Messages API: the request checks, in the
real API's words where they were found in public reports (each rule names its source below).

Thinking (`thinking: {"type": "enabled", "budget_tokens": N}`, or `{"type": "adaptive"}`):
- `budget_tokens` at least 1024 and less than `max_tokens` (the SDK's own docstring for
  ThinkingConfigEnabledParam, anthropic 2.17: "Must be ≥1024 and less than `max_tokens`"; the
  messages: "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
  themaximalist/llm.js#30; "`max_tokens` must be greater than `thinking.budget_tokens`. ...",
  router-for-me/CLIProxyAPI#413);
- `temperature` other than 1 is refused (MartialBE/one-hub#529, dotCipher/opencode-claude-bridge#1);
- with manual thinking (`enabled`), a `tool_choice` of `any` or `tool` is refused: "Thinking may
  not be enabled when tool_choice forces tool use." (mastra-ai/mastra#7507, can1357/oh-my-pi#341).
  Adaptive thinking accepts a forced tool (Anthropic's "Thinking in tool and multi-turn
  workflows" page: forcing options "return an error with manual extended thinking
  (thinking: {type: \"enabled\"}); adaptive thinking supports forced tool use"); the API then
  prefills the turn to force the call, so the model writes nothing before its tool_use block
  (the tool-use guide) and the answer has no thinking block (the `_blocks_for` rule in
  dialects.anthropic). A few newer models reject a forced tool in every mode (the
  @ai-sdk/anthropic CHANGELOG names claude-opus-5-5 and claude-fable-5-1); the kit's one
  simulated model is not one of them;
- thinking blocks passed back: an assistant message holding any must start with one
  (anthropics/claude-code#20705); with manual thinking on, the assistant message before the last
  `tool_result`s must start with one (anomalyco/opencode#3077, n8n-io/n8n#22550); adaptive
  thinking, which may skip the thinking (Anthropic's adaptive-thinking page; here: under a forced
  tool), does not ask for one, as its turn may have had none to send back (brightwave-inc/
  tidebreak#1204, from Anthropic's docs: in adaptive mode "no assistant turn has to begin with a
  thinking block"); with thinking off, a last (prefilled) assistant message cannot hold one
  (tailcallhq/forgecode#1853); a block
  whose text or signature was edited is refused (the SDK's ThinkingBlockParam docstring: "a
  modified block results in a 400 invalid_request_error"; the message, "messages.1.content.0:
  Invalid `signature` in `thinking` block": anthropics/claude-code#10627).

Structured output (`output_config.format: {"type": "json_schema", "schema": ...}`, and the older
beta `output_format` with the `anthropic-beta: structured-outputs-2025-11-13` header):
- every object schema needs `additionalProperties: false` ("output_config.format.schema: For
  'object' type, 'additionalProperties' must be explicitly set to false", veryfront#3921;
  "... 'additionalProperties: true' is not supported. Please set 'additionalProperties' to
  false", BerriAI/litellm#35808);
- `output_format` without the beta header: "output_format: This field is deprecated. Use
  'output_config.format' instead. ..." (prism-php/prism#912).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpers.server.dialects.strict_schema import generator_limits
from helpers.server.model.content_blocks import signature_for
from helpers.server.model.source import RequestError

MIN_BUDGET_TOKENS = 1024
THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
STRUCTURED_BETA = "structured-outputs-2025-11-13"
THINKING_BLOCKS = ("thinking", "redacted_thinking")
EFFORTS = ("low", "medium", "high", "xhigh", "max")


def _bad(message: str) -> RequestError:
    return RequestError(message, status=400)


# --------------------------------------------------------------------------- thinking


@dataclass(frozen=True)
class Thinking:
    """A checked `thinking` field that turns thinking on."""

    kind: str  # "enabled" or "adaptive"
    budget_tokens: int | None = None
    display: str = "summarized"  # or "omitted": the block comes with its signature only


def parse_thinking(body: dict[str, Any], max_tokens: int) -> Thinking | None:
    """The `thinking` field checked; None when it is absent or disabled."""
    raw = body.get("thinking")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _bad("thinking: Input should be a valid dictionary or object")
    kind = raw.get("type")
    if kind == "between_tools":
        raise _bad("thinking.type: 'between_tools' is part of the real Messages API but is not "
                   "simulated on the kit's local server ('enabled', 'adaptive', 'disabled')")
    if kind not in ("enabled", "disabled", "adaptive"):
        raise _bad("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")
    at = f"thinking.{kind}"
    allowed = {"type"} | (set() if kind == "disabled" else {"display"})
    allowed |= {"budget_tokens"} if kind == "enabled" else set()
    extra = sorted(set(raw) - allowed)
    if extra:
        raise _bad(f"{at}.{extra[0]}: Extra inputs are not permitted")
    if kind == "disabled":
        return None
    display = raw.get("display") or "summarized"
    if display not in ("summarized", "omitted"):
        raise _bad(f"{at}.display: Input should be 'summarized' or 'omitted'")
    budget = None
    if kind == "enabled":
        budget = raw.get("budget_tokens")
        if budget is None:
            raise _bad(f"{at}.budget_tokens: Field required")
        if isinstance(budget, bool) or not isinstance(budget, int):
            raise _bad(f"{at}.budget_tokens: Input should be a valid integer")
        if budget < MIN_BUDGET_TOKENS:
            raise _bad(f"{at}.budget_tokens: Input should be greater than or equal to "
                       f"{MIN_BUDGET_TOKENS}")
        if max_tokens <= budget:
            raise _bad("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult "
                       f"our documentation at {THINKING_DOCS}#max-tokens-and-context-window-size")
    temperature = body.get("temperature")
    if temperature is not None and temperature != 1:
        raise _bad("`temperature` may only be set to 1 when thinking is enabled or in adaptive "
                   f"mode. Please consult our documentation at {THINKING_DOCS}"
                   "#important-considerations-when-using-extended-thinking")
    if kind == "enabled" and forces_tool(body):
        raise _bad("Thinking may not be enabled when tool_choice forces tool use.")
    return Thinking(kind, budget, display)


def forces_tool(body: dict[str, Any]) -> bool:
    """Whether `tool_choice` forces a call (`any`, or `tool` with a name)."""
    choice = body.get("tool_choice")
    return isinstance(choice, dict) and choice.get("type") in ("any", "tool")


def check_thinking_block(block: dict[str, Any], at: str, role: str) -> None:
    """A thinking or redacted_thinking block's own fields (its place is checked below)."""
    kind = block["type"]
    if role != "assistant":
        raise _bad(f"{at}.type: {kind} blocks may only appear in assistant messages")
    fields = ("thinking", "signature") if kind == "thinking" else ("data",)
    extra = sorted(set(block) - {"type", "cache_control", *fields})
    if extra:
        raise _bad(f"{at}.{extra[0]}: Extra inputs are not permitted")
    for name in fields:
        if name not in block:
            raise _bad(f"{at}.{name}: Field required")
        if not isinstance(block[name], str):
            raise _bad(f"{at}.{name}: Input should be a valid string")


def _block_types(message: dict[str, Any]) -> list[str]:
    content = message.get("content")
    if isinstance(content, str):
        return ["text"]
    return [b.get("type", "") for b in content if isinstance(b, dict)]


def check_thinking_history(messages: list[dict[str, Any]], thinking: Thinking | None) -> None:
    """Where thinking blocks may be, and that they come back as they were sent."""
    last = len(messages) - 1
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        types = _block_types(message)
        if not any(kind in THINKING_BLOCKS for kind in types):
            continue
        if types[0] not in THINKING_BLOCKS:
            raise _bad(f"messages.{index}.content.0: If an assistant message contains any thinking "
                       f"blocks, the first block must be thinking or redacted_thinking. "
                       f"Found {types[0]}.")
        if index == last and thinking is None:
            raise _bad(f"messages.{index}.content.0: When thinking is disabled, an `assistant` "
                       "message in the final position cannot contain `thinking`. To use thinking "
                       "blocks, enable `thinking` in your request.")
        if index == last and types[-1] in THINKING_BLOCKS:
            raise _bad(f"messages.{index}: The final block in an assistant message cannot be "
                       "`thinking`.")
        for at, block in enumerate(message["content"]):
            if block.get("type") == "thinking" and block["signature"] != signature_for(
                block["thinking"]
            ):
                raise _bad(f"messages.{index}.content.{at}: Invalid `signature` in `thinking` "
                           "block")
    if thinking is None or thinking.kind != "enabled" or last < 1 or (
        "tool_result" not in _block_types(messages[last])
    ):
        return  # adaptive thinking may have skipped the thinking: nothing to ask back
    previous = messages[last - 1]
    first = _block_types(previous)[0] if _block_types(previous) else "text"
    if previous["role"] == "assistant" and first not in THINKING_BLOCKS:
        raise _bad(
            f"messages.{last - 1}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
            f"found `{first}`. When `thinking` is enabled, a final `assistant` message must start "
            "with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` "
            "blocks). We recommend you include thinking blocks from previous turns. To avoid this "
            f"requirement, disable `thinking`. Please consult our documentation at {THINKING_DOCS}"
        )


# --------------------------------------------------------------------------- structured output


def _open_object(schema: Any, path: str = "") -> tuple[str, Any] | None:
    """(where, its additionalProperties) of the first object schema not closed with false."""
    if isinstance(schema, list):
        for index, sub in enumerate(schema):
            found = _open_object(sub, f"{path}/{index}")
            if found:
                return found
        return None
    if not isinstance(schema, dict):
        return None
    is_object = schema.get("type") == "object" or (
        isinstance(schema.get("type"), list) and "object" in schema["type"]
    ) or ("properties" in schema and "type" not in schema)
    if is_object and schema.get("additionalProperties") is not False:
        return path or "/", schema.get("additionalProperties")
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            found = _open_object(sub, f"{path}/{key}/{name}")
            if found:
                return found
    for key in ("items", "anyOf", "allOf", "oneOf", "prefixItems"):
        if key in schema:
            found = _open_object(schema[key], f"{path}/{key}")
            if found:
                return found
    return None


def _format(raw: Any, where: str) -> dict[str, Any]:
    """One `{"type": "json_schema", "schema": {...}}`, its schema checked as the API checks it."""
    if not isinstance(raw, dict):
        raise _bad(f"{where}: Input should be a valid dictionary or object")
    if raw.get("type") != "json_schema":
        raise _bad(f"{where}.type: Input should be 'json_schema'")
    extra = sorted(set(raw) - {"type", "schema"})
    if extra:
        raise _bad(f"{where}.{extra[0]}: Extra inputs are not permitted")
    schema = raw.get("schema")
    if schema is None:
        raise _bad(f"{where}.schema: Field required")
    if not isinstance(schema, dict):
        raise _bad(f"{where}.schema: Input should be a valid dictionary or object")
    found = _open_object(schema)
    if found is not None:
        _, value = found
        if value is True:
            raise _bad(f"{where}.schema: For 'object' type, 'additionalProperties: true' is not "
                       "supported. Please set 'additionalProperties' to false")
        raise _bad(f"{where}.schema: For 'object' type, 'additionalProperties' must be "
                   "explicitly set to false")
    try:
        generator_limits(schema, where, f"{where}.schema")
    except RequestError as error:
        raise _bad(f"{error.param}: {error.message}") from None
    return schema


def parse_output_schema(
    body: dict[str, Any], betas: tuple[str, ...]
) -> tuple[dict[str, Any] | None, str | None]:
    """(the output schema or None, the field that asked for it)."""
    config, legacy = body.get("output_config"), body.get("output_format")
    schema, field = None, None
    if config is not None:
        if not isinstance(config, dict):
            raise _bad("output_config: Input should be a valid dictionary or object")
        extra = sorted(set(config) - {"format", "effort"})
        if extra:
            raise _bad(f"output_config.{extra[0]}: Extra inputs are not permitted")
        effort = config.get("effort")
        if effort is not None and effort not in EFFORTS:
            raise _bad("output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' "
                       "or 'max'")
        if config.get("format") is not None:
            schema, field = _format(config["format"], "output_config.format"), "output_config"
    if legacy is not None:
        if STRUCTURED_BETA not in betas:
            raise _bad("output_format: This field is deprecated. Use 'output_config.format' "
                       "instead. See https://platform.claude.com/docs/en/build-with-claude/"
                       "structured-outputs for more information.")
        if schema is not None:
            raise _bad("output_format: give either output_format (beta) or output_config.format, "
                       "not both")
        schema, field = _format(legacy, "output_format"), "output_format"
    return schema, field
