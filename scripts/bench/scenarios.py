"""What gets measured: request kinds, each with its direct-to-upstream equivalent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scripts.bench import payloads

CHAT_PATH = "/v1/chat/completions"
MESSAGES_PATH = "/v1/messages"
RESPONSES_PATH = "/v1/responses"


class Routed:
    """What a scenario sends where: "direct" goes to the upstream's own path and body."""

    path: str
    body: Path
    direct_path: str
    direct_body: Path

    def url(self, system: str, base: str) -> str:
        return base + (self.direct_path if system == "direct" else self.path)

    def body_for(self, system: str) -> Path:
        return self.direct_body if system == "direct" else self.body


@dataclass(frozen=True)
class Scenario(Routed):
    """One kind of request: what a client sends and what the upstream itself would get.

    `direct_*` is the request measured against the upstream directly: for a
    translated scenario that is the OpenAI request localgate sends on.
    """

    name: str  # e.g. "openai-pass/small"
    mode: str  # "openai" | "anthropic" | "responses" | "translated"
    size: str
    path: str
    body: Path
    direct_path: str
    direct_body: Path
    translated: bool


@dataclass(frozen=True)
class StreamScenario(Routed):
    """A streaming request: the client's dialect and the upstream's."""

    name: str
    client: str
    upstream: str
    path: str
    body: Path
    direct_path: str
    direct_body: Path
    translated: bool


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / f"{name}.json"
    path.write_bytes(data)
    return path


def fixed_scenarios(folder: Path) -> list[Scenario]:
    """Passthrough in each dialect, Anthropic client → OpenAI account and Responses
    client → Anthropic account, small and large."""
    folder.mkdir(parents=True, exist_ok=True)
    found = []
    for size in payloads.SIZES:
        oai = _write(folder, f"openai-{size}", payloads.openai_request(size))
        anth = _write(folder, f"anthropic-{size}", payloads.anthropic_request(size))
        xl = _write(
            folder,
            f"translated-{size}",
            payloads.anthropic_request(size, model=payloads.OPENAI_MODEL),
        )
        resp = _write(folder, f"responses-{size}", payloads.responses_request(size))
        resp_xl = _write(
            folder,
            f"responses-translated-{size}",
            payloads.responses_request(size, model=payloads.ANTHROPIC_MODEL),
        )
        found += [
            Scenario(f"openai-pass/{size}", "openai", size, CHAT_PATH, oai, CHAT_PATH, oai, False),
            Scenario(
                f"anthropic-pass/{size}",
                "anthropic",
                size,
                MESSAGES_PATH,
                anth,
                MESSAGES_PATH,
                anth,
                False,
            ),
            Scenario(
                f"translated/{size}", "translated", size, MESSAGES_PATH, xl, CHAT_PATH, oai, True
            ),
            Scenario(
                f"responses-pass/{size}", "responses", size, RESPONSES_PATH, resp, RESPONSES_PATH,
                resp, False,
            ),
            Scenario(
                f"responses-translated/{size}", "translated", size, RESPONSES_PATH, resp_xl,
                MESSAGES_PATH, anth, True,
            ),
        ]
    return found


def stream_scenarios(folder: Path) -> list[StreamScenario]:
    """Streams: passthrough in each dialect, Anthropic client ← OpenAI stream and
    Responses client ← Anthropic stream."""
    folder.mkdir(parents=True, exist_ok=True)
    model_o, model_a = payloads.OPENAI_STREAM_MODEL, payloads.ANTHROPIC_STREAM_MODEL
    oai = _write(
        folder, "stream-openai", payloads.openai_request("small", model=model_o, stream=True)
    )
    anth = _write(
        folder, "stream-anthropic", payloads.anthropic_request("small", model=model_a, stream=True)
    )
    xl = _write(
        folder,
        "stream-translated",
        payloads.anthropic_request("small", model=model_o, stream=True),
    )
    model_r = payloads.RESPONSES_STREAM_MODEL
    resp = _write(
        folder, "stream-responses", payloads.responses_request("small", model=model_r, stream=True)
    )
    resp_xl = _write(
        folder,
        "stream-responses-translated",
        payloads.responses_request("small", model=model_a, stream=True),
    )
    return [
        StreamScenario("openai-pass", "openai", "openai", CHAT_PATH, oai, CHAT_PATH, oai, False),
        StreamScenario(
            "anthropic-pass",
            "anthropic",
            "anthropic",
            MESSAGES_PATH,
            anth,
            MESSAGES_PATH,
            anth,
            False,
        ),
        StreamScenario(
            "translated", "anthropic", "openai", MESSAGES_PATH, xl, CHAT_PATH, oai, True
        ),
        StreamScenario(
            "responses-pass", "responses", "responses", RESPONSES_PATH, resp, RESPONSES_PATH,
            resp, False,
        ),
        StreamScenario(
            "responses-translated", "responses", "anthropic", RESPONSES_PATH, resp_xl,
            MESSAGES_PATH, anth, True,
        ),
    ]
