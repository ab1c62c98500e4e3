"""The request log: a line per request with its id, its failed attempts after it."""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import replace

from localgate.dialects.usage import Usage
from localgate.events import AttemptFailed, RequestDone
from localgate.logs import DaemonLog, JsonFormatter, TextFormatter
from localgate.requestlog import RequestLog, request_line


def done(n: int, status: int = 200, **changes) -> RequestDone:
    return RequestDone(
        f"req_{n}", "openai", "chat", "gpt-4o", False, status, 0.0, 0.01, account="a", **changes
    )


def failed(n: int, account: str) -> AttemptFailed:
    return AttemptFailed(f"req_{n}", account, "gpt-4o", "rate_limited", "429 slow down", 30.0)


def capture(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.requests.{id(out)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out


def test_line_carries_the_request_id():
    logger, out = capture(TextFormatter(dated=False))
    RequestLog(logger)(done(1))
    line = out.getvalue()
    assert line.count("\n") == 1
    assert " req_1 openai" in line and "gpt-4o → a 200" in line


def test_failed_attempts_follow_their_request_not_interleaved():
    logger, out = capture(TextFormatter(dated=False))
    log = RequestLog(logger)
    log(failed(1, "first"))
    log(failed(2, "other"))
    log(done(2))  # request 2 ends first
    log(failed(1, "second"))
    log(done(1))
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["req_2", "req_2", "req_1", "req_1", "req_1"]
    assert "gpt-4o → a 200" in lines[0] and "other failed" in lines[1]
    assert "first failed" in lines[3] and "second failed" in lines[4]


def test_json_format_is_one_object_per_line():
    logger, out = capture(JsonFormatter())
    log = RequestLog(logger)
    log(failed(7, "first"))
    log(done(7, status=502, error="upstream broke"))
    entries = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in entries] == ["request", "attempt_failed"]
    assert {e["request_id"] for e in entries} == {"req_7"}
    assert entries[0]["status"] == 502 and entries[0]["error"] == "upstream broke"
    assert entries[1]["account"] == "first" and entries[1]["cooldown"] == 30.0


def test_nothing_queued_is_lost_when_the_log_stops(tmp_path):
    """Lines queued on the loop are all in the file once `stop` returns."""
    log_file = tmp_path / "state" / "localgate.log"
    daemon_log = DaemonLog(log_file, stderr=False).start()
    try:
        request_log = RequestLog()
        for n in range(2000):
            request_log(done(n))
    finally:
        daemon_log.stop()
    lines = log_file.read_text().splitlines()
    assert len(lines) == 2000 and "req_1999" in lines[-1]
    assert oct(log_file.stat().st_mode & 0o777) == "0o600"


def test_other_operations_are_named():
    first = request_line(
        RequestDone("req_1", "openai", "transcribe", "whisper-1", False, 200, 0.0, 0.1)
    )
    assert first.endswith("op=transcribe") and "op=" not in request_line(done(2))


def test_media_figures_are_on_the_line_and_in_the_fields():
    made = replace(done(1), op="image", usage=Usage(images=3))
    heard = replace(done(2), op="transcribe", usage=Usage(input_tokens=5, audio_seconds=12.5))
    spoken = replace(done(3), op="speech", usage=Usage(speech_characters=140))
    assert request_line(made).endswith("in=0 out=0 images=3 op=image")
    assert " audio=12.5s op=transcribe" in request_line(heard)
    assert " speech=140ch op=speech" in request_line(spoken)
    assert "images=" not in request_line(done(4)) and "audio=" not in request_line(done(4))
    fields = heard.fields()
    assert (fields["images"], fields["audio_seconds"], fields["speech_characters"]) == (0, 12.5, 0)
    assert json.loads(json.dumps(made.fields()))["images"] == 3


def test_the_log_file_rotates_at_its_size_counting_what_it_wrote(tmp_path, monkeypatch):
    """The writer counts the bytes it wrote (from the size it found) instead of asking
    the file on every line; the file still rotates near MAX_LOG_BYTES, 0600."""
    from localgate import logs

    monkeypatch.setattr(logs, "MAX_LOG_BYTES", 2000)
    log_file = tmp_path / "state" / "localgate.log"
    log_file.parent.mkdir()
    log_file.write_text("x" * 1500 + "\n")  # a log left by an earlier run
    daemon_log = DaemonLog(log_file, stderr=False).start()
    try:
        request_log = RequestLog()
        for n in range(40):
            request_log(done(n))
    finally:
        daemon_log.stop()
    rotated = sorted(tmp_path.joinpath("state").glob("localgate.log.*"))
    assert rotated[-1].read_text().startswith("x" * 1500)  # .1 is the latest, the last the oldest
    for path in [log_file, *rotated]:
        assert path.stat().st_size <= 2000 + 200
    assert oct(log_file.stat().st_mode & 0o777) == "0o600"
    text = "".join(p.read_text() for p in [log_file, *rotated])
    assert all(f"req_{n} " in text for n in range(40))


def test_the_time_on_a_line_is_made_once_a_second_and_right_each_second():
    formatter = TextFormatter(dated=True)
    record = logging.makeLogRecord({"msg": "x", "levelno": logging.INFO, "levelname": "INFO"})
    for created in (1_700_000_000.1, 1_700_000_000.9, 1_700_000_001.0, 1_699_999_999.5):
        record.created = created
        expected = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(created)))
        assert formatter.format(record) == f"{expected} x"


