"""Helpers for dashboard tests: a served app with fake accounts, a seeded ledger."""

from __future__ import annotations

import random

from localgate.ledger import LedgerStore, ledger_path
from localgate.ledger.store import REQUEST_COLUMNS

ORIGIN_HEADERS = {"Sec-Fetch-Site": "same-origin"}


def own_origin(client) -> str:
    """The Origin a page served by `client`'s app sends."""
    return f"http://{client.server.host}:{client.server.port}"


def page_headers(client, csrf: str | None = None) -> dict[str, str]:
    headers = {"Origin": own_origin(client)}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return headers


def row(ts, account="work", model="claude-x", status=200, tokens=(10, 5, 0, 0), gone=0, media=()):
    """A `requests` row; `media`: images, audio seconds, speech characters (left out:
    NULL, as rows from before they were measured)."""
    values = dict.fromkeys(REQUEST_COLUMNS)
    values.update(ts=ts, account=account, model=model, model_used=model, status=status)
    values.update(zip(REQUEST_COLUMNS[10:14], tokens, strict=True))
    values.update(zip(("images", "audio_seconds", "speech_characters"), media, strict=False))
    values.update(client_gone=gone)
    return tuple(values[c] for c in REQUEST_COLUMNS)


def seed_ledger(state_dir, rows) -> None:
    """Write request rows into the ledger file a daemon with `state_dir` will open."""
    store = LedgerStore.open(ledger_path(state_dir))
    try:
        store.write(list(rows))
    finally:
        store.close()


ACCOUNTS = ("work", "personal", "oa", None)
MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o")


def generated_rows(count, now, days, *, seed=16, accounts=ACCOUNTS, models=MODELS):
    """`count` plausible requests over the last `days` days, more of them in working hours."""
    rnd = random.Random(seed)
    made = 0
    while made < count:
        ts = now - rnd.random() * days * 86400
        hour = (ts % 86400) / 3600
        if not 7 <= hour <= 21 and rnd.random() < 0.7:
            continue  # fewer at night
        made += 1
        status = 200 if rnd.random() > 0.04 else rnd.choice((429, 500, 529))
        prompt = rnd.randint(200, 4000)
        who, model = rnd.choice(accounts), rnd.choice(models)  # drawn in the order they were
        yield row(
            ts,
            account=who,
            model=model,
            status=status,
            tokens=(prompt, rnd.randint(20, 800), rnd.randint(0, 20000), rnd.randint(0, 2000)),
            gone=int(rnd.random() < 0.01),
            media=media_of(model, prompt),
        )


MEDIA_MODELS = ("gpt-image-1", "whisper-1", "tts-1")


def media_of(model: str, draw: int) -> tuple:
    """What a generated request of `model` used beyond tokens (chat models: nothing),
    from a figure already drawn, so chat-only histories draw what they always drew."""
    if model.startswith("gpt-image"):
        return (1 + draw % 4, 0.0, 0)
    if model.startswith("whisper"):
        return (0, draw / 64, 0)
    if model.startswith("tts"):
        return (0, 0.0, 20 + draw % 300)
    return ()
