from __future__ import annotations

from aperto.evals.prompting import chat_completion, completion_text, extract_code, truncate

PROMPT = 'def add(a, b):\n    """Return a + b."""\n'


def test_truncate_stops_at_the_first_stop_sequence():
    raw = "    return a + b\n\n\ndef other():\n    pass\n"
    assert truncate(raw) == "    return a + b\n\n"
    assert truncate("    x = 1\nprint(x)") == "    x = 1"
    assert truncate("    return 1\n# trailing comment") == "    return 1"
    assert truncate("    return 1\nif __name__ == '__main__':\n    main()") == "    return 1"


def test_completion_text_drops_a_repeated_prompt():
    assert completion_text(PROMPT, PROMPT + "    return a + b\n\ndef x(): pass") == "    return a + b\n"


def test_extract_code_from_a_fenced_chat_answer():
    answer = "Sure! Here it is:\n```python\ndef add(a, b):\n    return a + b\n```\nThis adds."
    assert extract_code(answer) == "def add(a, b):\n    return a + b\n"
    assert extract_code("```\nx = 1\n```") == "x = 1\n"
    assert extract_code("no fences at all") == "no fences at all"


def test_chat_answer_repeating_the_signature_runs_after_the_prompt():
    answer = "```python\nimport math\n\ndef add(a, b):\n    return a + b\n\nprint(add(1, 2))\n```"
    completion = chat_completion(PROMPT, "add", answer)
    namespace: dict = {}
    exec(PROMPT + completion, namespace)  # trusted: our own literal text
    assert namespace["add"](2, 3) == 5
    assert "print" not in completion


def test_chat_answer_with_only_a_body_is_indented_under_the_signature():
    completion = chat_completion(PROMPT, "add", "```python\nreturn a + b\n```")
    namespace: dict = {}
    exec(PROMPT + completion, namespace)
    assert namespace["add"](2, 3) == 5
