"""Rate-limit header parsing: table-driven, malformed values never crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from localgate.providers.ratelimit import (
    LimitSnapshot,
    anthropic_reset_wait,
    limit_snapshots,
    openai_reset_wait,
    parse_go_duration,
    parse_rfc3339,
    retry_after,
)

NOW = 1_723_142_220.0  # 2024-08-08T18:37:00Z


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "30"}, 30.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"RETRY-AFTER": "0"}, 0.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"Retry-After-Ms": "1500", "retry-after": "9"}, 1.5),  # ms wins
        ({"retry-after-ms": "junk", "retry-after": "9"}, 9.0),  # bad ms falls through
        ({"retry-after": "Thu, 08 Aug 2024 18:37:30 GMT"}, 30.0),
        ({"retry-after": "Thu, 08 Aug 2024 18:36:00 GMT"}, 0.0),  # date in the past
        ({"retry-after": "soon"}, None),
        ({"retry-after": ""}, None),
        ({"retry-after": "-5"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after-ms": "-1"}, None),
    ],
)
def test_retry_after(headers, expected):
    assert retry_after(headers, now_wall=NOW) == expected


def test_retry_after_reads_aiohttp_headers():
    headers = CIMultiDictProxy(CIMultiDict([("Retry-After", "7")]))
    assert retry_after(headers) == 7.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0.0),
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("12ms", 0.012),
        ("1h2m3.5s", 3723.5),
        ("1.5s", 1.5),
        ("500us", 0.0005),
        ("500µs", 0.0005),
        ("100ns", 1e-7),
        (".5s", 0.5),
        ("+2s", 2.0),
        (" 3s ", 3.0),
        ("", None),
        ("s", None),
        ("5", None),  # Go requires a unit except for 0
        ("-1s", None),
        ("1d", None),
        ("1s junk", None),
        ("junk1s", None),
        ("1..5s", None),
    ],
)
def test_parse_go_duration(text, expected):
    result = parse_go_duration(text)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-08-08T18:37:00Z", NOW),
        ("2024-08-08t18:37:00z", NOW),
        ("2024-08-08T18:37:00.5Z", NOW + 0.5),
        ("2024-08-08T20:37:00+02:00", NOW),
        ("2024-08-08T18:37:00", NOW),  # no offset: UTC
        ("yesterday", None),
        ("", None),
        ("2024-13-01T00:00:00Z", None),
    ],
)
def test_parse_rfc3339(text, expected):
    assert parse_rfc3339(text) == expected


def _anthropic(**dims: tuple[str, str]) -> dict[str, str]:
    headers = {}
    for name, (remaining, reset) in dims.items():
        dim = name.replace("_", "-")
        headers[f"anthropic-ratelimit-{dim}-remaining"] = remaining
        headers[f"anthropic-ratelimit-{dim}-reset"] = reset
    return headers


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        (_anthropic(requests=("0", "2024-08-08T18:37:20Z")), 20.0),
        (_anthropic(requests=("3", "2024-08-08T18:37:20Z")), None),  # budget left
        (
            _anthropic(
                requests=("0", "2024-08-08T18:37:10Z"),
                input_tokens=("0", "2024-08-08T18:38:00Z"),
                output_tokens=("500", "2024-08-08T18:37:01Z"),
            ),
            60.0,  # longest among exhausted dimensions
        ),
        (_anthropic(tokens=("0", "2024-08-08T18:36:00Z")), None),  # reset already passed
        (_anthropic(tokens=("0", "garbage")), None),
        (_anthropic(tokens=("zero", "2024-08-08T18:37:20Z")), None),
        (
            {
                "Anthropic-RateLimit-Tokens-Remaining": "0",
                "Anthropic-RateLimit-Tokens-Reset": "2024-08-08T18:37:05Z",
            },
            5.0,
        ),
    ],
)
def test_anthropic_reset_wait(headers, expected):
    assert anthropic_reset_wait(headers, NOW) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"}, 1.0),
        ({"x-ratelimit-remaining-requests": "9", "x-ratelimit-reset-requests": "1s"}, None),
        (
            {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "12ms",
                "X-RateLimit-Remaining-Tokens": "0",
                "X-RateLimit-Reset-Tokens": "6m0s",
            },
            360.0,
        ),
        ({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "2.5"}, 2.5),
        ({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "later"}, None),
        ({"x-ratelimit-remaining-tokens": "0"}, None),
    ],
)
def test_openai_reset_wait(headers, expected):
    assert openai_reset_wait(headers) == expected


def test_limit_snapshots_anthropic():
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2024-08-08T18:37:01Z",
        "anthropic-ratelimit-tokens-limit": "bad",
        "anthropic-ratelimit-tokens-remaining": "1000",
        "anthropic-ratelimit-tokens-reset": "bad",
        "x-ratelimit-limit-requests": "99",  # other family: not read for anthropic
    }
    assert limit_snapshots(headers, "anthropic", NOW) == [
        LimitSnapshot("requests", 50, 49, NOW + 1, NOW),
        LimitSnapshot("tokens", None, 1000, None, NOW),
    ]


def test_limit_snapshots_openai_and_unknown_provider():
    headers = {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "1m",
    }
    expected = [
        LimitSnapshot("requests", 500, 499, NOW + 0.12, NOW),
        LimitSnapshot("tokens", 30000, 0, NOW + 60, NOW),
    ]
    assert limit_snapshots(headers, "openai", NOW) == expected
    assert limit_snapshots(headers, "vertex", NOW) == expected
    assert limit_snapshots({}, "openai", NOW) == []


header_names = st.sampled_from(
    [
        "retry-after",
        "retry-after-ms",
        "anthropic-ratelimit-tokens-remaining",
        "anthropic-ratelimit-tokens-reset",
        "anthropic-ratelimit-tokens-limit",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
        "x-ratelimit-limit-tokens",
    ]
)


@given(st.dictionaries(header_names, st.text(max_size=40)))
def test_malformed_headers_never_raise(headers):
    retry_after(headers, now_wall=NOW)
    anthropic_reset_wait(headers, NOW)
    openai_reset_wait(headers)
    for provider in ("anthropic", "openai", "gemini"):
        limit_snapshots(headers, provider, NOW)


@given(st.text(max_size=30))
def test_parsers_never_raise(text):
    parse_go_duration(text)
    parse_rfc3339(text)
