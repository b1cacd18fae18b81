from lamini_lm.pipelines.instruction_generation.parsing import parse_instructions


def test_tagged_examples_including_multiline_and_unclosed_last():
    text = (
        "<example>What are some ways to save water?</example>\n"
        '<example>Rewrite the sentence in passive voice:\n"The cat chased the mouse."</example>\n'
        "<example>Name three rivers in Africa."
    )
    items, dropped = parse_instructions(text, "stop")
    assert items == [
        "What are some ways to save water?",
        'Rewrite the sentence in passive voice:\n"The cat chased the mouse."',
        "Name three rivers in Africa.",
    ]
    assert dropped is None


def test_numbered_and_bulleted_lists_with_continuation_lines():
    numbered = 'Here you go:\n1. Explain gravity.\n2) Translate this sentence:\n   "Bonjour"\n(3) Instruction: List two fruits.'
    assert parse_instructions(numbered)[0] == [
        "Explain gravity.",
        'Translate this sentence:\n"Bonjour"',
        "List two fruits.",
    ]
    bulleted = '- Describe a sunset.\n* Why is the sky blue?\n• "Summarise the text."'
    assert parse_instructions(bulleted)[0] == ["Describe a sunset.", "Why is the sky blue?", "Summarise the text."]


def test_cut_off_reply_drops_its_last_item():
    items, dropped = parse_instructions("1. Explain gravity.\n2. Write a story about a dr", "length")
    assert items == ["Explain gravity."]
    assert dropped == "Write a story about a dr"


def test_prose_or_empty_reply_parses_to_nothing():
    assert parse_instructions("I'm sorry, I can't help with that.") == ([], None)
    assert parse_instructions(None) == ([], None)
    assert parse_instructions("", "length") == ([], None)
