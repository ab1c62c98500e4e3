"""Images and audio: JSON and multipart requests relayed, binary answers streamed as they come."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import openai
import pytest

from tests.fakes import Error, Reply
from tests.fakes.openai_media import AUDIO_HEADER, PNG
from tests.sdks import openai_sdk
from tests.support import account, preferred_pair


async def one(localgate, make_fake, **tables):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url)], **tables)
    return client, work


async def two(localgate, make_fake, **server):
    """Two OpenAI accounts, `first` preferred; `server` adds to the [server] table."""
    return await preferred_pair(localgate, make_fake, "openai", server=server)


def picture_of(seen: bytes) -> str:
    return base64.b64encode(PNG + hashlib.sha256(seen).digest()).decode()


async def test_images_generate(localgate, make_fake):
    client, work = await one(localgate, make_fake)
    result = await openai_sdk(client).images.generate(model="gpt-image-1", prompt="a red fox")
    assert result.data[0].b64_json == picture_of(b"")
    assert result.usage.input_tokens == 10
    assert work.requests[-1].path == "/v1/images/generations"


async def test_images_stream_passes_through(localgate, make_fake):
    client, work = await one(localgate, make_fake)
    stream = await openai_sdk(client).images.generate(
        model="gpt-image-1", prompt="fox", stream=True, partial_images=2
    )
    kinds = [event.type async for event in stream]
    assert kinds == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]


async def test_images_edit_with_a_file(localgate, make_fake, tmp_path):
    client, work = await one(localgate, make_fake)
    image = tmp_path / "fox.png"
    image.write_bytes(PNG + b"\x00fox pixels" * 1000)
    with image.open("rb") as file:
        result = await openai_sdk(client).images.edit(
            model="gpt-image-1", image=file, prompt="make it blue"
        )
    assert result.data[0].b64_json == picture_of(image.read_bytes())
    sent = work.requests[-1]
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert sent.headers["authorization"] == "Bearer sk-test-work-secret"
    assert work.last_form["prompt"][0][1] == b"make it blue"


async def test_a_large_upload_is_spooled_to_disk_and_relayed_intact(localgate, make_fake):
    """Past the memory limit the form lives in a temp file; failover sends it twice."""
    client, first, second = await two(localgate, make_fake)
    first.script(Error(429))
    image = PNG + bytes(range(256)) * 8192  # 2 MB
    result = await openai_sdk(client).images.edit(
        model="gpt-image-1", image=("big.png", image, "image/png"), prompt="blue"
    )
    assert result.data[0].b64_json == picture_of(image)
    assert first.requests[0].body == second.requests[0].body
    assert len(second.requests[0].body) > len(image)


async def test_an_alias_renames_the_form_model(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate(
        [account("work", "openai", work.url)], aliases={"painter": ["gpt-image-1"]}
    )
    await openai_sdk(client).images.edit(
        model="painter", image=("a.png", PNG, "image/png"), prompt="x"
    )
    assert work.last_form["model"][0][1] == b"gpt-image-1"
    assert work.last_form["image"][0][1] == PNG


async def test_images_failover_on_429(localgate, make_fake):
    client, first, second = await two(localgate, make_fake)
    first.script(Error(429))
    result = await openai_sdk(client).images.generate(model="dall-e-3", prompt="fox")
    assert result.data[0].b64_json
    assert len(first.requests) == 1 and len(second.requests) == 1


async def test_edit_without_a_file_is_a_400(localgate, make_fake):
    client, work = await one(localgate, make_fake)
    with pytest.raises(openai.BadRequestError, match="image"):
        await openai_sdk(client).post(
            "/images/edits",
            body={"model": "gpt-image-1", "prompt": "x"},
            options={"headers": {"Content-Type": "multipart/form-data"}},
            files=[("other", ("x.txt", b"x"))],
            cast_to=object,
        )
    assert work.requests == []


async def test_a_form_over_max_body_mb_is_a_413(localgate, make_fake):
    client, work = await one(localgate, make_fake, server={"max_body_mb": 0.5})
    with pytest.raises(openai.APIStatusError) as caught:
        await openai_sdk(client).images.edit(
            model="gpt-image-1", image=("a.png", b"x" * 600_000, "image/png"), prompt="x"
        )
    assert caught.value.status_code == 413
    assert work.requests == []


async def test_speech_streams_binary_audio(localgate, make_fake, tmp_path):
    client, work = await one(localgate, make_fake)
    work.script(Reply(text="hello there", chunks=5))
    async with openai_sdk(client).audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="alloy", input="hello there"
    ) as response:
        assert response.headers["content-type"] == "audio/mpeg"
        audio = b"".join([chunk async for chunk in response.iter_bytes()])
    assert audio == AUDIO_HEADER + b"hello there" * 64
    assert work.requests[-1].headers["accept"] == "application/octet-stream"


async def test_speech_first_bytes_arrive_before_the_end(localgate, make_fake):
    """Not buffered: the first chunk reaches the client while the upstream still speaks."""
    client, work = await one(localgate, make_fake)
    work.script(Reply(text="slow words", chunks=3, gap=1.0))  # 4 writes, 3 s apart in all
    resp = await client.post(
        "/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": "slow words"}
    )
    assert resp.status == 200
    first = await resp.content.readany()
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert first.startswith(AUDIO_HEADER)
    rest = await resp.read()
    # Buffered, the first bytes would come with the last ones, not seconds before.
    assert loop.time() - started > 1.5
    assert first + rest == AUDIO_HEADER + b"slow words" * 64


async def test_speech_failover_on_429(localgate, make_fake):
    client, first, second = await two(localgate, make_fake)
    first.script(Error(429))
    async with openai_sdk(client).audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input="hi"
    ) as response:
        audio = await response.read()
    assert audio.startswith(AUDIO_HEADER)
    assert response.headers["x-localgate-account"] == "second"


async def test_speech_client_gone_stops_the_upstream(localgate, make_fake):
    client, work = await one(localgate, make_fake)
    work.script(Reply(text="long " * 50, chunks=50, gap=0.1))
    resp = await client.post(
        "/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": "long"}
    )
    await resp.content.readany()
    resp.close()  # the client hangs up mid-audio
    assert await work.wait_disconnects(1, timeout=3) == 1


async def test_speech_upstream_cut_cuts_the_client(localgate, make_fake):
    """Audio cannot carry an error event: a broken upstream breaks the client's answer."""
    import aiohttp

    client, work = await one(localgate, make_fake)
    work.script(Reply(chunks=4, gap=0.2))
    resp = await client.post(
        "/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": "x"}
    )
    await resp.content.readany()
    await work.close()  # the upstream goes away mid-answer
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()


