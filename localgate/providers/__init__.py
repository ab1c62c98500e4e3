"""Registry of account kinds (providers), by name.

The table below is light metadata, safe to import anywhere (config validation,
the CLI); the implementation of a provider is imported only when an account of
that kind is used, through `load`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    implementation: str  # "module:Class"
    dialect: str  # the wire dialect its accounts speak by default
    default_base_url: str
    default_models: tuple[str, ...]  # glob patterns served when the account names none
    uses_api_key: bool  # True: the secret is an API key (prompted, --key-stdin, --key-env)
    extra_keys: tuple[str, ...] = ()  # account config keys only this provider accepts
    # (key, regular expression matched in full, what it allows) for extra keys
    # that end up in an upstream URL: a value must not be able to move the host.
    extra_formats: tuple[tuple[str, str, str], ...] = ()


PROVIDERS: dict[str, ProviderInfo] = {
    info.name: info
    for info in (
        ProviderInfo(
            "anthropic",
            "localgate.providers.anthropic:AnthropicProvider",
            "anthropic",
            "https://api.anthropic.com",
            ("claude-*",),
            True,
        ),
        ProviderInfo(
            "openai",
            "localgate.providers.openai:OpenAIProvider",
            "openai",
            "https://api.openai.com/v1",
            (
                "gpt-*",  # also gpt-image-*, gpt-4o-*-tts, gpt-4o-*-transcribe, gpt-realtime*
                "o1*",
                "o3*",
                "o4*",
                "chatgpt-*",
                "codex-*",
                "text-embedding-3-*",
                "text-embedding-ada-*",
                "dall-e-*",
                "tts-*",
                "whisper-*",
                "omni-moderation-*",
                "text-moderation-*",
                "davinci-*",  # legacy completions
                "babbage-*",
            ),
            True,
            ("api",),
        ),
        ProviderInfo(
            "gemini",
            "localgate.providers.gemini:GeminiProvider",
            "gemini",
            "https://generativelanguage.googleapis.com",
            ("gemini-*", "gemma-*", "text-embedding-004", "embedding-001"),
            True,
        ),
        ProviderInfo(
            "vertex",
            "localgate.providers.vertex:VertexProvider",
            "gemini",
            "",  # derived from region
            ("gemini-*", "claude-*", "text-embedding-00*", "text-multilingual-embedding-*"),
            False,
            ("project", "region", "client_secrets", "credentials_type", "email", "model_ids"),
            (
                # Google Cloud project ids (Google asks 6-30 characters; shorter
                # ones are let through), optionally domain-scoped ("example.com:proj").
                (
                    "project",
                    r"(?:[a-z0-9][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{0,29}",
                    "a Google Cloud project id (a lowercase letter, then up to 29 "
                    "lowercase letters, digits or '-')",
                ),
                # The region is part of the host name ({region}-aiplatform.googleapis.com).
                (
                    "region",
                    r"[a-z]+(?:-[a-z]+[0-9]*)*",
                    "a Google Cloud region such as us-central1, europe-west4 or global",
                ),
            ),
        ),
    )
}


def info(name: str) -> ProviderInfo:
    """The metadata of provider `name` (KeyError when there is no such provider)."""
    return PROVIDERS[name]


def load(name: str):
    """The provider class for `name`, imported on first use."""
    module, _, attr = PROVIDERS[name].implementation.partition(":")
    return getattr(import_module(module), attr)
