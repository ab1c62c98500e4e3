"""Gemini API accounts (generativelanguage.googleapis.com) reached with an API key.

Google reports rate limits in the error body, not in headers: a 429
`RESOURCE_EXHAUSTED` carries `google.rpc.RetryInfo` (how long to wait) and
`google.rpc.QuotaFailure` (which quota ran out). A per-day quota resets at
midnight Pacific time, so retrying after the suggested seconds would only earn
another 429: such an answer cools the (account, model) until that midnight.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

from localgate import operations as ops
from localgate.dialects.common import error_message
from localgate.pool.failures import Failure, FailureKind
from localgate.providers.base import (
    COUNT_TOKENS,
    GENERATE,
    Provider,
    UpstreamCall,
    classify_status,
)
from localgate.providers.ratelimit import retry_after

API_VERSION = "v1beta"
QUOTA_TIMEZONE = "America/Los_Angeles"  # Gemini daily quotas reset at midnight here
_TYPE_PREFIX = "type.googleapis.com/"
_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d*)?|\.\d+)s\s*$"
)  # protobuf Duration in JSON: "37s", "0.5s"


GEMINI_OPERATIONS = frozenset((GENERATE, COUNT_TOKENS, ops.EMBED_CONTENT, ops.BATCH_EMBED))
EMBED_METHODS = {ops.EMBED_CONTENT: "embedContent", ops.BATCH_EMBED: "batchEmbedContents"}


class GeminiProvider(Provider):
    name = "gemini"

    @property
    def api_root(self) -> str:
        """`{base}/v1beta`, unless the configured base_url already names a version."""
        base = self.base_url
        if re.search(r"/v1(beta\d*|alpha)?$", base):
            return base
        return f"{base}/{API_VERSION}"

    def operations(self, model: str) -> frozenset[str]:
        return GEMINI_OPERATIONS

    async def call(self, op, model, body, *, stream, client_headers):
        # The model may carry a "models/" prefix when a client copied it from a listing.
        name = quote(model.removeprefix("models/"), safe="-._@")
        if op == COUNT_TOKENS:
            method = "countTokens"
            body = count_body(body, model)
        elif op in EMBED_METHODS:
            method = EMBED_METHODS[op]
            if op == ops.BATCH_EMBED:
                body = batch_body(body, model)
        else:
            method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        headers = {
            "content-type": "application/json",
            "x-goog-api-key": await self.credential.token(),
        }
        if stream:
            headers["accept"] = "text/event-stream"
        return UpstreamCall("POST", f"{self.api_root}/models/{name}:{method}", headers, body)

    async def check_call(self) -> UpstreamCall:
        headers = {"x-goog-api-key": self.credential.secret}
        return UpstreamCall("GET", f"{self.api_root}/models", headers)

    def classify(self, status: int, headers: Mapping[str, str], body: bytes) -> Failure | None:
        message = error_message(body)
        details = error_details(body)
        if status == 429:
            reason = f"429 {message}"
            wait = _retry_delay(details)
            if wait is None:
                wait = retry_after(headers)
            daily = _daily_quota(details)
            if daily is not None:
                return Failure(
                    FailureKind.QUOTA_EXHAUSTED,
                    reason,
                    wait,
                    until_wall=next_quota_reset(),
                    # Most Gemini quotas are per model; one that is not stops the whole key.
                    model_scoped="permodel" in daily.lower(),
                    status=status,
                )
            return Failure(FailureKind.RATE_LIMITED, reason, wait, status=status)
        if status == 400 and _invalid_key(details, message):
            # Google answers a wrong key with 400 INVALID_ARGUMENT, not 401.
            return Failure(FailureKind.AUTH, f"400 {message}", model_scoped=False, status=status)
        return classify_status(status, headers, message)


def count_body(body: bytes, model: str) -> bytes:
    """A countTokens body whose `generateContentRequest`, if any, names `model`.

    The top-level form counts `contents` only; system instructions and tools are
    counted when the prompt comes as a `generateContentRequest`, which names its
    model (ai.google.dev/api/tokens: models.countTokens; the two forms are
    mutually exclusive). An alias may have sent the request to another model.
    """
    data = json.loads(body)
    wrapped = data.get("generateContentRequest")
    name = "models/" + model.removeprefix("models/")
    if not isinstance(wrapped, dict) or wrapped.get("model") == name:
        return body
    data["generateContentRequest"] = {**wrapped, "model": name}
    return json.dumps(data, ensure_ascii=False).encode()


def batch_body(body: bytes, model: str) -> bytes:
    """A batchEmbedContents body whose every request names `model`, as the API demands."""
    data = json.loads(body)
    name = "models/" + model.removeprefix("models/")
    requests = data.get("requests") or []
    if all(r.get("model") == name for r in requests):
        return body
    data["requests"] = [{**r, "model": name} for r in requests]
    return json.dumps(data, ensure_ascii=False).encode()


def next_quota_reset(now_wall: float | None = None) -> float:
    """Epoch seconds of the next midnight in America/Los_Angeles, after `now_wall`."""
    now = datetime.now(UTC) if now_wall is None else _utc(now_wall)
    local = now.astimezone(_quota_zone())
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
    # Rebuild through the zone so the day's DST offset (PST or PDT) is the one used.
    return midnight.replace(tzinfo=_quota_zone()).timestamp()


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _quota_zone():
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(QUOTA_TIMEZONE)
    except Exception:  # no tz database (bare Windows): PST, never earlier than the real reset
        return timezone(timedelta(hours=-8), "PST")


def error_details(body: bytes) -> list[dict]:
    """The `error.details` entries of a Google error body (also when wrapped in a list)."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    error = parsed.get("error") if isinstance(parsed, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list):
        return []
    return [d for d in details if isinstance(d, dict)]


def _of_type(details: list[dict], name: str) -> list[dict]:
    return [d for d in details if d.get("@type") == _TYPE_PREFIX + name]


def _retry_delay(details: list[dict]) -> float | None:
    """`RetryInfo.retryDelay` ("37s", "0.5s") in seconds; None when absent or malformed."""
    for info in _of_type(details, "google.rpc.RetryInfo"):
        delay = info.get("retryDelay")
        match = _DURATION.match(delay) if isinstance(delay, str) else None
        if match:
            seconds = float(match.group(1))
            if math.isfinite(seconds):
                return seconds
    return None


def _daily_quota(details: list[dict]) -> str | None:
    """The quotaId of a violated daily quota (its id says PerDay), or None."""
    for failure in _of_type(details, "google.rpc.QuotaFailure"):
        violations = failure.get("violations")
        for violation in violations if isinstance(violations, list) else ():
            quota_id = violation.get("quotaId") if isinstance(violation, dict) else None
            if isinstance(quota_id, str) and "perday" in quota_id.lower():
                return quota_id
    return None


def _invalid_key(details: list[dict], message: str) -> bool:
    for info in _of_type(details, "google.rpc.ErrorInfo"):
        if info.get("reason") in ("API_KEY_INVALID", "API_KEY_EXPIRED"):
            return True
    return message.startswith("API key not valid") or message.startswith("API key expired")
