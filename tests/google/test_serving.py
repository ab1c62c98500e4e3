"""Vertex accounts behind localgate, end to end with the official SDKs and the fakes.

Every upstream request must carry a live access token from the fake token
endpoint (the fake Vertex refuses anything else), so these tests also prove
that tokens are refreshed in time.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from localgate.google.credential import MARGIN_SHARE
from tests.fakes import Error, Reply
from tests.google.support import service_account_info, vertex_account
from tests.sdks import anthropic_sdk, openai_sdk
from tests.server.test_translated import read_openai_stream
from tests.support import account

HELLO = [{"role": "user", "content": "hi"}]


def gateway_of(client):
    from localgate.server.app import GATEWAY

    return client.app[GATEWAY]


async def serve_vertex(localgate, fake_vertex, tokens, **extra):
    return await localgate(
        [vertex_account("gcp", fake_vertex.url, tokens.authorized_user(), **extra)]
    )


async def test_anthropic_sdk_claude_on_vertex(localgate, fake_vertex, fake_google_token):
    client = await serve_vertex(localgate, fake_vertex, fake_google_token)
    sdk = anthropic_sdk(client)
    message = await sdk.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HELLO)
    assert message.content[0].text == "Hello from vertex"
    sent = fake_vertex.claude.requests[-1]
    assert sent.path == (
        "/v1/projects/proj/locations/us-east5/publishers/anthropic/models/"
        "claude-sonnet-4-5@20250929:rawPredict"
    )
    assert "model" not in sent.json and sent.json["anthropic_version"] == "vertex-2023-10-16"
    assert "x-api-key" not in sent.headers  # the client's key never goes upstream

    async with sdk.messages.stream(
        model="claude-sonnet-4-5", max_tokens=64, messages=HELLO
    ) as stream:
        text = "".join([chunk async for chunk in stream.text_stream])
    assert text == "Hello from vertex"
    assert fake_vertex.claude.requests[-1].path.endswith(":streamRawPredict")

    count = await sdk.messages.count_tokens(model="claude-sonnet-4-5", messages=HELLO)
    assert count.input_tokens > 0
    counted = fake_vertex.claude.requests[-1]
    assert counted.path.endswith("/publishers/anthropic/models/count-tokens:rawPredict")
    assert counted.json["model"] == "claude-sonnet-4-5@20250929"
    assert fake_vertex.rejected == 0 and fake_google_token.refreshes == 1


async def test_claude_code_betas_reach_vertex_in_the_header(
    localgate, fake_vertex, fake_google_token
):
    client = await serve_vertex(localgate, fake_vertex, fake_google_token)
    answer = await client.post(
        "/v1/messages?beta=true",
        json={"model": "claude-opus-4-1-20250805", "max_tokens": 10, "messages": HELLO},
        headers={"anthropic-version": "2023-06-01", "anthropic-beta": "context-1m-2025-08-07"},
    )
    assert answer.status == 200, await answer.text()
    sent = fake_vertex.claude.requests[-1]
    assert sent.headers["anthropic-beta"] == "context-1m-2025-08-07"
    assert "claude-opus-4-1@20250805:rawPredict" in sent.path


# What Claude Code 2.1.197 sends (tests/translate/fixtures/claude-code-…-request.json).
CLAUDE_CODE_BETAS = (
    "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
    "prompt-caching-scope-2026-01-05,effort-2025-11-24"
)


def refused(*betas: str) -> Error:
    """Vertex's 400 for betas it does not take (as quoted in anthropics/claude-code#34802)."""
    named = ", ".join(f"`{b}`" for b in betas)
    return Error(
        400,
        body=json.dumps(
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": f"Unexpected value(s) {named} for the `anthropic-beta` header. "
                    "Please consult our documentation at docs.anthropic.com or try again "
                    "without the header.",
                },
            }
        ).encode(),
    )


