"""LaMini-LM: a herd of small students distilled from a large teacher LLM."""

__version__ = "0.1.0"