@pytest.mark.parametrize(
    "response_format, expect",
    [
        ("json", "heard 4096 bytes"),
        ("text", "heard 4096 bytes\n"),
        ("srt", "1\n00:00:00,000 --> 00:00:01,000\nheard 4096 bytes\n\n"),
        ("vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nheard 4096 bytes\n\n"),
        ("verbose_json", "heard 4096 bytes"),
    ],
)
async def test_transcription_with_a_file(localgate, make_fake, tmp_path, response_format, expect):
    client, work = await one(localgate, make_fake)
    audio = tmp_path / "talk.mp3"
    audio.write_bytes(AUDIO_HEADER + b"\x01" * (4096 - len(AUDIO_HEADER)))
    with audio.open("rb") as file:
        result = await openai_sdk(client).audio.transcriptions.create(
            model="whisper-1", file=file, response_format=response_format
        )
    text = result if isinstance(result, str) else result.text
    assert text == expect
    assert work.last_form["file"][0][1] == audio.read_bytes()


async def test_transcription_stream_events(localgate, make_fake):
    from localgate.server.app import GATEWAY

    client, work = await one(localgate, make_fake)
    done: list = []
    client.app[GATEWAY].events.subscribe(done.append)
    stream = await openai_sdk(client).audio.transcriptions.create(
        model="gpt-4o-mini-transcribe", file=("a.mp3", b"abc", "audio/mpeg"), stream=True
    )
    events = [event async for event in stream]
    assert [e.type for e in events][-1] == "transcript.text.done"
    assert "".join(e.delta for e in events if e.type == "transcript.text.delta") == "heard 3 bytes"
    # The usage of the done event, read on the way without touching the bytes.
    (record,) = [e for e in done if hasattr(e, "op")]
    assert (record.usage.input_tokens, record.usage.output_tokens) == (10, 5)