async def test_betas_vertex_refuses_are_left_out_or_learned(
    localgate, fake_vertex, fake_google_token
):
    client = await serve_vertex(localgate, fake_vertex, fake_google_token)
    headers = {"anthropic-version": "2023-06-01", "anthropic-beta": CLAUDE_CODE_BETAS}
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": HELLO}
    # Known refusals never go out.
    answer = await client.post("/v1/messages?beta=true", json=body, headers=headers)
    assert answer.status == 200, await answer.text()
    sent = fake_vertex.claude.requests[-1].headers["anthropic-beta"]
    assert (
        sent == "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27"
    )
    # A new refusal is learned from Vertex's 400: resent at once, left out from then on.
    fake_vertex.claude.script(refused("claude-code-20250219", "context-management-2025-06-27"))
    answer = await client.post("/v1/messages?beta=true", json=body, headers=headers)
    assert answer.status == 200, await answer.text()
    first, resent = fake_vertex.claude.requests[-2:]
    assert "claude-code-20250219" in first.headers["anthropic-beta"]
    assert resent.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    await client.post("/v1/messages?beta=true", json=body, headers=headers)
    assert fake_vertex.claude.requests[-1].headers["anthropic-beta"] == (
        "interleaved-thinking-2025-05-14"
    )
    # The account was never rested for it.
    limits = await (await client.get("/account-limits")).json()
    assert limits["accounts"][0]["state"] == "ok"


async def test_a_refusal_of_nothing_new_goes_back_to_the_client(
    localgate, fake_vertex, fake_google_token
):
    client = await serve_vertex(localgate, fake_vertex, fake_google_token)
    fake_vertex.claude.script(refused("effort-2025-11-24"))  # already left out: not ours
    answer = await client.post(
        "/v1/messages",
        json={"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": HELLO},
        headers={"anthropic-beta": "effort-2025-11-24"},
    )
    assert answer.status == 400 and len(fake_vertex.claude.requests) == 1


async def test_count_tokens_sends_no_betas(localgate, fake_vertex, fake_google_token):
    client = await serve_vertex(localgate, fake_vertex, fake_google_token)
    answer = await client.post(
        "/v1/messages/count_tokens",
        json={"model": "claude-sonnet-4-5", "messages": HELLO},
        headers={"anthropic-beta": CLAUDE_CODE_BETAS},
    )
    assert answer.status == 200, await answer.text()
    assert "anthropic-beta" not in fake_vertex.claude.requests[-1].headers


async def test_a_model_the_project_may_not_call_rests_alone(
    localgate, fake_vertex, fake_google_token
):
    client = await serve_vertex(localgate, fake_vertex, fake_google_token)
    fake_vertex.claude.script(
        Error(
            403,
            "Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform."
            "googleapis.com/projects/proj/locations/us-east5/publishers/anthropic/models/"
            "claude-opus-4-1' (or it may not exist).",
        )
    )
    answer = await client.post(
        "/v1/messages", json={"model": "claude-opus-4-1", "max_tokens": 10, "messages": HELLO}
    )
    assert answer.status == 502
    assert "Model Garden" in (await answer.json())["error"]["message"]
    served = await client.post(
        "/v1/messages", json={"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": HELLO}
    )
    assert served.status == 200, await served.text()
    limits = await (await client.get("/account-limits")).json()
    gcp = limits["accounts"][0]
    assert gcp["state"] == "cooling" and [c["model"] for c in gcp["cooldowns"]] == [
        "claude-opus-4-1"
    ]


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "claude-sonnet-4-5"])
@pytest.mark.parametrize("stream", [False, True])
async def test_openai_sdk_served_by_vertex(
    localgate, fake_vertex, fake_google_token, model, stream
):
    client = await serve_vertex(localgate, fake_vertex, fake_google_token)
    sdk = openai_sdk(client)
    if stream:
        text, _, finish = await read_openai_stream(
            await sdk.chat.completions.create(
                model=model, messages=HELLO, stream=True, stream_options={"include_usage": True}
            )
        )
    else:
        completion = await sdk.chat.completions.create(model=model, messages=HELLO)
        text, finish = completion.choices[0].message.content, completion.choices[0].finish_reason
    assert text == "Hello from vertex" and finish == "stop"
    upstream = fake_vertex.gemini if model.startswith("gemini") else fake_vertex.claude
    assert len(upstream.requests) == 1
    assert "/publishers/google/" in upstream.requests[0].path or model.startswith("claude")


