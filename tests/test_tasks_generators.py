"""Synthetic tasks: deterministic, gold answers right, difficulty adjustable, corpus format share honest."""

import ast
from fractions import Fraction

import pytest

from r1harness.errors import ConfigError
from r1harness.tasks import arithmetic, countdown, get_task
from r1harness.tasks.corpus import document, pretraining_corpus
from r1harness.verify.countdown import verify_countdown
from r1harness.verify.format import check_format


def test_arithmetic_is_deterministic_and_correct():
    rows = arithmetic.generate(200, seed=3, digits=3, ops=["+", "-", "*"], terms=3)
    assert rows == arithmetic.generate(200, seed=3, digits=3, ops=["+", "-", "*"], terms=3)
    assert rows != arithmetic.generate(200, seed=4, digits=3, ops=["+", "-", "*"], terms=3)
    for r in rows:
        expr = r["metadata"]["expression"]
        assert r["problem"] == f"What is {expr}?"
        assert int(r["answer"]) == _safe_eval(expr)
        assert all(100 <= n <= 999 for n in r["metadata"]["numbers"])
        # the scratchpad's last step lands on the answer
        assert r["metadata"]["solution"].rstrip(".").endswith(r["answer"])


def test_arithmetic_column_addition_scratchpad():
    row = {"numbers": [58, 76], "ops": ["+"]}
    assert (
        arithmetic.worked_solution(row["numbers"], row["ops"]) == "8 + 6 + 0 = 14. 5 + 7 + 1 = 13. carry 1."
    )


def test_arithmetic_difficulty_and_validation():
    assert {len(str(n)) for r in arithmetic.generate(50, 0, digits=4) for n in r["metadata"]["numbers"]} == {
        4
    }
    mixed = {
        len(str(n))
        for r in arithmetic.generate(300, 0, digits=3, min_digits=1)
        for n in r["metadata"]["numbers"]
    }
    assert mixed == {1, 2, 3}
    with pytest.raises(ConfigError, match="ops"):
        arithmetic.generate(1, 0, ops=["/"])
    with pytest.raises(ConfigError, match="terms"):
        arithmetic.generate(1, 0, terms=1)


def test_countdown_targets_are_reachable_with_the_hidden_solution():
    rows = countdown.generate(100, seed=1, n_numbers=4, max_number=25)
    assert rows == countdown.generate(100, seed=1, n_numbers=4, max_number=25)
    for r in rows:
        meta = r["metadata"]
        assert len(meta["numbers"]) == 4 and all(1 <= n <= 25 for n in meta["numbers"])
        assert int(r["answer"]) == meta["target"] and 0 < meta["target"] <= countdown.MAX_TARGET
        verdict = verify_countdown(
            f"<answer>{meta['solution']}</answer>", meta["numbers"], meta["target"], use_all=True
        )
        assert verdict.status == "correct", (r, verdict)


def test_task_registry():
    assert get_task("countdown") is countdown.generate
    with pytest.raises(ConfigError, match="arithmetic"):
        get_task("sudoku")


def test_corpus_format_share_and_exclusion():
    held = {r["problem"] for r in arithmetic.generate(50, 99, digits=2)}
    docs = pretraining_corpus(2000, 0, format_share=0.05, exclude_problems=held)
    share = sum("<answer>" in d.split("Assistant:")[-1] for d in docs) / len(docs)
    assert 0.03 < share < 0.07
    assert not any(p in d for d in docs for p in held)
    assert all(d.startswith("A conversation between User and Assistant.") for d in docs)
    plain = pretraining_corpus(300, 0, format_share=0.0, tasks={"countdown": {}})
    assert not any("<think>" in d.split("Assistant:")[-1] for d in plain)


def test_document_layouts():
    row = arithmetic.generate(1, 0)[0]
    assert document(row, formatted=False).endswith(f"The answer is {row['answer']}.")
    assert document(row, formatted=True).endswith(f"<answer> {row['answer']} </answer>")
    aligned = document(row, formatted=True, layout="aligned")
    assert aligned.endswith(f"<answer> the answer is {row['answer']}.</answer>")
    assert check_format(aligned.split("Assistant:")[-1]).status == "correct"
    with pytest.raises(ConfigError, match="layout"):
        pretraining_corpus(10, 0, layout="tabs")


def test_aligned_layout_puts_steps_and_answer_at_the_same_token_offsets(tmp_path):
    """The point of layout="aligned": with the tiny tokenizer, the formatted document differs from the prose
    one only in which tokens sit at three positions, so a tiny model's skill carries over between modes."""
    from transformers import AutoTokenizer

    from r1harness.train.tiny_model import init_tiny_model

    docs = pretraining_corpus(
        600, 0, format_share=0.5, layout="aligned", template="user-assistant@1", passes=2
    )
    assert len(docs) == 1200
    tok = AutoTokenizer.from_pretrained(init_tiny_model(tmp_path / "m", corpus=docs, layers=1, hidden=32))
    row = arithmetic.generate(3, 5, digits=2)[2]
    plain = tok(document(row, formatted=False, template="user-assistant@1", layout="aligned"))["input_ids"]
    formatted = tok(document(row, formatted=True, template="user-assistant@1", layout="aligned"))["input_ids"]
    differ = [i for i, (a, b) in enumerate(zip(plain, formatted)) if a != b]
    assert len(formatted) == len(plain) + 1  # only the closing </answer> is extra
    assert [tok.convert_ids_to_tokens(formatted[i]) for i in differ] == ["<think>", "</think>", "<answer>"]


def _safe_eval(expr: str) -> int:
    def ev(node):
        if isinstance(node, ast.Constant):
            return Fraction(node.value)
        ops = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}
        return ops[type(node.op)](ev(node.left), ev(node.right))

    return int(ev(ast.parse(expr, mode="eval").body))


def test_problems_are_distinct_and_prefix_stable():
    rows = arithmetic.generate(3000, 0, digits=2)
    assert len({r["problem"] for r in rows}) == 3000
    assert arithmetic.generate(10, 0, digits=2) == rows[:10]
    assert len({r["problem"] for r in countdown.generate(500, 0)}) == 500
    with pytest.raises(ConfigError, match="distinct"):
        arithmetic.generate(200, 0, digits=1)  # only 100 one-digit sums exist
