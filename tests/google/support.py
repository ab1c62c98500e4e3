"""Helpers for the Google/Vertex tests: credential JSON, keys, vertex account tables."""

from __future__ import annotations

import json

from tests.fakes.google_token import FakeGoogleToken


def service_account_info(tokens: FakeGoogleToken, email: str = "lg@proj.iam.gserviceaccount.com"):
    """A service-account key JSON with a fresh RSA key whose public half `tokens` knows."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens.public_keys[email] = key.public_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "proj",
        "private_key_id": "0123abcd",
        "private_key": pem,
        "client_email": email,
        "client_id": "10987",
        "token_uri": tokens.token_uri,
    }


def vertex_account(name: str, base_url: str, info: dict, **extra) -> dict:
    """A vertex account table whose login JSON is stored in the (test) keyring."""
    from localgate.secrets import store_secret

    store_secret(name, json.dumps(info))
    table = {"name": name, "provider": "vertex", "base_url": base_url, "project": "proj"}
    table["region"] = "us-east5"
    return {**table, **extra}


def credential(info: dict, name: str = "gcp", **kwargs):
    """A GoogleCredential over `info`, as VertexProvider.credential_for builds it."""
    from localgate.google.credential import GoogleCredential, google_credentials

    creds = google_credentials(info, "test")
    relogin = f"localgate accounts add {name} --provider vertex"
    return GoogleCredential(json.dumps(info), creds, account=name, relogin=relogin, **kwargs)
