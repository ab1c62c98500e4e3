"""Which HTTP proxy an upstream request goes through.

An account's `proxy` wins ("none": a direct connection); otherwise the
environment's HTTPS_PROXY / HTTP_PROXY (either case) apply, except for hosts
NO_PROXY lists. Loopback is never proxied, whatever is set: a local model
server (Ollama, vLLM) must not be sent to a corporate proxy.
"""

from __future__ import annotations

import ipaddress
import urllib.request
from urllib.parse import urlsplit

NO_PROXY = "none"


def upstream_proxy(setting: str | None, url: str) -> str | None:
    """The proxy URL for a request to `url` under the account's `setting`, or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _is_loopback(host) or setting == NO_PROXY:
        return None
    if setting:
        return setting
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme)
    if proxy and urllib.request.proxy_bypass_environment(host, proxies):
        return None
    return proxy or None


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