async def test_transcription_usage_in_the_ledger_record(localgate, make_fake):
    from localgate.server.app import GATEWAY

    client, work = await one(localgate, make_fake)
    done: list = []
    client.app[GATEWAY].events.subscribe(done.append)
    await openai_sdk(client).audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("a.mp3", b"abc", "audio/mpeg")
    )
    (record,) = [e for e in done if hasattr(e, "op")]
    assert record.op == "transcribe" and record.model == "gpt-4o-transcribe"
    assert (record.usage.input_tokens, record.usage.output_tokens) == (10, 5)


async def test_transcription_failover_on_429(localgate, make_fake):
    client, first, second = await two(localgate, make_fake)
    first.script(Error(429))
    result = await openai_sdk(client).audio.translations.create(
        model="whisper-1", file=("a.mp3", b"abcd", "audio/mpeg")
    )
    assert result.text == "heard 4 bytes"
    assert first.requests[0].body == second.requests[0].body


async def test_transcription_without_model_is_a_400(localgate, make_fake):
    import aiohttp

    client, work = await one(localgate, make_fake)
    form = aiohttp.FormData()
    form.add_field("file", b"abc", filename="a.mp3")
    resp = await client.post("/v1/audio/transcriptions", data=form)
    assert resp.status == 400 and "model" in (await resp.json())["error"]["message"]
    assert work.requests == []


async def test_rerank_relayed(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url, models=["rerank-*"])])
    resp = await client.post(
        "/v1/rerank",
        json={"model": "rerank-v3.5", "query": "red fox", "documents": ["a dog", "a red fox"]},
    )
    assert resp.status == 200
    results = (await resp.json())["results"]
    assert results[0] == {"index": 1, "relevance_score": 1.0}


async def test_rerank_bad_input(localgate, make_fake):
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url, models=["rerank-*"])])
    resp = await client.post(
        "/v1/rerank", json={"model": "rerank-v3.5", "query": "x", "documents": []}
    )
    assert resp.status == 400 and work.requests == []


@pytest.mark.parametrize(
    "path, body, says",
    [
        ("/v1/images/generations", {"model": "gpt-image-1"}, "prompt: field required"),
        ("/v1/images/generations", {"model": "gpt-image-1", "prompt": 5}, "prompt: expected"),
        ("/v1/images/generations", {"prompt": "fox"}, "model: field required"),
        ("/v1/audio/speech", {"model": "tts-1", "input": "hi"}, "voice: field required"),
        ("/v1/audio/speech", {"model": "tts-1", "voice": "alloy"}, "input: field required"),
        ("/v1/audio/speech", {"model": " ", "voice": "alloy", "input": "x"}, "must name a model"),
    ],
)
async def test_bad_json_input_is_a_400_before_any_upstream(localgate, make_fake, path, body, says):
    client, work = await one(localgate, make_fake)
    resp = await client.post(path, json=body)
    assert resp.status == 400 and says in (await resp.json())["error"]["message"]
    assert work.requests == []


async def test_a_model_no_account_serves_names_localgate_models(localgate, make_fake):
    client, work = await one(localgate, make_fake)
    with pytest.raises(openai.NotFoundError, match="localgate models"):
        await openai_sdk(client).images.generate(model="flux-1-pro", prompt="fox")
    with pytest.raises(openai.NotFoundError, match="localgate models"):
        await openai_sdk(client).audio.transcriptions.create(
            model="parakeet", file=("a.mp3", b"abc", "audio/mpeg")
        )
    assert work.requests == []


async def test_whisper_answers_a_stream_request_with_json(localgate, make_fake):
    """whisper-1 ignores `stream`: its JSON answer is the answer, not a failure."""
    import aiohttp

    client, work = await one(localgate, make_fake)
    form = aiohttp.FormData()
    form.add_field("model", "whisper-1")
    form.add_field("stream", "true")
    form.add_field("file", b"abcde", filename="a.mp3")
    resp = await client.post("/v1/audio/transcriptions", data=form)
    assert resp.status == 200 and (await resp.json())["text"] == "heard 5 bytes"
    assert len(work.requests) == 1
