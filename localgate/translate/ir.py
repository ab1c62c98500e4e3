"""The internal form every dialect translates to and from.

A request travels client dialect → `Request` → upstream dialect; an answer
travels upstream dialect → `Response` (or stream events) → client dialect.
Tool ids and names in the IR are the upstream's own, unencoded: each dialect
module applies its wire rules (Anthropic id charset, name limits) at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Stop reasons use Anthropic's vocabulary, the richest of the three.
StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn"]


@dataclass
class Text:
    text: str


@dataclass
class Image:
    """An image, inline (base64 `data`) or by `url`."""

    media_type: str | None = None
    data: str | None = None
    url: str | None = None

    @property
    def link(self) -> str:
        """Its URL, or its bytes as a data: URL (how the OpenAI wires take an image)."""
        return self.url or f"data:{self.media_type or 'image/png'};base64,{self.data}"


@dataclass
class Document:
    """A document: base64 `data` (PDF…), a `url`, or plain `text`."""

    media_type: str | None = None
    data: str | None = None
    url: str | None = None
    text: str | None = None
    title: str | None = None

    @property
    def data_url(self) -> str:
        """Its bytes as a data: URL (how the OpenAI wires take a file)."""
        return f"data:{self.media_type or 'application/pdf'};base64,{self.data}"


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict


@dataclass
class ToolResult:
    id: str
    name: str
    content: list[Part]
    is_error: bool = False


@dataclass
class Thinking:
    """Reasoning text. `origin` is the dialect whose upstream issued `signature`."""

    text: str
    signature: str | None = None
    origin: str | None = None


@dataclass
class RedactedThinking:
    data: str


Part = Text | Image | Document | ToolCall | ToolResult | Thinking | RedactedThinking


@dataclass
class Message:
    role: Literal["user", "assistant", "system"]
    parts: list[Part]


@dataclass
class Tool:
    """A tool the model may call. Names are flat: a namespaced tool is
    `namespace` + NAMESPACE_SEPARATOR + its own name, split again for clients
    that group tools (Responses)."""

    name: str
    description: str | None
    schema: dict
    # "function": JSON arguments. "custom": one free-form string (Responses'
    # freeform tools such as Codex's apply_patch), carried in the IR as a
    # function whose only argument is CUSTOM_INPUT, for providers without them.
    kind: Literal["function", "custom"] = "function"
    format: dict | None = None  # a custom tool's input format (grammar), as the client sent it
    namespace: str | None = None


NAMESPACE_SEPARATOR = "__"
CUSTOM_INPUT = "input"  # the one argument of a custom tool seen as a function


def custom_tool_schema(tool_format: dict | None) -> dict:
    """The JSON schema of a custom (free-form) tool offered as a function."""
    description = "The raw input for this tool, as one string."
    if isinstance(tool_format, dict) and tool_format.get("type") == "grammar":
        syntax = tool_format.get("syntax", "")
        description += (
            f" It must follow this {syntax} grammar:\n{tool_format.get('definition', '')}"
        )
    return {
        "type": "object",
        "properties": {CUSTOM_INPUT: {"type": "string", "description": description}},
        "required": [CUSTOM_INPUT],
    }


@dataclass
class WebSearch:
    """The client asked for the provider's own web search (a hosted tool)."""

    allowed_domains: list[str] = field(default_factory=list)
    user_location: dict | None = None
    context_size: str | None = None  # low | medium | high


@dataclass
class ToolChoice:
    mode: Literal["auto", "any", "tool", "none"] = "auto"
    name: str | None = None
    parallel: bool | None = None  # None: the upstream's default
    allowed: list[str] | None = None  # only these tools may be called (None: any tool)


@dataclass
class ResponseFormat:
    type: Literal["text", "json_object", "json_schema"]
    schema: dict | None = None
    name: str | None = None
    strict: bool | None = None


@dataclass
class Reasoning:
    """What the client asked of thinking: on/off, an effort word, or a token budget."""

    enabled: bool = True
    effort: str | None = None  # minimal | low | medium | high | max …
    budget: int | None = None
    adaptive: bool = False  # the model decides how much (Anthropic adaptive, Gemini -1)
    summary: str | None = None  # Responses: auto | concise | detailed


@dataclass
class Request:
    system: list[Text] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] = field(default_factory=list)
    response_format: ResponseFormat | None = None
    reasoning: Reasoning | None = None
    user: str | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    include_usage: bool = False  # OpenAI clients: stream_options.include_usage
    # Whether the client reads reasoning it did not ask for (OpenAI clients read
    # `reasoning_content` as it comes; Anthropic and Gemini clients only asked).
    show_thinking: bool = True
    web_search: WebSearch | None = None
    # Responses: the answer is a compaction of the conversation (a summary the
    # serving model writes), not a message; see translate/compaction.py.
    compact: bool = False
    # Client fields the internal form cannot hold, noted by the reader; the
    # translator reports them with what the writer drops (Context.dropped).
    dropped: list[str] = field(default_factory=list)


