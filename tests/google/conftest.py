"""Google tests talk to fakes on 127.0.0.1 only: any other host fails the test loudly."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    from localgate.google import transport

    real = transport.Request.__call__

    def guarded(self, url, *args, **kwargs):
        host = urlsplit(url).hostname
        assert host == "127.0.0.1", f"a Google test tried to reach {host}"
        return real(self, url, *args, **kwargs)

    monkeypatch.setattr(transport.Request, "__call__", guarded)
