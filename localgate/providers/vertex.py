"""Vertex AI accounts: Gemini and Claude models in a Google Cloud project.

One account serves two publishers behind one Bearer token: Google's Gemini
models in the Gemini dialect (`:generateContent`, `:streamGenerateContent?alt=sse`,
counted by `:countTokens`) and Anthropic's Claude models in the Messages dialect (`:rawPredict`,
`:streamRawPredict`, counted by `count-tokens:rawPredict`). Claude bodies go
without `model` (it is in the URL) and with Vertex's `anthropic_version`; betas
stay in the `anthropic-beta` header. Claude Code sends public names
(`claude-sonnet-4-5`): `MODEL_IDS` maps them to Vertex ids
(`claude-sonnet-4-5@20250929`), and the account's `model_ids` table overrides it.

Errors are Google's: a 429 `RESOURCE_EXHAUSTED` is read exactly as the Gemini
API's (RetryInfo, QuotaFailure, daily quotas).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from urllib.parse import quote

from localgate import operations as ops
from localgate.dialects.common import error_message
from localgate.errors import ConfigError
from localgate.pool.failures import Failure, FailureKind
from localgate.providers.base import (
    COUNT_TOKENS,
    MESSAGES,
    Provider,
    UpstreamCall,
)
from localgate.providers.gemini import GEMINI_OPERATIONS, GeminiProvider
from localgate.providers.vertex_embed import embed_answer, embed_request

API_VERSION = "v1"
FORBIDDEN_MODEL_REST = 3600.0  # seconds a model the project may not call rests
DEFAULT_REGION = "global"
ANTHROPIC_VERSION = "vertex-2023-10-16"
CHECK_GEMINI_MODEL = "gemini-2.5-flash"  # countTokens on it is free: a cheap live check
CHECK_CLAUDE_MODEL = "claude-haiku-4-5"
# Public Claude names → Vertex model ids. Dated public names ("…-20250929")
# are mapped by rule; names that already carry "@" pass through.
MODEL_IDS: Mapping[str, str] = {
    "claude-opus-4-5": "claude-opus-4-5@20251101",
    "claude-haiku-4-5": "claude-haiku-4-5@20251001",
    "claude-sonnet-4-5": "claude-sonnet-4-5@20250929",
    "claude-opus-4-1": "claude-opus-4-1@20250805",
    "claude-opus-4": "claude-opus-4@20250514",
    "claude-sonnet-4": "claude-sonnet-4@20250514",
    "claude-3-7-sonnet": "claude-3-7-sonnet@20250219",
    "claude-3-5-haiku": "claude-3-5-haiku@20241022",
    "claude-3-5-sonnet-v2": "claude-3-5-sonnet-v2@20241022",
    "claude-3-5-sonnet-20241022": "claude-3-5-sonnet-v2@20241022",  # the rule would drop v2
}
_DATED = re.compile(r"^(claude-.+)-(\d{8})$")
# Betas Anthropic's API takes but Vertex answers with a 400 "Unexpected value(s)
# `…` for the `anthropic-beta` header" — Claude Code sends several (reported in
# anthropics/claude-code#12429 and #34802, claude-agent-sdk-typescript#307,
# BerriAI/litellm#19984, vercel/ai#10981). Left out from the start; any other
# beta Vertex refuses is learned from its 400 and the request resent without it.
REFUSED_BETAS = frozenset(
    {
        "prompt-caching-scope-2026-01-05",
        "effort-2025-11-24",
        "adaptive-thinking-2026-01-28",
        "web-search-2025-03-05",
        "tool-search-tool-2025-10-19",
        "structured-outputs-2025-11-13",
    }
)
_REFUSED_BETA_MESSAGE = re.compile(r"Unexpected value\(s\) (.+?) for the `anthropic-beta` header")


class VertexProvider(Provider):
    name = "vertex"
    renames_models = True  # Claude answers name `claude-…@date`; clients asked otherwise

    def __init__(self, account, credential):
        super().__init__(account, credential)
        self.refused_betas = set(REFUSED_BETAS)  # grows with what this project refuses
        self.quota_project = _quota_project(credential.secret)

    def _auth_headers(self, token: str) -> dict[str, str]:
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        if self.quota_project:  # `gcloud auth application-default set-quota-project`
            headers["x-goog-user-project"] = self.quota_project
        return headers

    @classmethod
    def credential_for(cls, account, read=None):
        """The account's Google login from the keyring, as a refreshing credential."""
        from localgate.google.credential import GoogleCredential, google_credentials, parse_info
        from localgate.secrets import resolve_secret

        if not account.extra.get("project"):
            raise ConfigError(
                f"account {account.name!r} has no `project`: run localgate accounts add "
                f"{account.name} --provider vertex --project P --region R --replace"
            )
        where = f"the stored login of account {account.name!r}"
        secret = resolve_secret(account, read)
        info = parse_info(secret, where)
        from localgate.google.transport import Request

        return GoogleCredential(
            secret,
            google_credentials(info, where),
            account=account.name,
            relogin=relogin_command(account),
            transport=Request(proxy=account.proxy),  # token refreshes take the account's proxy
        )

    @property
    def project(self) -> str:
        return str(self.account.extra["project"])

    @property
    def region(self) -> str:
        return str(self.account.extra.get("region") or DEFAULT_REGION)

    @property
    def base_url(self) -> str:
        if self.account.base_url:
            return self.account.base_url.rstrip("/")
        if self.region == "global":
            return "https://aiplatform.googleapis.com"
        return f"https://{self.region}-aiplatform.googleapis.com"

    def model_id(self, model: str) -> str:
        """The Vertex id of `model`: the account's `model_ids`, the built-in table, a rule."""
        overrides = self.account.extra.get("model_ids") or {}
        if model in overrides:
            return str(overrides[model])
        if model in MODEL_IDS:
            return MODEL_IDS[model]
        dated = _DATED.match(model)
        return f"{dated.group(1)}@{dated.group(2)}" if dated else model

    def publisher(self, model: str) -> str:
        return "anthropic" if self.model_id(model).startswith("claude") else "google"

    def dialect_for(self, model: str) -> str:
        return "anthropic" if self.publisher(model) == "anthropic" else "gemini"

    def operations(self, model: str) -> frozenset[str]:
        # Both publishers count: Claude's count-tokens:rawPredict, Gemini's :countTokens.
        if self.publisher(model) == "anthropic":
            return frozenset((MESSAGES, COUNT_TOKENS))
        return GEMINI_OPERATIONS

    def model_url(self, publisher: str, model_id: str, method: str) -> str:
        """`{base}/v1/projects/P/locations/R/publishers/X/models/ID:METHOD`."""
        return (
            f"{self.base_url}/{API_VERSION}/projects/{quote(self.project, safe='')}"
            f"/locations/{quote(self.region, safe='')}/publishers/{publisher}"
            f"/models/{quote(model_id, safe='-._@')}:{method}"
        )

    async def call(self, op, model, body, *, stream, client_headers):
        headers = self._auth_headers(await self.credential.token())
        model_id = self.model_id(model)
        if self.publisher(model) == "google":
            if op == COUNT_TOKENS:
                # CountTokensRequest takes contents, systemInstruction and tools at the
                # top level: the Gemini API's `generateContentRequest` is unwrapped.
                method = "countTokens"
                body = _count_body(body)
            elif op in (ops.EMBED_CONTENT, ops.BATCH_EMBED):
                method, body = embed_request(op, model_id, body)
            else:
                method = "streamGenerateContent?alt=sse" if stream else "generateContent"
            url = self.model_url("google", model_id.removeprefix("models/"), method)
        elif op == COUNT_TOKENS:
            # No betas: the counter refuses some the model routes take, and none
            # changes a count.
            url = self.model_url("anthropic", "count-tokens", "rawPredict")
            body = _claude_body(body, model_id)
        else:
            betas = self.betas(client_headers.get("anthropic-beta", ""))
            if betas:
                headers["anthropic-beta"] = betas
            method = "streamRawPredict" if stream else "rawPredict"
            url = self.model_url("anthropic", model_id, method)
            body = _claude_body(body, None)
        if stream:
            headers["accept"] = "text/event-stream"
        return UpstreamCall("POST", url, headers, body)

    def answer(self, op: str, model: str, data: dict) -> dict:
        """Vertex's embedding answers (`:embedContent`, `:predict`) in the Gemini API's shape."""
        if op in (ops.EMBED_CONTENT, ops.BATCH_EMBED):
            return embed_answer(op, data)
        return data

    def betas(self, header: str) -> str:
        """The client's `anthropic-beta` values that Vertex takes, comma-separated."""
        kept = [b.strip() for b in header.split(",") if b.strip()]
        return ",".join(b for b in kept if b not in self.refused_betas)

    async def check_call(self) -> UpstreamCall:
        """A token count (free): proves the login, the project, the region and the API."""
        from fnmatch import fnmatchcase

        headers = self._auth_headers(await self.credential.token())
        patterns = self.account.model_patterns
        if any(fnmatchcase(CHECK_GEMINI_MODEL, p) for p in patterns):
            url = self.model_url("google", self.model_id(CHECK_GEMINI_MODEL), "countTokens")
            body = {"contents": [{"role": "user", "parts": [{"text": "ping"}]}]}
        else:
            url = self.model_url("anthropic", "count-tokens", "rawPredict")
            # A model the account names, when it names one: the project may have
            # enabled only those.
            named = [p for p in patterns if p.startswith("claude-") and "*" not in p]
            body = {
                "anthropic_version": ANTHROPIC_VERSION,
                "model": self.model_id(named[0] if named else CHECK_CLAUDE_MODEL),
                "messages": [{"role": "user", "content": "ping"}],
            }
        return UpstreamCall("POST", url, headers, json.dumps(body).encode())

    async def models_call(self) -> None:
        """Vertex lists publisher models per publisher and region, not what a project
        may call: /v1/models shows the names the id table knows instead."""
        return None

    def known_models(self) -> tuple[str, ...]:
        return tuple({**MODEL_IDS, **(self.account.extra.get("model_ids") or {})})

    def classify(self, status: int, headers: Mapping[str, str], body: bytes) -> Failure | None:
        if status == 401:
            # The access token was refused: the next attempt refreshes it, and a
            # refresh refused for good marks the account invalid then.
            self.credential.invalidate()
            return Failure(
                FailureKind.SERVER_ERROR,
                "401 the access token was refused; refreshing it",
                model_scoped=False,
                status=status,
            )
        if status == 400 and b"anthropic-beta" in body:
            refused = self._learn_refused_betas(body)
            if refused:
                return Failure(
                    FailureKind.RESEND,
                    f"Vertex refuses the betas {', '.join(refused)}; resending without them",
                    status=status,
                )
        if status == 403 and b"/models/" in body:
            # Denied on one model's resource (not enabled for the project, not in
            # this region): the account's other models may well work.
            return Failure(
                FailureKind.FORBIDDEN_MODEL,
                f"403 {error_message(body)} (enable the model for the project in Vertex "
                "Model Garden, or leave it out of the account's models)",
                retry_after=FORBIDDEN_MODEL_REST,
                status=status,
            )
        # Vertex speaks Google's error body for both publishers.
        return GeminiProvider.classify(self, status, headers, body)

    def _learn_refused_betas(self, body: bytes) -> list[str]:
        """The betas a 400 names as refused that were not known yet (now remembered)."""
        found = _REFUSED_BETA_MESSAGE.search(body.decode("utf-8", "replace"))
        if found is None:
            return []
        named = re.findall(r"`([^`]+)`", found.group(1))
        new = [b for b in named if b not in self.refused_betas]
        self.refused_betas.update(new)
        return new