@dataclass
class Usage:
    """Token counts with Anthropic's meaning: `input_tokens` excludes cached input."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0  # part of output_tokens, when the upstream says

    @property
    def prompt_tokens(self) -> int:
        """All input, cached or not (OpenAI's and Gemini's meaning)."""
        return self.input_tokens + self.cache_read_tokens + self.cache_creation_tokens

    @property
    def total(self) -> int:
        """Every token of the request, as dialects.usage.Usage.total counts them."""
        return self.prompt_tokens + self.output_tokens


@dataclass
class Response:
    id: str
    model: str
    parts: list[Part]
    stop_reason: StopReason | None
    usage: Usage
    stop_sequence: str | None = None


# --- stream events ---------------------------------------------------------


@dataclass
class Start:
    id: str
    model: str
    usage: Usage


@dataclass
class TextDelta:
    text: str


@dataclass
class ThinkingDelta:
    text: str


@dataclass
class SignatureDelta:
    """A signature for the open thinking block (or a new empty one)."""

    signature: str
    origin: str


@dataclass
class RedactedThinkingBlock:
    data: str


@dataclass
class ToolCallStart:
    key: object  # identifies the call among this stream's calls
    id: str
    name: str


@dataclass
class ToolArgsDelta:
    key: object
    fragment: str


@dataclass
class BlockStop:
    """The upstream closed its current block (the next delta opens a new one)."""


@dataclass
class UsageUpdate:
    usage: Usage  # cumulative snapshot


@dataclass
class Finish:
    stop_reason: StopReason | None
    stop_sequence: str | None = None


@dataclass
class UpstreamFailure:
    """The upstream reported an error inside its stream."""

    status: int
    message: str


StreamEvent = (
    Start
    | TextDelta
    | ThinkingDelta
    | SignatureDelta
    | RedactedThinkingBlock
    | ToolCallStart
    | ToolArgsDelta
    | BlockStop
    | UsageUpdate
    | Finish
    | UpstreamFailure
)


@dataclass
class Context:
    """What one translation knows about its request, shared by both directions."""

    client: str
    upstream: str
    model: str  # the upstream model name
    client_model: str = ""  # the name the client asked for; Anthropic answers repeat it
    stream: bool = False
    include_usage: bool = False
    show_thinking: bool = True  # the client reads reasoning (Request.show_thinking)
    account: str = ""  # the serving account: reasoning state is sealed to it
    seal_key: bytes = b""  # localgate's own key for what it signs (compaction summaries)
    tools: dict[str, Tool] = field(default_factory=dict)  # the request's tools by IR name
    compact: str | None = None  # "trigger" (a streamed turn) or "endpoint" (/responses/compact)
    # Request fields the upstream could not honour and that were left out, in the
    # client's own names: the response says so in `x-localgate-dropped`.
    dropped: list[str] = field(default_factory=list)
    # IR field name → the client's name for it (`seed` → `generationConfig.seed`),
    # so writers drop in the IR's words and the client reads its own.
    field_names: dict[str, str] = field(default_factory=dict)

    def drop(self, name: str) -> None:
        """Note that the client's field `name` (or the IR field of that name) was
        left out or not honoured as sent (clamped), once, in order."""
        name = self.field_names.get(name, name)
        if name not in self.dropped:
            self.dropped.append(name)


def resolve_tool_names(request: Request) -> None:
    """Fill tool results' names from the calls earlier in the conversation.

    Anthropic and OpenAI results carry only the call id; Gemini needs the name.
    """
    names: dict[str, str] = {}
    for message in request.messages:
        for part in message.parts:
            if isinstance(part, ToolCall):
                names[part.id] = part.name
            elif isinstance(part, ToolResult) and not part.name:
                part.name = names.get(part.id, "")


def allowed_tools(request: Request) -> list[Tool]:
    """The tools the model may call: all, or those `tool_choice.allowed` names.

    For targets without an allowed list, declaring only those is the same rule.
    """
    allowed = request.tool_choice.allowed if request.tool_choice else None
    if allowed is None:
        return request.tools
    return [tool for tool in request.tools if tool.name in allowed]


def text_of(parts: list[Part]) -> str:
    """The text parts joined, for targets that only take a string."""
    return "\n".join(p.text for p in parts if isinstance(p, Text | Document) and p.text)


# Effort words ⇄ thinking budgets, for dialects that speak only one of them.
EFFORT_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576, "max": 32000}


def budget_for(reasoning: Reasoning) -> int:
    """A thinking token budget for what the client asked."""
    if reasoning.budget:
        return reasoning.budget
    return EFFORT_BUDGETS.get(reasoning.effort or "medium", EFFORT_BUDGETS["high"])


def effort_for(reasoning: Reasoning) -> str:
    """An effort word (low | medium | high) for what the client asked."""
    if reasoning.effort in ("minimal", "low", "medium", "high"):
        return reasoning.effort
    if reasoning.effort:  # xhigh, max…
        return "high"
    if reasoning.budget is None:
        return "medium"
    if reasoning.budget < 4096:
        return "low"
    return "medium" if reasoning.budget < 16384 else "high"
