"""Images made, audio heard and characters spoken reach the ledger, `localgate usage` and
the dashboard: the openai SDK through localgate to the fake api.openai.com."""

from __future__ import annotations

import base64
import json

import pytest

from localgate.dialects.media import AUDIO, IMAGES, SPEECH, measure
from localgate.dialects.usage import MAX_SECONDS
from localgate.dialects.usage import Usage as UsageFigures
from localgate.ledger import LedgerStore, ledger_path
from tests.fakes import Reply
from tests.fakes.openai_media import AUDIO_HEADER, BYTES_PER_SECOND, PNG
from tests.limits.live import HI, post_messages, run_cli, written
from tests.sdks import openai_sdk
from tests.support import account


async def serving(localgate, make_fake):
    work = await make_fake("openai", "work")
    claude = await make_fake("anthropic", "claude")
    client = await localgate(
        [account("work", "openai", work.url), account("claude", "anthropic", claude.url)]
    )
    return client, work


def rows_by_op(client) -> dict[str, tuple]:
    """op → (images, audio_seconds, speech_characters, input_tokens) of its ledger rows."""
    from localgate.config import default_state_dir

    store = LedgerStore.open(ledger_path(default_state_dir()))
    try:
        rows = store._db.execute(
            "SELECT op, images, audio_seconds, speech_characters, input_tokens FROM requests"
        ).fetchall()
    finally:
        store.close()
    found: dict[str, list[tuple]] = {}
    for op, *figures in rows:
        found.setdefault(op, []).append(tuple(figures))
    return found


def header_of(table: str) -> list[str]:
    """The column names of a `localgate usage` table."""
    line = next(line for line in table.splitlines() if "reqs" in line)
    return [word for word in line.split() if word not in "┃│"]


def recording(seconds: float) -> bytes:
    size = int(seconds * BYTES_PER_SECOND)
    return AUDIO_HEADER + b"\x01" * (size - len(AUDIO_HEADER))


async def test_images_count_in_the_ledger_and_usage(localgate, make_fake, config_path):
    client, work = await serving(localgate, make_fake)
    sdk = openai_sdk(client)
    made = await sdk.images.generate(model="gpt-image-1", prompt="three foxes", n=3)
    assert len(made.data) == 3
    stream = await sdk.images.generate(
        model="gpt-image-1", prompt="fox", stream=True, partial_images=2
    )
    kinds = [event.type async for event in stream]
    assert kinds.count("image_generation.partial_image") == 2  # previews: not counted
    edited = await sdk.images.edit(
        model="gpt-image-1", image=("fox.png", PNG + b"fox", "image/png"), prompt="blue"
    )
    assert len(edited.data) == 1
    await sdk.images.create_variation(model="dall-e-2", image=("fox.png", PNG, "image/png"), n=2)
    await post_messages(client)  # a chat request beside them counts no media
    await written(client)

    rows = rows_by_op(client)
    assert sorted(rows["image"]) == [(1, 0.0, 0, 10), (3, 0.0, 0, 10)]
    assert rows["image_edit"] == [(1, 0.0, 0, 10)]
    assert rows["image_variation"] == [(2, 0.0, 0, 10)]
    assert rows["messages"] == [(0, 0.0, 0, 10)]

    result = await run_cli(config_path, "usage", "--by", "model", "--json")
    report = json.loads(result.output)
    by_model = {r["model"]: r for r in report["rows"]}
    assert by_model["gpt-image-1"]["images"] == 5
    assert by_model["dall-e-2"]["images"] == 2
    assert by_model[HI["model"]]["images"] == 0
    assert report["total"]["images"] == 7
    assert report["total"]["audio_seconds"] == 0 and report["total"]["speech_characters"] == 0

    table = (await run_cli(config_path, "usage", "--by", "model")).output
    header = header_of(table)
    assert "images" in header
    assert "audio" not in header and "chars" not in header  # none used: no empty columns


async def test_images_the_responses_image_tool_made_count(localgate, make_fake, config_path):
    """The image_generation tool of a Responses request, whole and streamed: each
    finished picture counts as one image, as an images route's would."""
    work = await make_fake("openai", "work")
    client = await localgate([account("work", "openai", work.url, api="responses")])
    sdk = openai_sdk(client)
    picture = ("image/png", base64.b64encode(PNG + b"fox").decode())
    tools = [{"type": "image_generation"}]
    work.script(Reply(text="Two foxes:", media=[picture, picture]))
    whole = await sdk.responses.create(model="gpt-image-1", input="two foxes", tools=tools)
    assert [item.type for item in whole.output].count("image_generation_call") == 2
    work.script(Reply(text="A fox:", media=[picture]))
    stream = await sdk.responses.create(
        model="gpt-image-1", input="a fox", tools=tools, stream=True
    )
    kinds = [event.type async for event in stream]
    assert "response.image_generation_call.completed" in kinds
    await sdk.responses.create(model="gpt-image-1", input="no picture")  # counts none
    await written(client)

    assert sorted(rows_by_op(client)["responses"]) == [
        (0, 0.0, 0, 10),
        (1, 0.0, 0, 10),
        (2, 0.0, 0, 10),
    ]
    report = json.loads((await run_cli(config_path, "usage", "--json")).output)
    assert report["total"]["images"] == 3


