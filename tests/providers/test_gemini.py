"""The gemini provider: URLs, auth, and reading Google's errors into Failures."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from localgate.config import AccountConfig
from localgate.operations import BATCH_EMBED, EMBED_CONTENT
from localgate.pool.failures import FailureKind
from localgate.providers import load
from localgate.providers.base import COUNT_TOKENS, GENERATE, Credential
from localgate.providers.gemini import GeminiProvider, next_quota_reset

LA = ZoneInfo("America/Los_Angeles")


def provider(base_url: str | None = None) -> GeminiProvider:
    account = AccountConfig(name="g", provider="gemini", base_url=base_url)
    return GeminiProvider(account, Credential("AIza-secret"))


def google_error(status: int, code: str, message: str, *details: dict) -> bytes:
    error = {"code": status, "message": message, "status": code}
    if details:
        error["details"] = list(details)
    return json.dumps({"error": error}, indent=2).encode()


def retry_info(delay: str) -> dict:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


def quota_failure(*quota_ids: str) -> dict:
    return {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [
            {"quotaMetric": "generativelanguage.googleapis.com/x", "quotaId": q} for q in quota_ids
        ],
    }


def test_registry_loads_it():
    assert load("gemini") is GeminiProvider
    assert provider().operations("gemini-2.5-flash") == frozenset(
        {GENERATE, COUNT_TOKENS, EMBED_CONTENT, BATCH_EMBED}
    )
    assert provider().dialect_for("gemini-2.5-flash") == "gemini"


@pytest.mark.parametrize(
    ("base_url", "stream", "url"),
    [
        (
            None,
            False,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
        ),
        (
            None,
            True,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
            ":streamGenerateContent?alt=sse",
        ),
        (
            "http://127.0.0.1:9/",
            False,
            "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:generateContent",
        ),
        ("http://h/v1beta", False, "http://h/v1beta/models/gemini-2.5-flash:generateContent"),
        ("http://h/v1", True, "http://h/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
    ],
)
async def test_call_url_and_auth(base_url, stream, url):
    call = await provider(base_url).call(
        GENERATE,
        "gemini-2.5-flash",
        b"{}",
        stream=stream,
        client_headers={"x-goog-api-key": "client"},
    )
    assert (call.method, call.url, call.body) == ("POST", url, b"{}")
    assert call.headers["x-goog-api-key"] == "AIza-secret"
    assert "authorization" not in call.headers
    assert (call.headers.get("accept") == "text/event-stream") is stream


async def test_models_prefix_is_not_doubled():
    call = await provider().call(
        GENERATE, "models/gemini-2.0-flash", b"{}", stream=False, client_headers={}
    )
    assert call.url.endswith("/v1beta/models/gemini-2.0-flash:generateContent")


async def test_check_call_lists_models():
    call = await provider("http://h").check_call()
    assert (call.method, call.url) == ("GET", "http://h/v1beta/models")
    assert call.headers == {"x-goog-api-key": "AIza-secret"}


def test_429_retry_info_sets_the_wait():
    body = google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota",
        quota_failure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"),
        retry_info("37s"),
    )
    failure = provider().classify(429, {}, body)
    assert failure.kind is FailureKind.RATE_LIMITED
    assert failure.retry_after == 37.0
    assert failure.until_wall is None
    assert failure.model_scoped and failure.status == 429
    assert "You exceeded your current quota" in failure.reason


@pytest.mark.parametrize(("delay", "seconds"), [("0.5s", 0.5), ("12.250s", 12.25), (" 3s ", 3.0)])
def test_retry_delay_fractions(delay, seconds):
    body = google_error(429, "RESOURCE_EXHAUSTED", "slow down", retry_info(delay))
    assert provider().classify(429, {}, body).retry_after == seconds


@pytest.mark.parametrize("delay", ["soon", "-3s", "37", "", None, 37])
def test_malformed_retry_delay_falls_back_to_headers(delay):
    body = google_error(429, "RESOURCE_EXHAUSTED", "slow down", retry_info(delay))
    assert provider().classify(429, {}, body).retry_after is None
    assert provider().classify(429, {"Retry-After": "9"}, body).retry_after == 9.0


def test_429_without_details_reads_retry_after_header():
    failure = provider().classify(429, {"retry-after": "4"}, b'{"error":{"code":429}}')
    assert failure.kind is FailureKind.RATE_LIMITED and failure.retry_after == 4.0


def test_per_day_quota_cools_until_pacific_midnight():
    body = google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for metric: generate_content_free_tier_requests, limit: 250",
        quota_failure("GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
        retry_info("21s"),
    )
    failure = provider().classify(429, {}, body)
    assert failure.kind is FailureKind.QUOTA_EXHAUSTED
    assert failure.model_scoped  # a per-model quota: other models of the key still work
    reset = datetime.fromtimestamp(failure.until_wall, LA)
    assert (reset.hour, reset.minute, reset.second) == (0, 0, 0)
    assert 0 < failure.until_wall - datetime.now(LA).timestamp() <= 25 * 3600


def test_daily_quota_not_per_model_stops_the_whole_key():
    body = google_error(
        429, "RESOURCE_EXHAUSTED", "q", quota_failure("GenerateRequestsPerDayPerProject")
    )
    failure = provider().classify(429, {}, body)
    assert failure.kind is FailureKind.QUOTA_EXHAUSTED and not failure.model_scoped


def test_error_wrapped_in_a_list_is_read():
    body = (
        b"["
        + google_error(429, "RESOURCE_EXHAUSTED", "q", quota_failure("InputTokensPerModelPerDay"))
        + b"]"
    )
    assert provider().classify(429, {}, body).kind is FailureKind.QUOTA_EXHAUSTED


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 23:59:59 PDT on 2024-08-08 → midnight PDT (07:00 UTC) on the 9th
        (
            datetime(2024, 8, 9, 6, 59, 59, tzinfo=ZoneInfo("UTC")),
            datetime(2024, 8, 9, 0, 0, tzinfo=LA),
        ),
        # exactly midnight: the next one, a full day later
        (datetime(2024, 8, 9, 0, 0, tzinfo=LA), datetime(2024, 8, 10, 0, 0, tzinfo=LA)),
        # winter: PST, UTC-8
        (
            datetime(2024, 1, 15, 12, 0, tzinfo=ZoneInfo("UTC")),
            datetime(2024, 1, 16, 0, 0, tzinfo=LA),
        ),
        # the night DST starts (a 23-hour day)
        (datetime(2024, 3, 10, 1, 0, tzinfo=LA), datetime(2024, 3, 11, 0, 0, tzinfo=LA)),
    ],
)
def test_next_quota_reset(now, expected):
    assert next_quota_reset(now.timestamp()) == expected.timestamp()


def test_wrong_key_400_marks_the_account_invalid():
    body = google_error(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"},
    )
    failure = provider().classify(400, {}, body)
    assert failure.kind is FailureKind.AUTH and failure.invalidates and not failure.model_scoped


@pytest.mark.parametrize(("status", "code"), [(401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED")])
def test_401_403_invalidate(status, code):
    failure = provider().classify(status, {}, google_error(status, code, "denied"))
    assert failure.kind is FailureKind.AUTH and not failure.model_scoped


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, FailureKind.SERVER_ERROR),
        (503, FailureKind.OVERLOADED),
        (504, FailureKind.SERVER_ERROR),
    ],
)
def test_server_errors_fail_over(status, kind):
    failure = provider().classify(status, {}, google_error(status, "INTERNAL", "boom"))
    assert failure.kind is kind
    assert "boom" in failure.reason


@pytest.mark.parametrize("status", [400, 404, 413])
def test_request_errors_go_back_to_the_client(status):
    body = google_error(status, "INVALID_ARGUMENT", "* contents: must not be empty")
    assert provider().classify(status, {}, body) is None


@pytest.mark.parametrize(
    "body", [b"", b"<html>", b"[]", b"{}", b'{"error": "x"}', b'{"error": {"details": 5}}']
)
def test_garbage_bodies_never_crash(body):
    assert provider().classify(429, {}, body).kind is FailureKind.RATE_LIMITED
    assert provider().classify(400, {}, body) is None