async def test_hundred_concurrent_requests_one_refresh(localgate, fake_vertex, fake_google_token):
    fake_google_token.delay = 0.3
    client = await serve_vertex(localgate, fake_vertex, fake_google_token)
    sdk = openai_sdk(client)
    answers = await asyncio.gather(
        *(sdk.chat.completions.create(model="gemini-2.5-flash", messages=HELLO) for _ in range(100))
    )
    assert all(a.choices[0].message.content == "Hello from vertex" for a in answers)
    assert fake_google_token.refreshes == 1
    assert len(fake_vertex.gemini.requests) == 100 and fake_vertex.rejected == 0


async def test_an_hour_long_session_with_short_lived_tokens(
    localgate, fake_vertex, fake_google_token
):
    """Tokens live 2 s; 5 s of steady traffic from two SDKs needs ~3 unattended refreshes.

    The bounds on the refreshes follow the session's measured length, not the 5 s
    planned: a slow machine stretches the session and the count with it.
    """
    lifetime = fake_google_token.expires_in = 2
    client = await serve_vertex(localgate, fake_vertex, fake_google_token)
    claude, openai = anthropic_sdk(client), openai_sdk(client)
    loop = asyncio.get_running_loop()
    start = loop.time()
    end = start + 5
    served = 0
    while loop.time() < end:
        burst = [
            call
            for _ in range(3)
            for call in (
                claude.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=HELLO),
                openai.chat.completions.create(model="gemini-2.5-pro", messages=HELLO),
            )
        ]
        await asyncio.gather(*burst)
        served += len(burst)
        await asyncio.sleep(0.05)
    elapsed = loop.time() - start
    assert fake_vertex.rejected == 0  # never an expired token upstream
    # Each token served its whole life but the margin (a tenth of it) before the next
    # was asked for: neither once per request nor only when one had expired.
    fresh_for = lifetime * (1 - MARGIN_SHARE)
    assert elapsed // lifetime <= fake_google_token.refreshes <= 2 + elapsed / fresh_for
    tokens = {
        r.headers["authorization"]
        for r in fake_vertex.claude.requests + fake_vertex.gemini.requests
    }
    assert len(tokens) == fake_google_token.refreshes
    assert served == len(fake_vertex.claude.requests) + len(fake_vertex.gemini.requests)


async def test_revoked_login_invalidates_the_account_others_serve(
    localgate, fake_vertex, fake_google_token, fake_anthropic
):
    fake_google_token.revoked.add("1//fake-refresh")
    client = await localgate(
        [
            vertex_account("gcp", fake_vertex.url, fake_google_token.authorized_user(), priority=5),
            account("backup", "anthropic", fake_anthropic.url),
        ],
        server={"strategy": "fill-first"},
    )
    message = await anthropic_sdk(client).messages.create(
        model="claude-sonnet-4-5", max_tokens=8, messages=HELLO
    )
    assert message.content[0].text == "Hello from anthropic"
    assert not fake_vertex.claude.requests
    limits = await (await client.get("/account-limits")).json()
    gcp = {a["name"]: a for a in limits["accounts"]}["gcp"]
    assert gcp["state"] == "invalid"
    assert "invalid_grant" in gcp["reason"]
    assert "localgate accounts add gcp --provider vertex" in gcp["reason"]
    assert "1//fake-refresh" not in str(limits)
    # The backup keeps serving; the token endpoint is not asked again per request.
    asked = len(fake_google_token.grants)
    for _ in range(3):
        await anthropic_sdk(client).messages.create(
            model="claude-sonnet-4-5", max_tokens=8, messages=HELLO
        )
    assert len(fake_google_token.grants) == asked

    # Access restored at Google's end: `accounts enable` (POST /reset-account) asks again.
    fake_google_token.revoked.clear()
    reset = await (await client.post("/reset-account?account=gcp")).json()
    assert reset == {"name": "gcp", "state": "ok"}
    message = await anthropic_sdk(client).messages.create(
        model="claude-sonnet-4-5", max_tokens=8, messages=HELLO
    )
    assert message.content[0].text == "Hello from vertex"
    assert len(fake_google_token.grants) == asked + 1


