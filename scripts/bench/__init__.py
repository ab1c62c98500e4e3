"""A reproducible speed benchmark of localgate and its peers: `python -m scripts.bench --help`.

wire.py: what is sent and answered; servers.py: the fake upstream and the bare
relay; systems.py: the scenarios and the systems started; drive.py: wrk, the
aiohttp load client and the timed stream client; run.py: the phases;
report.py: the tables and the targets. Method and figures: docs/benchmarks.md.
"""
