"""What each operation beyond generation needs from a request, and the checks on it.

An inspector reads the model, the stream flag and the session from a parsed
JSON body or from a form's text fields, and refuses with a 400 what no
upstream could take — before any upstream is called. The model travels in
the URL for Gemini's methods (`url_model`) and in the query for realtime.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from localgate import dialects
from localgate import operations as ops
from localgate.dialects.common import Inspected, field
from localgate.errors import InvalidRequest
from localgate.providers.base import COUNT_TOKENS

# (body or form fields, request headers, the model named by the URL) → Inspected
Inspector = Callable[[Mapping, Mapping[str, str], "str | None"], Inspected]


def _model(body: dict) -> str:
    model = field(body, "model", str, required=True)
    if not model.strip():
        raise InvalidRequest("model: must name a model (localgate routes by it)", param="model")
    return model


def _stream(body: dict) -> bool:
    return bool(field(body, "stream", bool))


def _session(body: dict) -> str | None:
    user = body.get("user")
    return user if isinstance(user, str) and user else None


def _is_tokens(value) -> bool:
    return isinstance(value, list) and all(
        isinstance(t, int) and not isinstance(t, bool) for t in value
    )


def _prompt_list(body: dict, name: str) -> None:
    """A string, a list of strings, a token array or a list of token arrays; never empty."""
    value = body.get(name)
    if value is None:
        raise InvalidRequest(f"{name}: field required", param=name)
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list) and value:
        items = value if not _is_tokens(value) else [value]
    else:
        raise InvalidRequest(
            f"{name}: expected a string, a non-empty array of strings, or token arrays",
            param=name,
        )
    for item in items:
        if not (isinstance(item, str) or (_is_tokens(item) and item)):
            raise InvalidRequest(
                f"{name}: every item must be a string or a non-empty array of token ids",
                param=name,
            )


def embeddings(body: dict, headers: Mapping[str, str], url_model: str | None) -> Inspected:
    model = _model(body)
    _prompt_list(body, "input")
    if any(item == "" for item in _as_list(body["input"])):
        raise InvalidRequest("input: empty strings cannot be embedded", param="input")
    dimensions = field(body, "dimensions", int)
    if dimensions is not None and dimensions <= 0:
        raise InvalidRequest("dimensions: must be a positive integer", param="dimensions")
    encoding = field(body, "encoding_format", str)
    if encoding not in (None, "float", "base64"):
        raise InvalidRequest(
            "encoding_format: expected 'float' or 'base64'", param="encoding_format"
        )
    return Inspected(model, False, _session(body))


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _content(value, name: str) -> None:
    if not isinstance(value, dict) or not isinstance(value.get("parts"), list):
        raise InvalidRequest(f"{name}: expected a Content object with `parts`", param=name)


def _dimensionality(body: dict) -> None:
    dims = field(body, "outputDimensionality", int)
    if dims is not None and dims <= 0:
        raise InvalidRequest("outputDimensionality: must be a positive integer")


def embed_content(body: dict, headers: Mapping[str, str], url_model: str | None) -> Inspected:
    _content(body.get("content"), "content")
    _dimensionality(body)
    return Inspected(url_model or "", False, None)


def batch_embed(body: dict, headers: Mapping[str, str], url_model: str | None) -> Inspected:
    requests = field(body, "requests", list, required=True)
    if not requests:
        raise InvalidRequest("requests: must hold at least one request", param="requests")
    for i, request in enumerate(requests):
        if not isinstance(request, dict):
            raise InvalidRequest(f"requests[{i}]: expected an object")
        _content(request.get("content"), f"requests[{i}].content")
        _dimensionality(request)
        named = request.get("model")
        if named is not None and str(named).removeprefix("models/") != url_model:
            raise InvalidRequest(
                f"requests[{i}].model: '{named}' differs from the model in the URL "
                f"('models/{url_model}'); every request of a batch must name the URL's model"
            )
    return Inspected(url_model or "", False, None)


def count_tokens(body: dict, headers: Mapping[str, str], url_model: str | None) -> Inspected:
    """Gemini's :countTokens: `contents`, or a whole `generateContentRequest`."""
    wrapped = field(body, "generateContentRequest", dict)
    if wrapped is not None:
        field(wrapped, "contents", list, required=True)
    else:
        field(body, "contents", list, required=True)
    return Inspected(url_model or "", False, None)