async def test_revoked_only_account_tells_the_client_how_to_log_in(
    localgate, fake_vertex, fake_google_token
):
    fake_google_token.revoked.add("1//fake-refresh")
    client = await serve_vertex(localgate, fake_vertex, fake_google_token)
    for _ in range(2):  # the failing attempt, then the account already marked invalid
        answer = await client.post(
            "/v1/chat/completions", json={"model": "gemini-2.5-flash", "messages": HELLO}
        )
        assert answer.status == 503
        error = (await answer.json())["error"]
        assert "localgate accounts add gcp --provider vertex" in error["message"]
        assert "1//fake-refresh" not in error["message"]


async def test_token_endpoint_down_fails_over_without_invalidating(
    localgate, fake_vertex, fake_google_token, fake_anthropic
):
    fake_google_token.close()
    client = await localgate(
        [
            vertex_account("gcp", fake_vertex.url, fake_google_token.authorized_user(), priority=5),
            account("backup", "anthropic", fake_anthropic.url),
        ],
        server={"strategy": "fill-first"},
    )
    message = await anthropic_sdk(client).messages.create(
        model="claude-sonnet-4-5", max_tokens=8, messages=HELLO
    )
    assert message.content[0].text == "Hello from anthropic"
    gcp = {s.name: s for s in gateway_of(client).pool.status()}["gcp"]
    assert (
        gcp.state == "cooling" and "cannot reach the Google token endpoint" in gcp.cooldowns[0][2]
    )


async def test_refresh_token_route(localgate, fake_vertex, fake_google_token, fake_anthropic):
    robot = service_account_info(fake_google_token)
    client = await localgate(
        [
            vertex_account("gcp", fake_vertex.url, fake_google_token.authorized_user()),
            vertex_account("robot", fake_vertex.url, robot),
            account("work", "anthropic", fake_anthropic.url),
        ]
    )
    answer = await client.post("/refresh-token")
    assert answer.status == 200
    data = await answer.json()
    assert data["ok"] is True
    assert [a["name"] for a in data["accounts"]] == ["gcp", "robot"]  # API keys have no token
    for entry in data["accounts"]:
        assert set(entry) == {"name", "ok", "expires_at"} and entry["ok"] is True
        assert entry["expires_at"].endswith("Z")
    assert fake_google_token.refreshes == 2
    assert "ya29" not in await answer.text()

    one = await (await client.post("/refresh-token?account=robot")).json()
    assert [a["name"] for a in one["accounts"]] == ["robot"] and fake_google_token.refreshes == 3

    missing = await client.post("/refresh-token?account=nope")
    assert missing.status == 404 and "nope" in (await missing.json())["error"]["message"]
    keyed = await client.post("/refresh-token?account=work")
    assert keyed.status == 400 and "API key" in (await keyed.json())["error"]["message"]

    fake_google_token.revoked.add("1//fake-refresh")
    failed = await (await client.post("/refresh-token?account=gcp")).json()
    assert failed["ok"] is False
    (entry,) = failed["accounts"]
    assert entry["ok"] is False and "localgate accounts add gcp" in entry["error"]
    assert "expires_at" not in entry
    states = {s.name: s.state for s in gateway_of(client).pool.status()}
    assert states == {"gcp": "invalid", "robot": "ok", "work": "ok"}

    # The user fixed the login at Google's end: a refresh that works clears the mark.
    fake_google_token.revoked.clear()
    fixed = await (await client.post("/refresh-token?account=gcp")).json()
    assert fixed["ok"] is True
    states = {s.name: s.state for s in gateway_of(client).pool.status()}
    assert states["gcp"] == "ok"


