"""Operations a client asks for, and what each one needs from the shared machinery.

A route names an operation. The operation says how its request is read (a JSON
body or a multipart form), how its answer travels (a JSON body, the dialect's
event stream, or bytes relayed as they come) and what it becomes on an account
of another dialect. Each provider says which operations it reaches for a model
(`Provider.operations`) and how (`Provider.call`). Everything else — the attempt
loop, failover before the first byte, cooldowns, limits, the ledger row, the
request log and the error dialect — is the gateway's, the same for all of them.

Adding a route: a constant and an `Operation` here, an inspector in
`localgate.inspect`, a line in the handlers' route table, and the path (or the
"cannot") in the providers that serve it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from localgate.dialects import media
from localgate.providers.base import CHAT, COMPACT, COUNT_TOKENS, GENERATE, MESSAGES, RESPONSES

EMBED = "embed"  # OpenAI POST /v1/embeddings
EMBED_CONTENT = "embed_content"  # Gemini :embedContent
BATCH_EMBED = "batch_embed"  # Gemini :batchEmbedContents
COMPLETE = "complete"  # OpenAI legacy POST /v1/completions
IMAGE = "image"  # OpenAI POST /v1/images/generations
IMAGE_EDIT = "image_edit"  # OpenAI POST /v1/images/edits (multipart)
IMAGE_VARIATION = "image_variation"  # OpenAI POST /v1/images/variations (multipart)
SPEECH = "speech"  # OpenAI POST /v1/audio/speech (binary answer)
TRANSCRIBE = "transcribe"  # OpenAI POST /v1/audio/transcriptions (multipart)
TRANSLATE_AUDIO = "translate_audio"  # OpenAI POST /v1/audio/translations (multipart)
RERANK = "rerank"  # Cohere/Jina POST /v1/rerank
MODERATE = "moderate"  # OpenAI POST /v1/moderations
REALTIME = "realtime"  # OpenAI GET /v1/realtime (WebSocket)


@dataclass(frozen=True, slots=True)
class Operation:
    """How one operation travels; the gateway reads these, never the op's name."""

    name: str
    multipart: bool = False  # the body is a form, spooled and streamed upstream as it came
    # The answer is relayed as bytes as it arrives (audio, a text transcript, an
    # event stream of the upstream's own), unless it is a JSON body.
    media: bool = False
    socket: bool = False  # a WebSocket, relayed both ways
    # What it uses beyond tokens, counted into the ledger (localgate.dialects.media).
    meter: str = ""
    # Where OpenAI-compatible accounts serve it, under their base_url.
    openai_path: str = ""
    # upstream dialect → the operation it becomes there, for clients of another dialect
    translated: Mapping[str, str] = field(default_factory=dict)
    # Its checks read most of its body (an embeddings input, a rerank's documents):
    # read whole at the door in one pass, not member by member (localgate.door).
    read_whole: bool = False


# The generation operation each dialect's upstreams speak.
GENERATION_OP = {"anthropic": MESSAGES, "openai": CHAT, "gemini": GENERATE, "responses": RESPONSES}
# Operations whose wire is the account's generation API; the others travel in
# their own (an OpenAI account embeds at /embeddings whichever API it chats with).
GENERATION_OPS = frozenset((*GENERATION_OP.values(), COMPACT, COUNT_TOKENS))
_GEMINI_EMBED = {"openai": EMBED}

OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(MESSAGES, translated=GENERATION_OP),
        Operation(CHAT, translated=GENERATION_OP),
        Operation(GENERATE, translated=GENERATION_OP),
        Operation(RESPONSES, translated=GENERATION_OP),
        # A compaction is a summary the serving model writes.
        Operation(COMPACT, translated=GENERATION_OP),
        # Counted by whichever counter the account has: Gemini's :countTokens,
        # Anthropic's count_tokens (also Claude on Vertex), Responses' input_tokens.
        Operation(
            COUNT_TOKENS,
            translated={d: COUNT_TOKENS for d in ("gemini", "anthropic", "responses")},
        ),
        Operation(
            EMBED, openai_path="/embeddings", translated={"gemini": BATCH_EMBED}, read_whole=True
        ),
        Operation(EMBED_CONTENT, translated=_GEMINI_EMBED, read_whole=True),
        Operation(BATCH_EMBED, translated=_GEMINI_EMBED, read_whole=True),
        # Through chat on other kinds: a prompt is one user message.
        Operation(
            COMPLETE,
            openai_path="/completions",
            translated={"anthropic": MESSAGES, "gemini": GENERATE, "responses": RESPONSES},
            read_whole=True,
        ),
        Operation(IMAGE, media=True, meter=media.IMAGES, openai_path="/images/generations"),
        Operation(
            IMAGE_EDIT, multipart=True, media=True, meter=media.IMAGES, openai_path="/images/edits"
        ),
        Operation(
            IMAGE_VARIATION,
            multipart=True,
            media=True,
            meter=media.IMAGES,
            openai_path="/images/variations",
        ),
        Operation(SPEECH, media=True, meter=media.SPEECH, openai_path="/audio/speech"),
        Operation(
            TRANSCRIBE,
            multipart=True,
            media=True,
            meter=media.AUDIO,
            openai_path="/audio/transcriptions",
        ),
        Operation(
            TRANSLATE_AUDIO,
            multipart=True,
            media=True,
            meter=media.AUDIO,
            openai_path="/audio/translations",
        ),
        Operation(RERANK, openai_path="/rerank", read_whole=True),
        Operation(MODERATE, openai_path="/moderations", read_whole=True),
        Operation(REALTIME, socket=True, openai_path="/realtime"),
    )
}
# What OpenAI-compatible accounts reach by relaying to `openai_path`, whichever
# API they generate with.
OPENAI_RELAYED = frozenset(op.name for op in OPERATIONS.values() if op.openai_path)


def get(name: str) -> Operation:
    """The operation `name` (KeyError for one no route names)."""
    return OPERATIONS[name]


def upstream_dialect(provider, model: str, req) -> str:
    """The dialect request `req` travels in to `provider` for `model`.

    Generation (and counting) go in the account's API for the client's dialect
    (`Provider.upstream_dialect`); the OpenAI routes beyond it keep OpenAI's own
    wire on an account that generates with Responses.
    """
    upstream = provider.upstream_dialect(model, req.dialect)
    if upstream == "responses" and req.op not in GENERATION_OPS:
        return "openai"
    return upstream


def upstream_op(op: str, client: str, upstream: str) -> str | None:
    """The operation a request becomes on an account speaking `upstream`; None when it
    cannot travel there."""
    if client == upstream:
        return op
    return OPERATIONS[op].translated.get(upstream)


def translator(op: str, client: str, upstream: str):
    """The translator of one `op` request from `client`'s dialect to `upstream`'s."""
    if op == COUNT_TOKENS:
        from localgate.translate.count import counter

        return counter(client, upstream)
    if op in (EMBED, EMBED_CONTENT, BATCH_EMBED):
        from localgate.translate.embeddings import embedder

        return embedder(op, client, upstream)
    if op == COMPLETE:
        from localgate.translate.completions import CompletionTranslator

        return CompletionTranslator(upstream)
    from localgate.translate import translator as generation

    return generation(client, upstream, compact=op == COMPACT)
