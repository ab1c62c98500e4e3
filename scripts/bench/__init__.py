"""A reproducible speed benchmark of localgate: `python -m scripts.bench --help`.

It starts a fast fake upstream (nginx for fixed bodies when installed, a raw
aiohttp fake for streams), a bare aiohttp relay as the reference, localgate
(and LiteLLM when importable) against it, then drives them interleaved from
the other CPU core with wrk (or an aiohttp load client) and prints a table.
Method and figures: docs/benchmarks.md.
"""
