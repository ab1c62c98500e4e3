"""The IR checked against its annotations: every wrong value found and placed,
whether its field's types are tested inline or by the field's check."""

from __future__ import annotations

import pytest

from localgate.translate import ir
from localgate.translate.typecheck import mistyped


def request(**fields) -> ir.Request:
    return ir.Request(messages=[ir.Message("user", [ir.Text("hi")])], **fields)


def test_a_well_typed_request_passes():
    assert mistyped(request(max_tokens=5, temperature=1, user="u", stop=["x"])) is None


@pytest.mark.parametrize(
    "fields, said",
    [
        ({"max_tokens": "5"}, "max_tokens: expected an integer or null, got a string"),
        ({"max_tokens": True}, "max_tokens: expected an integer or null, got a boolean"),
        ({"temperature": "hot"}, "temperature: expected a number or null, got a string"),
        ({"user": 5}, "user: expected a string or null, got an integer"),
        ({"stop": ["x", 5]}, "stop[1]: expected a string, got an integer"),
        ({"include_usage": None}, "include_usage: expected a boolean, got null"),
        ({"tool_choice": ir.ToolChoice(name=5)}, "tool_choice.name: expected a string or null"),
        ({"tool_choice": ir.ToolChoice(mode="all")}, "tool_choice.mode: expected 'auto'"),
        ({"tool_choice": "auto"}, "tool_choice: expected ToolChoice or null, got a string"),
    ],
)
def test_a_wrong_value_is_named_by_its_path(fields, said):
    assert mistyped(request(**fields)).startswith(said)


def test_a_wrong_value_deep_in_the_messages_is_placed():
    req = request()
    req.messages.append(ir.Message("assistant", [ir.Text("ok"), ir.Text(["not", "text"])]))
    assert mistyped(req) == "messages[1].parts[1].text: expected a string, got an array"
