"""Usage over time for the dashboard: local hours or days, by account or model, as JSON or CSV.

Every measure of the rollup is in both, media ones included (images, audio
seconds, speech characters); the page shows those only when some were used.

The sums come from the ledger's quarter-hour rollup (`ledger/rollup.py`);
this module only chooses the buckets (in the machine's local time, so a day
is the user's day, daylight saving included) and shapes the answer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from localgate.errors import InvalidRequest
from localgate.ledger.rollup import KEYS, MEASURES, Cell, figure

RANGES = {"24h": 1, "7d": 7, "30d": 30, "90d": 90}  # days
STEPS = ("hour", "day")
DEFAULT_STEP = {"24h": "hour", "7d": "day", "30d": "day", "90d": "day"}
HOUR = 3600


@dataclass(frozen=True)
class UsageQuery:
    """What the page asked for: `?range=7d&step=day&by=model&account=…&model=…`."""

    range: str = "7d"
    step: str = "day"
    by: str = "account"
    account: str | None = None
    model: str | None = None

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> UsageQuery:
        """The query of a request, or InvalidRequest naming the parameter that is wrong."""
        span = query.get("range", "7d")
        if span not in RANGES:
            raise InvalidRequest(f"range must be one of {', '.join(RANGES)}", param="range")
        step = query.get("step") or DEFAULT_STEP[span]
        if step not in STEPS:
            raise InvalidRequest(f"step must be one of {', '.join(STEPS)}", param="step")
        by = query.get("by", "account")
        if by not in KEYS:
            raise InvalidRequest(f"by must be one of {', '.join(KEYS)}", param="by")
        return cls(span, step, by, query.get("account") or None, query.get("model") or None)

    def filters(self) -> dict[str, str]:
        return {k: v for k, v in (("account", self.account), ("model", self.model)) if v}


def buckets(span: str, step: str, now_wall: float) -> list[tuple[float, float]]:
    """[start, end) wall times of each local hour or day of `span` up to now, oldest first."""
    now = datetime.fromtimestamp(now_wall)
    days = RANGES[span]
    if step == "hour":
        last = now.replace(minute=0, second=0, microsecond=0).timestamp()
        count = days * 24
        return [(last - HOUR * k, last - HOUR * (k - 1)) for k in range(count - 1, -1, -1)]
    count = 2 if days == 1 else days  # "24h" by day: yesterday and today
    edges = [
        datetime.combine(now.date() - timedelta(days=k), time()).timestamp()
        for k in range(count - 1, -2, -1)  # k = -1: tomorrow, where today ends
    ]
    return list(zip(edges, edges[1:], strict=False))


def cache_hit_ratio(values: Mapping[str, int]) -> float | None:
    """The share of prompt tokens read from the cache (None when there were none)."""
    prompt = values["input_tokens"] + values["cache_read_tokens"] + values["cache_creation_tokens"]
    return round(values["cache_read_tokens"] / prompt, 4) if prompt else None


def shape(q: UsageQuery, spans: list[tuple[float, float]], cells: list[Cell] | None):
    """The JSON answer: buckets, one series per key (busiest first), totals."""
    series: dict[str, dict[str, list[int]]] = {}
    for cell in cells or ():
        entry = series.setdefault(cell.key, {m: [0] * len(spans) for m in MEASURES})
        for measure, value in zip(MEASURES, cell.values, strict=True):
            entry[measure][cell.bucket] = value
    keys = sorted(series, key=lambda k: (-sum(series[k]["requests"]), k))
    totals: dict[str, Any] = {m: figure(sum(sum(s[m]) for s in series.values())) for m in MEASURES}
    totals["cache_hit_ratio"] = cache_hit_ratio(totals)
    return {
        "range": q.range,
        "step": q.step,
        "by": q.by,
        "filters": q.filters(),
        "ledger": cells is not None,
        "buckets": [start for start, _ in spans],
        "labels": [label(start, q.step) for start, _ in spans],
        "keys": keys,
        "series": [{"key": key, **series[key]} for key in keys],
        "totals": totals,
    }


def label(start: float, step: str) -> str:
    """A bucket's start in local time with its offset: `2026-12-01T14:00+01:00`."""
    moment = datetime.fromtimestamp(start).astimezone()
    if step == "day":
        return moment.date().isoformat()
    return moment.isoformat(timespec="minutes")


def to_csv(answer: dict[str, Any]) -> str:
    """The rows a usage answer shows: one per bucket and key, with the cache-hit ratio."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([answer["step"], answer["by"], *MEASURES, "cache_hit_ratio"])
    for index, when in enumerate(answer["labels"]):
        for entry in answer["series"]:
            values = {m: entry[m][index] for m in MEASURES}
            if not values["requests"]:
                continue
            ratio = cache_hit_ratio(values)
            writer.writerow([when, entry["key"], *values.values(), "" if ratio is None else ratio])
    return out.getvalue()
