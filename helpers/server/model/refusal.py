"""Layer: model (the bottom). May import: other helpers.server.model modules, nothing above.

When the simulated model refuses, and what it writes then: one documented trigger, so a
learner's refusal handling can be tested on purpose and never fires by accident.

The trigger is the test string Anthropic documents for its streaming refusals ("Handle streaming
refusals": "use this special test string as your prompt"): a last user message containing it is
refused on every route. On `/v1/messages` the real API refuses it too; OpenAI documents no such
string, so there the rule is the kit's own.

How a refusal looks depends on the API, each as the real one sends it:
- OpenAI with Structured Outputs (`text.format` / `response_format` `json_schema`): the refusal
  sentence goes into a `refusal` content part (Responses: `response.refusal.delta` events; Chat:
  `delta.refusal` pieces, `message.content: null`), never into the JSON text, so the SDK's
  `output_parsed` / `message.parsed` stay None. The sentence is the one openai-python's live-API
  snapshot recorded ("I'm sorry, I can't assist with that request.", gpt-4o-2024-08-06).
- OpenAI without a schema: the model refuses in plain text, as real models do (the `refusal`
  field belongs to Structured Outputs).
- Anthropic: the streaming classifier cuts the answer after a few tokens and the message ends
  with `stop_reason: "refusal"` and `stop_details` in `message_delta`; no refusal sentence is
  added (Anthropic: "No additional refusal message is included").
"""

from __future__ import annotations

REFUSAL_TRIGGER = (
    "ANTHROPIC_MAGIC_STRING_TRIGGER_REFUSAL_"
    "1FAEFB6177B4672DEE07F9D3AFC62588CCD2631EDCF22E8CCC1FB35B501C9C86"
)
"""Anthropic's documented test string; in the last user message it triggers a refusal."""

REFUSAL_TEXT = "I'm sorry, I can't assist with that request."
"""What an OpenAI model says when it refuses (the recorded Chat refusal's words)."""

CUT_AFTER_TOKENS = 6
"""Anthropic: how many tokens of its ordinary answer the model writes before the classifier
stops it (the documented example keeps a partial "Hello.."; the real count varies)."""

STOP_DETAILS = {"type": "refusal", "category": None, "explanation": None}
"""`stop_details` of a refused Message: the SDK's RefusalStopDetails. `category` and
`explanation` are null "when the refusal doesn't map to a named category" (anthropic 2.17's
type); what the real API names for the test string is not known."""


def refuses(prompt: str) -> bool:
    """Whether the simulated model refuses this prompt (the trigger anywhere in it)."""
    return REFUSAL_TRIGGER in prompt
