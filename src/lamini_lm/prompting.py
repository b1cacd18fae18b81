"""How students are prompted: the one place that knows LaMini-LM's instruction wrapper."""

from __future__ import annotations

# Published in LaMini-LM's README; decoder-only students are trained and queried with it.
CAUSAL_WRAPPER = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:"
)


def format_prompt(instruction: str, family: str) -> str:
    """The model input for ``instruction``: wrapped for ``causal``, verbatim for ``seq2seq``."""
    if family == "causal":
        return CAUSAL_WRAPPER.format(instruction=instruction)
    if family == "seq2seq":
        return instruction
    raise ValueError(f"Unknown model family {family!r}; expected 'seq2seq' or 'causal'.")


def fold_input(instruction: str, input_text: str | None) -> str:
    """One instruction string from an (instruction, input) pair, the way LaMini-instruction writes it.

    LaMini keeps an input inline after a colon, quoted:
    ``Arrange the given words in a sentence: "genetic, beings, teleportation, Human"``.
    """
    instruction = instruction.strip()
    if input_text is None or not str(input_text).strip():
        return instruction
    stem = instruction.rstrip().rstrip(".:").rstrip()
    return f'{stem}: "{str(input_text).strip()}"'