def completions(body: dict, headers: Mapping[str, str], url_model: str | None) -> Inspected:
    model = _model(body)
    _prompt_list(body, "prompt")
    return Inspected(model, _stream(body), _session(body))


def images(body: dict, headers: Mapping[str, str], url_model: str | None) -> Inspected:
    model = _model(body)
    field(body, "prompt", str, required=True)
    return Inspected(model, _stream(body), _session(body))


def speech(body: dict, headers: Mapping[str, str], url_model: str | None) -> Inspected:
    model = _model(body)
    field(body, "input", str, required=True)
    field(body, "voice", (str, dict), required=True)
    return Inspected(model, body.get("stream_format") == "sse", None)


def rerank(body: dict, headers: Mapping[str, str], url_model: str | None) -> Inspected:
    model = _model(body)
    field(body, "query", str, required=True)
    documents = field(body, "documents", list, required=True)
    if not documents:
        raise InvalidRequest("documents: must hold at least one document", param="documents")
    return Inspected(model, False, None)


def moderations(body: dict, headers: Mapping[str, str], url_model: str | None) -> Inspected:
    model = _model(body)
    value = body.get("input")  # a string, strings, or text and image parts
    if not (isinstance(value, str) or (isinstance(value, list) and value)):
        raise InvalidRequest("input: expected a string or a non-empty array", param="input")
    return Inspected(model, False, None)


def form(*files: str, prompt: bool = False):
    """An inspector of a multipart form: a `model` field and one of the file parts `files`."""

    def inspect(body: dict, headers: Mapping[str, str], url_model: str | None) -> Inspected:
        model = _model(body)
        if not set(files) & set(getattr(body, "files", ())):
            raise InvalidRequest(
                f"{files[0]}: a file part is required", param=files[0].removesuffix("[]")
            )
        if prompt and not body.get("prompt"):
            raise InvalidRequest("prompt: field required", param="prompt")
        stream = str(body.get("stream", "")).lower() == "true"
        return Inspected(model, stream, None)

    return inspect


def realtime(body: dict, headers: Mapping[str, str], url_model: str | None) -> Inspected:
    if not url_model:
        raise InvalidRequest("the realtime socket needs ?model= in its URL", param="model")
    return Inspected(url_model, True, None)


# (client dialect, operation) → its inspector, beyond the dialect modules' own
INSPECTORS: Mapping[tuple[str, str], Inspector] = {
    ("openai", ops.EMBED): embeddings,
    ("gemini", ops.EMBED_CONTENT): embed_content,
    ("gemini", ops.BATCH_EMBED): batch_embed,
    ("gemini", COUNT_TOKENS): count_tokens,
    ("openai", ops.COMPLETE): completions,
    ("openai", ops.IMAGE): images,
    ("openai", ops.IMAGE_EDIT): form("image", "image[]", prompt=True),
    ("openai", ops.IMAGE_VARIATION): form("image"),
    ("openai", ops.SPEECH): speech,
    ("openai", ops.TRANSCRIBE): form("file"),
    ("openai", ops.TRANSLATE_AUDIO): form("file"),
    ("openai", ops.RERANK): rerank,
    ("openai", ops.MODERATE): moderations,
    ("openai", ops.REALTIME): realtime,
}


def inspector(dialect: str, op: str) -> Inspector:
    """The inspector of `op` requests in `dialect`: one of the table's, or the
    dialect module's own (generation and Anthropic's count_tokens)."""
    if (dialect, op) in INSPECTORS:
        return INSPECTORS[dialect, op]
    module = dialects.get(dialect)
    return lambda body, headers, url_model: module.inspect(op, body, headers)
