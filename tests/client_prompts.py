"""The prompts that clients which show a JSON Schema in the prompt send, rendered as they render
them: each template is copied from its client's source, with the file it comes from (same
`dedent`, same `json.dumps` arguments), so the local server's finder meets the real bytes.
Used by tests/server/test_model_prompt_schema.py and test_app_prompt_schema.py.
"""

from __future__ import annotations

import json
from textwrap import dedent
from typing import Any

from pydantic import BaseModel


class UserDetail(BaseModel):
    name: str
    age: int


class Flag(BaseModel):
    phishing: bool


def instructor_json_message(response_model: type[BaseModel]) -> str:
    """instructor, `handle_json_modes` (Mode.JSON, MD_JSON) in instructor/providers/openai/utils.py
    and `handle_anthropic_json` (Mode.ANTHROPIC_JSON) in instructor/providers/anthropic/utils.py:
    the system message (instructor-ai/instructor). Indented as in the source, since `dedent`
    leaves the text indented when the schema's own lines start further left."""
    message = dedent(
        f"""
        As a genius expert, your task is to understand the content and provide
        the parsed objects in json that match the following json_schema:\n

        {json.dumps(response_model.model_json_schema(), indent=2, ensure_ascii=False)}

        Make sure to return an instance of the JSON, not the schema itself
        """
    )
    return message


# langchain-core, libs/core/langchain_core/output_parsers/pydantic.py (PydanticOutputParser) and
# format_instructions.py (JSON_FORMAT_INSTRUCTIONS, JsonOutputParser): the same text. What a
# `with_structured_output(method="json_mode")` user puts in the prompt ("you must include
# instructions for formatting the output into the desired schema into the model call").
_PYDANTIC_FORMAT_INSTRUCTIONS = """The output should be formatted as a JSON instance that conforms to the JSON schema below.

As an example, for the schema {{"properties": {{"foo": {{"title": "Foo", "description": "a list of strings", "type": "array", "items": {{"type": "string"}}}}}}, "required": ["foo"]}}
the object {{"foo": ["bar", "baz"]}} is a well-formatted instance of the schema. The object {{"properties": {{"foo": ["bar", "baz"]}}}} is not well-formatted.

Here is the output schema:
```
{schema}
```"""  # noqa: E501


def langchain_format_instructions(model: type[BaseModel]) -> str:
    """PydanticOutputParser.get_format_instructions(): the schema without title and type."""
    reduced_schema = dict(model.model_json_schema().items())
    reduced_schema.pop("title", None)
    reduced_schema.pop("type", None)
    return _PYDANTIC_FORMAT_INSTRUCTIONS.format(schema=json.dumps(reduced_schema,
                                                                  ensure_ascii=False))


# pydantic-ai, pydantic_ai_slim/pydantic_ai/profiles/__init__.py (ModelProfile.
# prompted_output_template): the instructions of `PromptedOutput`.
PYDANTIC_AI_TEMPLATE = dedent(
    """
    Always respond with a JSON object that's compatible with this schema:

    {schema}

    Don't include any text or Markdown fencing before or after.
    """
)


def reduced(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {k: v for k, v in schema.items() if k not in ("title", "type")}
