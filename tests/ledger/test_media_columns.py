"""Images, audio seconds and speech characters in the ledger; a version-3 file upgraded in place.

`fixtures/ledger-v3.sqlite3` was written by localgate as of f735d92 (schema
version 3, before media was measured): its `Ledger` recorded six requests (a
Claude and a GPT chat, an image after a failed attempt on another account, a
transcription, a speech, a 429 no account served), then the file was
checkpointed and vacuumed.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from localgate.ledger import LedgerStore
from localgate.ledger.rollup import MEASURES, QUARTER
from localgate.ledger.store import SCHEMA_VERSION
from tests.dashboard.helpers import row

V3 = Path(__file__).parent / "fixtures" / "ledger-v3.sqlite3"
V3_ROWS = 6
WHEN = 1_796_000_000.0  # when the fixture's requests were made (2026-11-30)


def old_ledger(tmp_path) -> Path:
    path = tmp_path / "ledger.sqlite3"
    shutil.copyfile(V3, path)
    return path


def columns(db, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]


def rows_of(db) -> list[tuple]:
    return db.execute("SELECT * FROM requests ORDER BY id").fetchall()


def file_state(path: Path) -> tuple[int, int, int, int]:
    """(version, `images` columns of requests, of usage_quarters, request rows) of a file."""
    db = sqlite3.connect(path)
    try:
        return (
            db.execute("PRAGMA user_version").fetchone()[0],
            columns(db, "requests").count("images"),
            columns(db, "usage_quarters").count("images"),
            db.execute("SELECT COUNT(*) FROM requests").fetchone()[0],
        )
    finally:
        db.close()


def test_the_fixture_is_a_version_3_ledger(tmp_path):
    assert file_state(old_ledger(tmp_path)) == (3, 0, 0, V3_ROWS)


def test_a_version_3_ledger_gains_the_media_columns_and_keeps_every_row(tmp_path):
    path = old_ledger(tmp_path)
    db = sqlite3.connect(path)
    before_rows, before_quarters = (
        rows_of(db),
        db.execute("SELECT * FROM usage_quarters ORDER BY account, model").fetchall(),
    )
    limits = db.execute("SELECT * FROM limits").fetchall()
    state = db.execute("SELECT * FROM state").fetchall()
    db.close()

    store = LedgerStore.open(path)
    try:
        db = store._db
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert columns(db, "requests")[-3:] == ["images", "audio_seconds", "speech_characters"]
        assert columns(db, "usage_quarters")[-3:] == [
            "images",
            "audio_seconds",
            "speech_characters",
        ]
        # Every old row as it was, with NULL (not measured) in the new columns.
        assert [r[:-3] for r in rows_of(db)] == before_rows
        assert {r[-3:] for r in rows_of(db)} == {(None, None, None)}
        quarters = db.execute("SELECT * FROM usage_quarters ORDER BY account, model").fetchall()
        assert [q[:-3] for q in quarters] == before_quarters
        assert {q[-3:] for q in quarters} == {(0, 0.0, 0)}
        assert db.execute("SELECT * FROM limits").fetchall() == limits
        assert db.execute("SELECT * FROM state").fetchall() == state

        # The old rows still count; the new rows count their media, through the new trigger.
        by_model = {r.key: r for r in store.usage(0, "model")}
        assert by_model["gpt-image-1"].input_tokens == 10
        assert by_model["gpt-image-1"].images == 0
        store.write(
            [
                row(WHEN, model="gpt-image-1", media=(2, 0.0, 0)),
                row(WHEN + 1, model="whisper-1", media=(0, 12.5, 0)),
                row(WHEN + 2, model="tts-1", media=(0, 0.0, 42)),
            ]
        )
        by_model = {r.key: r for r in store.usage(0, "model")}
        assert (by_model["gpt-image-1"].requests, by_model["gpt-image-1"].images) == (2, 2)
        assert by_model["whisper-1"].audio_seconds == 12.5
        assert by_model["tts-1"].speech_characters == 42
        assert store.count() == V3_ROWS + 3
        day = (WHEN // QUARTER * QUARTER - 86400, WHEN // QUARTER * QUARTER + 86400)
        summed = {
            c.key: dict(zip(MEASURES, c.values, strict=True)) for c in store.series([day], "model")
        }
        assert summed["gpt-image-1"]["images"] == 2 and summed["gpt-image-1"]["requests"] == 2
        assert summed["whisper-1"]["audio_seconds"] == 12.5
        assert summed["tts-1"]["speech_characters"] == 42
    finally:
        store.close()


def test_the_upgrade_runs_once_and_again_harmlessly(tmp_path):
    path = old_ledger(tmp_path)
    LedgerStore.open(path).close()
    store = LedgerStore.open(path)  # already version 4: nothing to do
    store.write([row(WHEN, media=(1, 0.0, 0))])
    store.close()
    db = sqlite3.connect(path)  # a version number set back (a copy, a restore): upgrade again
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    store = LedgerStore.open(path)
    try:
        assert store.count() == V3_ROWS + 1
        assert sum(r.images for r in store.usage(0)) == 1
        # The trigger was replaced, not doubled: one more row adds once.
        store.write([row(WHEN, media=(3, 0.0, 0))])
        assert sum(r.images for r in store.usage(0)) == 4
        quarters = store._db.execute("SELECT SUM(images) FROM usage_quarters").fetchone()[0]
        assert quarters == 4
    finally:
        store.close()


def test_two_processes_opening_an_old_ledger_at_once_both_succeed(tmp_path):
    """The daemon and a CLI upgrading the same file: the second waits for the first's
    lock, then finds the columns there."""
    path = old_ledger(tmp_path)
    errors = []
    start = threading.Barrier(4)

    def open_it():
        start.wait()
        try:
            LedgerStore.open(path).close()
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert file_state(path) == (SCHEMA_VERSION, 1, 1, V3_ROWS)


def test_a_failed_upgrade_leaves_the_file_as_it_was(tmp_path):
    path = old_ledger(tmp_path)
    db = sqlite3.connect(path)
    # A table where the upgrade makes sure of an index: it fails after adding columns.
    db.executescript("DROP INDEX requests_ts; CREATE TABLE requests_ts (x);")
    db.commit()
    db.close()
    with pytest.raises(sqlite3.OperationalError, match="requests_ts"):
        LedgerStore.open(path)
    # Not half upgraded: the columns it added went back with the rest.
    assert file_state(path) == (3, 0, 0, V3_ROWS)