def test_the_writer_writes_in_chunks_and_yields_between_them(tmp_path, monkeypatch):
    """The writer shares the loop's core: it writes STRETCH lines at a time and lets
    the loop run between chunks, instead of writing a whole batch at once."""
    from localgate import sharing

    stretch = sharing.STRETCH
    log_file = tmp_path / "localgate.log"
    daemon_log = DaemonLog(log_file, stderr=False)  # not started: stop() writes the queue
    written_at_yield = []
    monkeypatch.setattr(
        sharing,
        "yield_core",
        lambda: written_at_yield.append(len(log_file.read_text().splitlines())),
    )
    logger = logging.Logger("test.chunks", logging.INFO)  # not registered: nothing leaks
    logger.handlers = [daemon_log._handoff]
    request_log = RequestLog(logger)
    for n in range(2 * stretch + 3):
        request_log(done(n))
    daemon_log.stop()
    assert written_at_yield == [stretch, 2 * stretch, 2 * stretch + 3]
    assert f"req_{2 * stretch + 2} " in log_file.read_text()


def test_the_console_gets_each_chunk_in_one_write(monkeypatch):
    """stderr writes through: a line written alone is a system call of its own."""
    from localgate import sharing

    class Console(io.StringIO):
        writes = 0

        def write(self, text):
            self.writes += 1
            return super().write(text)

    console = Console()
    monkeypatch.setattr("sys.stderr", console)
    daemon_log = DaemonLog(None)  # not started: stop() writes the queue
    logger = logging.Logger("test.console", logging.INFO)  # not registered: nothing leaks
    logger.handlers = [daemon_log._handoff]
    request_log = RequestLog(logger)
    for n in range(2 * sharing.STRETCH + 3):
        request_log(done(n))
    daemon_log.stop()
    lines = console.getvalue().splitlines()
    assert len(lines) == 2 * sharing.STRETCH + 3 and "req_0 " in lines[0]
    assert console.writes == 3  # one per chunk


def test_a_deferred_line_is_made_where_it_is_written_with_the_time_it_ended(monkeypatch):
    """With `defer`, the loop hands over a function: the line and the record are made
    when it is called (by the log's writer thread), stamped with the request's end."""
    from localgate import requestlog

    made = []
    monkeypatch.setattr(requestlog, "request_line", lambda e: made.append(e) or f"line {e.model}")
    logger, out = capture(TextFormatter(dated=False))
    handed = []
    before = time.time()
    RequestLog(logger, defer=handed.append)(done(1))
    after = time.time()
    assert len(handed) == 1 and made == [] and out.getvalue() == ""
    time.sleep(0.01)
    record = handed[0]()
    assert made and record.getMessage() == "line gpt-4o" and record.request_id == "req_1"
    assert before <= record.created <= after


def test_a_deferred_log_still_asks_its_level_at_once():
    logger, _ = capture(TextFormatter(dated=False))
    logger.setLevel(logging.WARNING)
    handed = []
    RequestLog(logger, defer=handed.append)(done(1))
    assert handed == []


def test_deferred_lines_are_written_in_turn_and_one_that_fails_costs_no_other(tmp_path, capsys):
    log_file = tmp_path / "localgate.log"
    daemon_log = DaemonLog(log_file, stderr=False).start()
    try:
        logger = logging.Logger("test.deferred", logging.INFO)  # not registered: nothing leaks
        logger.handlers = [daemon_log._handoff]
        request_log = RequestLog(defer=daemon_log.defer)
        request_log(done(1))
        logger.info("between")
        daemon_log.defer(lambda: 1 / 0)  # a bug in making one record
        for n in range(2, 2000):
            request_log(done(n))
    finally:
        daemon_log.stop()
    lines = log_file.read_text().splitlines()
    assert len(lines) == 2000
    assert " req_1 " in lines[0] and lines[1].endswith(" between") and " req_2 " in lines[2]
    assert " req_1999 " in lines[-1]
    assert "ZeroDivisionError" in capsys.readouterr().err  # said, as logging says its errors


def test_the_json_time_is_datetimes_own_made_once_a_second():
    from datetime import datetime

    formatter = JsonFormatter()
    for created in (
        1_700_000_000.123,
        1_700_000_000.9999996,  # rounds up into the next second, as datetime rounds it
        1_700_000_001.0,
        1_699_999_999.5004,
        1_720_000_000.25,  # another season: the offset is the one of that day
    ):
        expected = datetime.fromtimestamp(created).astimezone().isoformat(timespec="milliseconds")
        assert formatter.stamp(created) == expected


def test_a_json_line_is_made_once_for_every_handler_and_holds_anything():
    """The file and the console write the same JSON: the fields are made once; what
    JSON cannot hold goes as text, and an integer past 64 bits stays exact."""
    calls = []

    def fields():
        calls.append(1)
        return {"huge": 2**70, "odd": object(), "text": "héllo"}

    record = logging.makeLogRecord({"msg": "m", "levelno": logging.INFO, "levelname": "INFO"})
    record.fields = fields
    first, second = JsonFormatter().format(record), JsonFormatter().format(record)
    assert first == second and len(calls) == 1
    entry = json.loads(first)
    assert (
        entry["huge"] == 2**70 and entry["odd"].startswith("<object") and entry["text"] == "héllo"
    )
    plain = logging.makeLogRecord({"msg": "m", "levelno": logging.INFO, "levelname": "INFO"})
    plain.fields = {"n": 1, "s": "ünï"}
    assert json.loads(JsonFormatter().format(plain))["s"] == "ünï"