async def test_a_vertex_account_without_its_login(localgate, fake_vertex):
    client = await localgate(
        [{"name": "gcp", "provider": "vertex", "base_url": fake_vertex.url, "project": "p"}]
    )
    data = await (await client.post("/refresh-token")).json()
    assert data["ok"] is False
    assert "localgate accounts add gcp --provider vertex" in data["accounts"][0]["error"]


async def test_global_region_and_rotation_on_resource_exhausted(
    localgate, fake_vertex, fake_google_token
):
    from tests.fakes import Error

    client = await localgate(
        [
            vertex_account(
                "one", fake_vertex.url, fake_google_token.authorized_user(), region="global"
            ),
            vertex_account("two", fake_vertex.url, fake_google_token.authorized_user("1//two")),
        ],
        server={"strategy": "fill-first"},
    )
    fake_vertex.gemini.script(Error(429), Reply(text="from two"))
    completion = await openai_sdk(client).chat.completions.create(
        model="gemini-2.5-flash", messages=HELLO
    )
    assert completion.choices[0].message.content == "from two"
    first, second = fake_vertex.gemini.requests
    assert "/locations/global/" in first.path and "/locations/us-east5/" in second.path
    cooling = {s.name: s for s in gateway_of(client).pool.status()}["one"]
    assert cooling.state == "cooling"


async def test_claude_answers_name_the_model_the_client_asked_for(
    localgate, fake_vertex, fake_google_token
):
    """Vertex names its own ids (`…@20250929`); Claude Code drops thinking on another name."""
    client = await serve_vertex(localgate, fake_vertex, fake_google_token)
    sdk = anthropic_sdk(client)
    message = await sdk.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HELLO)
    assert message.model == "claude-sonnet-4-5"
    async with sdk.messages.stream(
        model="claude-sonnet-4-5", max_tokens=64, messages=HELLO
    ) as stream:
        final = await stream.get_final_message()
    assert final.model == "claude-sonnet-4-5"
    assert fake_vertex.claude.requests[-1].path.endswith(
        "claude-sonnet-4-5@20250929:streamRawPredict"
    )


async def test_models_lists_the_vertex_names_without_a_listing_call(
    localgate, fake_vertex, fake_google_token
):
    client = await serve_vertex(
        localgate, fake_vertex, fake_google_token, model_ids={"claude-custom": "x@1"}
    )
    listed = await (await client.get("/v1/models")).json()
    ids = {m["id"] for m in listed["data"]}
    assert {"claude-sonnet-4-5", "claude-haiku-4-5", "claude-custom"} <= ids
    assert fake_google_token.refreshes == 0  # listing needs no token, and nothing blocked on one


async def test_an_echoed_access_token_never_reaches_the_client(
    localgate, fake_vertex, fake_google_token
):
    from tests.fakes import Error

    client = await serve_vertex(localgate, fake_vertex, fake_google_token)
    sdk = anthropic_sdk(client)
    await sdk.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HELLO)
    (token,) = fake_google_token.issued
    fake_vertex.claude.script(Error(400, f"malformed request sent with Bearer {token}"))
    async with client.post(
        "/v1/messages",
        json={"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": HELLO},
    ) as resp:
        text = await resp.text()
    assert resp.status == 400
    assert token not in text and token[:12] not in text and "[redacted]" in text


async def test_the_logins_quota_project_is_billed(localgate, fake_vertex, fake_google_token):
    login = {**fake_google_token.authorized_user(), "quota_project_id": "billing-proj"}
    client = await localgate([vertex_account("gcp", fake_vertex.url, login)])
    answer = await client.post(
        "/v1/messages", json={"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": HELLO}
    )
    assert answer.status == 200, await answer.text()
    assert fake_vertex.claude.requests[-1].headers["x-goog-user-project"] == "billing-proj"
