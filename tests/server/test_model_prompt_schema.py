"""The JSON Schema a prompt shows (helpers.server.model.prompt_schema), found in the exact text
the clients that put one there send (tests/client_prompts.py: instructor, langchain,
pydantic-ai, each template copied from its source).
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from client_prompts import (
    PYDANTIC_AI_TEMPLATE,
    Flag,
    UserDetail,
    instructor_json_message,
    langchain_format_instructions,
    reduced,
)
from pydantic import BaseModel

from helpers.server.model.prompt_schema import (
    find_schema,
    looks_like_schema,
    schema_in_prompt,
    seed_text,
)
from helpers.server.model.structured import value_for_schema
from helpers.server.model.tool_use import Features, plan


def test_instructor_json_mode_system_message() -> None:
    schema = schema_in_prompt(instructor_json_message(UserDetail), json_format=True)
    assert schema == UserDetail.model_json_schema()


def test_instructor_message_appended_to_a_system_message_asks_for_json_by_itself() -> None:
    system = "You are a careful extractor.\n\n" + instructor_json_message(UserDetail)
    assert schema_in_prompt(system, json_format=False) == UserDetail.model_json_schema()


def test_langchain_format_instructions_pick_the_fenced_schema_not_the_example() -> None:
    # The example schema ({"properties": {"foo": ...}}) is larger than Flag's: only the fence
    # tells them apart, as it tells a reader.
    text = f"Answer the user query.\n{langchain_format_instructions(Flag)}\nIs this phishing?\n"
    example = {"properties": {"foo": {"title": "Foo", "description": "a list of strings",
                                      "type": "array", "items": {"type": "string"}}},
               "required": ["foo"]}
    assert len(json.dumps(example)) > len(json.dumps(reduced(Flag)))
    assert schema_in_prompt(text, json_format=False) == reduced(Flag)
    assert schema_in_prompt(text, json_format=True) == reduced(Flag)


def test_pydantic_ai_prompted_output_instructions() -> None:
    text = PYDANTIC_AI_TEMPLATE.format(schema=json.dumps(UserDetail.model_json_schema()))
    assert schema_in_prompt(text, json_format=False) == UserDetail.model_json_schema()


def test_a_json_fenced_block_and_nested_definitions() -> None:
    class Address(BaseModel):
        city: str

    class Person(BaseModel):
        name: str
        home: Address

    schema = Person.model_json_schema()  # $defs: the Address sub-schema is smaller
    text = f"Reply in JSON.\n```json\n{json.dumps(schema, indent=2)}\n```\nAbout: Ada Lovelace"
    found = find_schema(text)
    assert found is not None and found[2] == schema
    assert text[found[0]:found[1]] == json.dumps(schema, indent=2)


def test_a_schema_inside_another_object_and_dollar_schema() -> None:
    wrapped = {"name": "person", "schema": {"type": "object", "properties": {
        "name": {"type": "string"}}}}
    assert schema_in_prompt(f"JSON please: {json.dumps(wrapped)}",
                            json_format=False) == wrapped["schema"]
    draft = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "string"}
    assert schema_in_prompt(f"Answer as json: {json.dumps(draft)}", json_format=False) == draft


@pytest.mark.parametrize("text", [
    # asks for JSON but shows an instance, not a schema
    'Return JSON like {"name": "Ada", "age": 36}',
    # langchain's "not well-formatted" object: properties whose values are not schemas
    'JSON: {"properties": {"foo": ["bar", "baz"]}}',
    # braces that are not JSON
    "Return JSON with {name} and {age} filled in",
    # a schema, but nothing asks for JSON: the word is only inside the schema
    'Explain this schema: {"$schema": "http://json-schema.org/draft-07/schema#", '
    '"type": "object", "properties": {"a": {"type": "string"}}}',
    # a schema nothing asks for
    'What does {"type": "object", "properties": {"a": {"type": "string"}}} describe?',
    # a $ref the generator cannot follow
    'JSON: {"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}}',
])
def test_no_schema_to_follow(text: str) -> None:
    assert schema_in_prompt(text, json_format=False) is None


def test_json_object_format_needs_no_word_in_the_text_around_the_schema() -> None:
    text = 'Fill in {"type": "object", "properties": {"a": {"type": "string"}}}'
    assert schema_in_prompt(text, json_format=False) is None
    assert schema_in_prompt(text, json_format=True) == {
        "type": "object", "properties": {"a": {"type": "string"}}}


def test_looks_like_schema() -> None:
    assert looks_like_schema({"type": "object", "properties": {}})
    assert looks_like_schema({"properties": {"a": True}})
    assert not looks_like_schema({"properties": {}})
    assert not looks_like_schema({"type": "array", "properties": {"a": {}}})
    assert not looks_like_schema({"name": "Ada"})


def test_seed_text_keeps_the_question_not_the_instructions() -> None:
    text = f"Answer the user query.\n{langchain_format_instructions(Flag)}\nIs Paris safe?"
    assert seed_text(text) == "Answer the user query. Is Paris safe?"


def test_the_plan_writes_an_instance_from_the_question() -> None:
    schema = UserDetail.model_json_schema()
    features = Features(prompt_schema=schema)
    text = plan("Extract Jason is 25 years old", features).text
    assert text is not None
    value = json.loads(text)
    jsonschema.validate(value, schema)
    assert value["name"] == "Jason"
    # A json_schema format (output_schema) wins over a schema in the prompt.
    other = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    both = Features(output_schema=other, prompt_schema=schema)
    assert set(json.loads(plan("Extract Jason", both).text or "")) == {"x"}


def test_a_long_prompt_of_json_is_searched_quickly() -> None:
    data = json.dumps([{"id": i, "tags": [{"k": "v"}] * 3} for i in range(2000)])
    text = f"Summarise this json: {data}\n" + instructor_json_message(UserDetail)
    assert schema_in_prompt(text, json_format=True) == UserDetail.model_json_schema()
    assert value_for_schema(UserDetail.model_json_schema(), "")
