"""localgate: a local LLM gateway daemon for your own provider accounts."""

__version__ = "0.1.0"
