"""Every limit signal an answer carries, read into snapshots; junk is ignored, never raised."""

from __future__ import annotations

import json

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from localgate.pool.failures import Failure, FailureKind
from localgate.pool.signals import google_quota_violations, read_limits
from localgate.providers.ratelimit import LimitSnapshot

NOW = 1_750_000_000.0  # 2025-06-15T15:06:40Z
RESET = "2025-06-15T15:07:40Z"  # NOW + 60


def headers(**values) -> CIMultiDictProxy:
    """Headers as aiohttp hands them over (case-insensitive)."""
    return CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in values.items()}))


def snap(dimension, limit, remaining, reset_at):
    return LimitSnapshot(dimension, limit, remaining, reset_at, NOW)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            {
                "Anthropic-Ratelimit-Requests-Limit": "50",
                "anthropic-ratelimit-requests-remaining": "49",
                "anthropic-ratelimit-requests-reset": RESET,
            },
            [snap("requests", 50, 49, NOW + 60)],
        ),
        (
            {
                "anthropic-ratelimit-input-tokens-limit": "40000",
                "anthropic-ratelimit-input-tokens-remaining": "0",
                "anthropic-ratelimit-input-tokens-reset": RESET,
                "anthropic-ratelimit-output-tokens-remaining": "8000",
            },
            [snap("input-tokens", 40000, 0, NOW + 60), snap("output-tokens", None, 8000, None)],
        ),
        # Malformed values drop to None; a dimension with neither figure is left out.
        (
            {
                "anthropic-ratelimit-requests-limit": "lots",
                "anthropic-ratelimit-requests-remaining": "-3",
                "anthropic-ratelimit-tokens-limit": "1e400",
                "anthropic-ratelimit-tokens-remaining": "12",
                "anthropic-ratelimit-tokens-reset": "tomorrow",
            },
            [snap("tokens", None, 12, None)],
        ),
        ({"anthropic-ratelimit-requests-remaining": "nan"}, []),
        ({"content-type": "application/json"}, []),
    ],
)
def test_anthropic_headers(given, expected):
    assert read_limits("anthropic", headers(**given), b"", None, NOW) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            {
                "x-ratelimit-limit-requests": "10000",
                "x-ratelimit-remaining-requests": "9999",
                "x-ratelimit-reset-requests": "6ms",
                "x-ratelimit-limit-tokens": "30000000",
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": "1m30s",
            },
            [snap("requests", 10000, 9999, NOW + 0.006), snap("tokens", 30000000, 0, NOW + 90)],
        ),
        # Some compatible servers send bare seconds; garbage resets are no reset.
        (
            {"x-ratelimit-remaining-requests": "3", "x-ratelimit-reset-requests": "2.5"},
            [snap("requests", None, 3, NOW + 2.5)],
        ),
        (
            {"x-ratelimit-remaining-tokens": "7", "x-ratelimit-reset-tokens": "-1s"},
            [snap("tokens", None, 7, None)],
        ),
        ({"x-ratelimit-limit-requests": "", "x-ratelimit-remaining-requests": "abc"}, []),
    ],
)
def test_openai_headers(given, expected):
    assert read_limits("openai", headers(**given), b"", None, NOW) == expected


def test_other_providers_read_both_families():
    given = headers(x_ratelimit_remaining_requests="5", anthropic_ratelimit_tokens_remaining="6")
    found = read_limits("vertex", given, b"", None, NOW)
    assert {(s.dimension, s.remaining) for s in found} == {("requests", 5), ("tokens", 6)}


def gemini_429(*violations, retry="37s") -> bytes:
    details = [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": list(violations)},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry},
    ]
    error = {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota", "details": details}
    return json.dumps({"error": error}).encode()


def test_gemini_quota_failure_names_the_spent_dimensions():
    body = gemini_429(
        {"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "quotaValue": "50"},
        {"quotaMetric": "generativelanguage.googleapis.com/input_token_count"},
    )
    failure = Failure(FailureKind.QUOTA_EXHAUSTED, "429", 37.0, until_wall=NOW + 3600)
    assert read_limits("gemini", headers(), body, failure, NOW) == [
        snap("GenerateRequestsPerDayPerProjectPerModel-FreeTier", 50, 0, NOW + 3600),
        snap("generativelanguage.googleapis.com/input_token_count", None, 0, NOW + 3600),
    ]


def test_gemini_retry_info_sets_the_reset_when_no_day_quota():
    body = gemini_429({"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"})
    failure = Failure(FailureKind.RATE_LIMITED, "429", 37.0)
    (found,) = read_limits("gemini", headers(), body, failure, NOW)
    assert (found.remaining, found.reset_at) == (0, NOW + 37)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json QuotaFailure",
        b'["QuotaFailure"]',
        b'{"error": {"details": "QuotaFailure"}}',
        b'{"error": {"details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",'
        b' "violations": [1, null, {"quotaId": 7}]}]}}',
        json.dumps({"error": {"details": [None, 3, {"@type": None}]}}).encode() + b"QuotaFailure",
    ],
)
def test_malformed_google_bodies_are_ignored(body):
    assert google_quota_violations(body) == []


def test_a_bare_retry_after_is_a_spent_dimension():
    failure = Failure(FailureKind.RATE_LIMITED, "429", retry_after=30)
    found = read_limits("openai", headers(retry_after="30"), b"{}", failure, NOW)
    assert found == [snap("retry-after", None, 0, NOW + 30)]


def test_a_429_that_reports_figures_adds_no_retry_after_dimension():
    failure = Failure(FailureKind.RATE_LIMITED, "429", retry_after=30)
    given = headers(x_ratelimit_remaining_requests="0", x_ratelimit_reset_requests="30s")
    found = read_limits("openai", given, b"", failure, NOW)
    assert [s.dimension for s in found] == ["requests"]


def test_server_errors_and_successes_read_only_headers():
    failure = Failure(FailureKind.OVERLOADED, "529", retry_after=5)
    assert read_limits("anthropic", headers(retry_after="5"), b"", failure, NOW) == []


@pytest.mark.parametrize("junk", [None, 42, "headers", [("a", "b")]])
def test_headers_that_are_not_a_mapping_never_crash(junk):
    assert read_limits("anthropic", junk, b"", None, NOW) == []
