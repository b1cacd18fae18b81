"""Every prompt the instruction_generation pipeline sends to the teacher — and nothing else.

The wording is LaMini-LM's (Wu et al., EACL 2024, arXiv 2304.14402, appendix figures "example-guided"
and "topic-guided" instruction generation). The paper's PDF could not be opened here; the text was
checked against two public repositories that quote those figures verbatim (the same six lines; one
quote carries a stray ``".`` after the last line, dropped here as a typesetting artefact).

One deliberate change: the paper's count sentence reads "Generate 20 diverse examples that are
similar to the provided examples"; here it says "… diverse instructions …", because the project
states the requested count as "<N> … instructions" (the convention the replay teacher and log
analysis read; architecture decision by the lead). Everything else is the paper's text. The paper
shows three examples and asks for 20; both numbers are parameters.
"""

from __future__ import annotations

EXAMPLE = "<example>{text}</example>"

# Example-guided generation (sources: Self-Instruct seeds / Alpaca → self_instruct_without_topic,
# P3 → generated_p3, FLAN → generated_flan).
EXAMPLE_GUIDED = (
    "{examples}\n\n"
    "Generate {count} diverse instructions that are similar to the provided examples.\n"
    "You do not need to provide a response to the generated examples.\n"
    "Each example must include an instruction.\n"
    "Each generated instruction can be either an imperative sentence or a question.\n"
    'Each example must start with the label "<example>" and end with the label "</example>".'
)

# Topic-guided generation (self_instruct_with_topic): the same, about a few Wikipedia categories.
TOPIC_GUIDED = (
    "{examples}\n\n"
    'Generate {count} diverse instructions that are similar to the provided examples with the topics "{topics}".\n'
    "You do not need to provide a response to the generated examples.\n"
    "Each example must include an instruction.\n"
    "Each generated instruction can be either an imperative sentence or a question.\n"
    'Each example must start with the label "<example>" and end with the label "</example>".'
)


def generation_prompt(examples: list[str], count: int, topics: list[str] | None = None) -> str:
    """The user message asking for ``count`` new instructions like ``examples`` (about ``topics``)."""
    if not examples:
        raise ValueError("A generation prompt needs at least one example.")
    shown = "\n".join(EXAMPLE.format(text=example.strip()) for example in examples)
    if topics:
        return TOPIC_GUIDED.format(examples=shown, count=count, topics=", ".join(topics))
    return EXAMPLE_GUIDED.format(examples=shown, count=count)