async def test_audio_seconds_and_speech_characters(localgate, make_fake, config_path):
    client, work = await serving(localgate, make_fake)
    sdk = openai_sdk(client)
    verbose = await sdk.audio.transcriptions.create(
        model="whisper-1", file=("talk.mp3", recording(12.5), "audio/mpeg"),
        response_format="verbose_json",
    )  # fmt: skip
    assert verbose.duration == 12.5
    # whisper-1's `json` says only `usage: {type: duration, seconds}` (whole seconds).
    await sdk.audio.translations.create(
        model="whisper-1", file=("talk.mp3", recording(3.2), "audio/mpeg")
    )
    # Plain text says nothing of its length; gpt-4o-transcribe reports tokens.
    await sdk.audio.transcriptions.create(
        model="whisper-1", file=("a.mp3", recording(2), "audio/mpeg"), response_format="text"
    )
    await sdk.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("a.mp3", recording(2), "audio/mpeg")
    )
    spoken = "Hello there, général Kenobi!"
    work.script(Reply(text="audio"))
    async with sdk.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="alloy", input=spoken
    ) as response:
        assert (await response.read()).startswith(AUDIO_HEADER)
    await written(client)

    rows = rows_by_op(client)
    assert sorted(rows["transcribe"]) == [(0, 0.0, 0, 0), (0, 0.0, 0, 10), (0, 12.5, 0, 0)]
    assert rows["translate_audio"] == [(0, 4.0, 0, 0)]
    assert rows["speech"] == [(0, 0.0, len(spoken), 0)]

    result = await run_cli(config_path, "usage", "--json")
    total = json.loads(result.output)["total"]
    assert (total["images"], total["audio_seconds"], total["speech_characters"]) == (
        0,
        16.5,
        len(spoken),
    )
    table = (await run_cli(config_path, "usage")).output
    header = header_of(table)
    assert header[-2:] == ["audio", "chars"] and "images" not in header
    total = next(line for line in table.splitlines() if line.split()[:1] == ["total"])
    assert [w for w in total.split() if w not in "┃│"][-2:] == ["17s", str(len(spoken))]


async def test_streamed_transcription_counts_its_tokens_not_seconds(localgate, make_fake):
    client, work = await serving(localgate, make_fake)
    stream = await openai_sdk(client).audio.transcriptions.create(
        model="gpt-4o-mini-transcribe", file=("a.mp3", recording(1), "audio/mpeg"), stream=True
    )
    assert [e.type async for e in stream][-1] == "transcript.text.done"
    await written(client)
    assert rows_by_op(client)["transcribe"] == [(0, 0.0, 0, 10)]


async def test_a_failed_image_request_counts_no_images(localgate, make_fake):
    import openai

    from tests.fakes import Error

    client, work = await serving(localgate, make_fake)
    work.script(Error(400, "Your request was rejected by the safety system."))
    with pytest.raises(openai.BadRequestError):
        await openai_sdk(client).images.generate(model="dall-e-3", prompt="x", n=1)
    await written(client)
    assert rows_by_op(client)["image"] == [(0, 0.0, 0, 0)]


@pytest.mark.parametrize(
    "answer, seconds",
    [
        ({"duration": 8.47, "usage": {"type": "duration", "seconds": 9}}, 8.47),
        ({"text": "x", "usage": {"type": "duration", "seconds": 9}}, 9.0),
        ({"text": "x", "usage": {"type": "tokens", "input_tokens": 9}}, 0.0),
        ({"duration": -3}, 0.0),
        ({"duration": "12"}, 0.0),
        ({"duration": True}, 0.0),
        ({"duration": None, "usage": {"type": "duration", "seconds": 4}}, 4.0),
        (json.loads('{"duration": NaN}'), 0.0),
        (json.loads('{"duration": 1e400}'), MAX_SECONDS),  # infinity
        ({"duration": 10**400}, MAX_SECONDS),
        ({"usage": "duration"}, 0.0),
    ],
)
def test_junk_durations_are_no_seconds_or_bounded(answer, seconds):
    usage = UsageFigures()
    measure(AUDIO, usage, {}, answer)
    assert usage.audio_seconds == seconds


@pytest.mark.parametrize(
    "meter, body, answer, figures",
    [
        (IMAGES, {}, {"data": [{}, {}]}, (2, 0.0, 0)),
        (IMAGES, {}, {"data": "not a list"}, (0, 0.0, 0)),
        (IMAGES, {}, None, (0, 0.0, 0)),  # streamed: the tap counted
        (SPEECH, {"input": "héllo"}, None, (0, 0.0, 5)),
        (SPEECH, {"input": ["not", "text"]}, None, (0, 0.0, 0)),
    ],
)
def test_what_each_meter_reads(meter, body, answer, figures):
    usage = UsageFigures()
    measure(meter, usage, body, answer)
    assert (usage.images, usage.audio_seconds, usage.speech_characters) == figures
