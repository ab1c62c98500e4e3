"""VertexProvider: publishers, URLs, Claude bodies, model ids, Google error reading."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from localgate.config import AccountConfig
from localgate.operations import BATCH_EMBED, EMBED_CONTENT
from localgate.pool.failures import FailureKind
from localgate.providers.base import COUNT_TOKENS, GENERATE, MESSAGES, Credential
from localgate.providers.vertex import VertexProvider, relogin_command


class FixedToken(Credential):
    invalidated = False

    def invalidate(self) -> None:
        self.invalidated = True


def vertex(base_url: str | None = None, **extra) -> VertexProvider:
    extra = {"project": "my-proj", "region": "us-east5", **extra}
    config = AccountConfig("gcp", "vertex", base_url=base_url, extra=MappingProxyType(extra))
    return VertexProvider(config, FixedToken("ya29.token"))


CLAUDE_BODY = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 50,
    "stream": True,
    "messages": [{"role": "user", "content": "hi"}],
}


async def test_claude_messages_on_a_regional_endpoint():
    provider = vertex()
    assert provider.dialect_for("claude-sonnet-4-5") == "anthropic"
    assert provider.operations("claude-sonnet-4-5") == {MESSAGES, COUNT_TOKENS}
    headers = {"anthropic-beta": "interleaved-thinking-2025-05-14", "anthropic-version": "x"}
    call = await provider.call(
        MESSAGES,
        "claude-sonnet-4-5",
        json.dumps(CLAUDE_BODY).encode(),
        stream=True,
        client_headers=headers,
    )
    assert call.url == (
        "https://us-east5-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-east5"
        "/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
    )
    body = json.loads(call.body)
    assert "model" not in body
    assert body["anthropic_version"] == "vertex-2023-10-16"
    assert body["stream"] is True and body["messages"] == CLAUDE_BODY["messages"]
    assert call.headers["authorization"] == "Bearer ya29.token"
    assert call.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert "anthropic-version" not in call.headers  # Vertex takes it in the body


async def test_claude_count_tokens_keeps_the_vertex_model_in_the_body():
    call = await vertex(region="global").call(
        COUNT_TOKENS,
        "claude-haiku-4-5",
        json.dumps({"model": "claude-haiku-4-5", "messages": []}).encode(),
        stream=False,
        client_headers={},
    )
    assert call.url == (
        "https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global"
        "/publishers/anthropic/models/count-tokens:rawPredict"
    )
    body = json.loads(call.body)
    assert body["model"] == "claude-haiku-4-5@20251001"
    assert body["anthropic_version"] == "vertex-2023-10-16"


@pytest.mark.parametrize(
    "stream, method", [(False, "generateContent"), (True, "streamGenerateContent?alt=sse")]
)
async def test_gemini_generate(stream, method):
    provider = vertex("http://127.0.0.1:9/")
    assert provider.dialect_for("gemini-2.5-pro") == "gemini"
    assert provider.operations("gemini-2.5-pro") == {
        GENERATE,
        COUNT_TOKENS,
        EMBED_CONTENT,
        BATCH_EMBED,
    }
    body = b'{"contents": []}'
    call = await provider.call(GENERATE, "gemini-2.5-pro", body, stream=stream, client_headers={})
    assert call.url == (
        "http://127.0.0.1:9/v1/projects/my-proj/locations/us-east5"
        f"/publishers/google/models/gemini-2.5-pro:{method}"
    )
    assert call.body == body  # the Gemini dialect goes as it is


@pytest.mark.parametrize(
    "public, vertex_id",
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5@20250929"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5@20250929"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1@20250805"),
        ("claude-haiku-4-5@20251001", "claude-haiku-4-5@20251001"),
        ("claude-future-9", "claude-future-9"),
        ("gemini-2.5-flash", "gemini-2.5-flash"),
    ],
)
def test_model_ids(public, vertex_id):
    assert vertex().model_id(public) == vertex_id


def test_model_ids_from_config_win():
    provider = vertex(
        model_ids={"claude-sonnet-4-5": "claude-sonnet-4-5@20991231", "fast": "gemini-2.5-flash"}
    )
    assert provider.model_id("claude-sonnet-4-5") == "claude-sonnet-4-5@20991231"
    assert provider.dialect_for("fast") == "gemini"


def test_daily_quota_429_cools_until_the_reset():
    body = json.dumps(
        {
            "error": {
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "message": "Quota exceeded",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel"}],
                    },
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"},
                ],
            }
        }
    ).encode()
    failure = vertex().classify(429, {}, body)
    assert failure.kind is FailureKind.QUOTA_EXHAUSTED
    assert failure.until_wall is not None and failure.retry_after == 12


def test_per_minute_429_is_a_rate_limit():
    body = b'{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "slow down"}}'
    failure = vertex().classify(429, {"retry-after": "3"}, body)
    assert failure.kind is FailureKind.RATE_LIMITED and failure.retry_after == 3


def test_refused_access_token_is_dropped_not_the_account():
    provider = vertex()
    failure = provider.classify(401, {}, b'{"error": {"code": 401, "message": "no"}}')
    assert failure.kind is not FailureKind.AUTH and not failure.model_scoped
    assert provider.credential.invalidated
    assert vertex().classify(403, {}, b"{}").kind is FailureKind.AUTH


def test_relogin_command_repeats_the_source():
    def config(**extra):
        return AccountConfig("gcp", "vertex", extra=MappingProxyType(extra))

    adc = relogin_command(config(credentials_type="adc"))
    assert adc.endswith("--provider vertex --adc --replace")
    assert relogin_command(config(credentials_type="service_account")).endswith(
        "--credentials-file FILE --replace"
    )
    assert relogin_command(config(credentials_type="browser", client_secrets="/c.json")).endswith(
        "--client-secrets /c.json --replace"
    )


def test_missing_project_is_reported_with_the_fix():
    from localgate.errors import ConfigError

    config = AccountConfig("gcp", "vertex", extra=MappingProxyType({}))
    with pytest.raises(ConfigError, match="--project P"):
        VertexProvider.credential_for(config)