def relogin_command(account) -> str:
    """The command that logs account `account` in again, as the user first added it.

    `--replace` because the account exists; for vertex it keeps project and region.
    """
    extra = account.extra
    command = f"localgate accounts add {account.name} --provider vertex"
    kind = extra.get("credentials_type")
    if kind == "adc":
        return command + " --adc --replace"
    if kind in ("service_account", "authorized_user"):
        return command + " --credentials-file FILE --replace"
    if extra.get("client_secrets"):
        return command + f" --client-secrets {extra['client_secrets']} --replace"
    return command + " --replace"


def _count_body(body: bytes) -> bytes:
    """A countTokens body with the fields of a `generateContentRequest` at the top level."""
    data = json.loads(body)
    wrapped = data.get("generateContentRequest")
    if not isinstance(wrapped, dict):
        return body
    fields = {k: v for k, v in wrapped.items() if k not in ("model", "toolConfig")}
    return json.dumps(fields, ensure_ascii=False).encode()


def _claude_body(body: bytes, model_id: str | None) -> bytes:
    """A Messages body as Vertex takes it: its `anthropic_version`, `model` only when counting."""
    data = json.loads(body)
    data.pop("model", None)
    if model_id is not None:
        data = {"model": model_id, **data}
    data["anthropic_version"] = ANTHROPIC_VERSION
    return json.dumps(data, ensure_ascii=False).encode()


def _quota_project(secret: str) -> str | None:
    """The `quota_project_id` a stored login names (ADC and key files may), else None."""
    try:
        info = json.loads(secret)
    except ValueError:
        return None
    project = info.get("quota_project_id") if isinstance(info, dict) else None
    return project if isinstance(project, str) and project else None
