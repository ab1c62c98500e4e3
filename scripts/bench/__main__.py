"""`python -m scripts.bench` from the repository root."""

from scripts.bench.run import main

main()
