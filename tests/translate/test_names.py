import pytest
from hypothesis import given
from hypothesis import strategies as st

from localgate.translate.names import ToolNames, decode_id, encode_id, safe_name

ANTHROPIC_ID = r"^[a-zA-Z0-9_-]+$"


@pytest.mark.parametrize(
    ("raw", "wire"),
    [
        ("toolu_01A09q90qw90lq917835lq9", "toolu_01A09q90qw90lq917835lq9"),
        ("call_Xq1bA3", "call_Xq1bA3"),
        ("functions.Bash:0", "lgx_functions_2eBash_3a0"),
        ("functions.get_time:1", "lgx_functions_2eget_5ftime_3a1"),
        ("", "lgx_"),
    ],
)
def test_ids_escape_into_anthropic_charset(raw, wire):
    assert encode_id(raw) == wire
    assert decode_id(wire) == raw


@given(st.text(max_size=40))
def test_any_id_round_trips_and_is_valid(raw):
    wire = encode_id(raw)
    assert decode_id(wire) == raw
    if raw:
        import re

        assert re.match(ANTHROPIC_ID, wire)


def test_names_valid_everywhere_stay_and_others_map_back():
    names = ToolNames()
    assert names.upstream("Bash") == "Bash"
    long = "mcp__my.server__" + "x" * 80
    safe = names.upstream(long)
    assert len(safe) <= 64 and safe == safe_name(long)
    assert "." not in safe
    assert names.client(safe) == long
    assert names.client("Unknown") == "Unknown"
    assert safe_name("9lives")[0] == "_"
