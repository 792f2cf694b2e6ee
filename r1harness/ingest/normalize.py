"""Normalisers for source fields, named in manifests (`normalize: {answer: [integer]}`).

They fix what the data's SOURCE.txt files warn about: zero-padded AIME answers ("025"), float AMC answers
("27.0"), GSM8K solutions ending in "#### N", test lists stored as Python literals.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from typing import Any


def as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def integer(value: Any) -> str:
    """'025' -> '25', 27.0 -> '27', '-1.0' -> '-1'; anything that is not an integral number is kept."""
    text = as_text(value).replace(",", "")
    try:
        number = float(text)
    except ValueError:
        return as_text(value)
    return str(int(number)) if number.is_integer() else as_text(value)


def gsm8k_final(value: Any) -> str:
    """The number after '####' in a GSM8K solution, commas removed."""
    text = str(value)
    if "####" in text:
        text = text.rsplit("####", 1)[1]
    return integer(text.strip())


def last_boxed(value: Any) -> str:
    """The content of the last \\boxed{...} in a worked solution (MATH train on the hub)."""
    text = str(value)
    start = text.rfind("\\boxed")
    if start < 0:
        return text.strip()
    i = text.find("{", start)
    depth, j = 0, i
    while j < len(text):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1 : j].strip()
        j += 1
    return text.strip()


def tests_json(value: Any) -> str:
    """Tests as canonical JSON. Strings are parsed as JSON, else as a Python literal (never eval)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError) as exc:
                raise ValueError(f"tests are neither JSON nor a Python literal: {exc}") from None
    if isinstance(value, dict) and {"input", "output"} <= set(value) and isinstance(value["input"], list):
        value = [{"input": i, "output": o} for i, o in zip(value["input"], value["output"])]
    elif isinstance(value, dict) and {"inputs", "outputs"} <= set(value):
        value = [{"input": i, "output": o} for i, o in zip(value["inputs"], value["outputs"])]
    return json.dumps(value, ensure_ascii=False)


def collapse_ws(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip()


NORMALIZERS: dict[str, Callable[[Any], Any]] = {
    "text": as_text,
    "integer": integer,
    "gsm8k_final": gsm8k_final,
    "last_boxed": last_boxed,
    "tests_json": tests_json,
    "collapse_ws": collapse_ws,
}
