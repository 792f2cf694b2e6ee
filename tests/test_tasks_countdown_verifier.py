"""Countdown verifier: (completion, numbers, target, expected status) table plus the registry entry."""

import pytest

from r1harness.verify.countdown import verify_countdown, verify_countdown_batch
from r1harness.verify.registry import get_verifier

CASES = [
    ("<answer> (14 / 2) * 13 </answer>", [13, 14, 2], 91, "correct"),
    ("<think>try</think> <answer>14*13/2 = 91</answer>", [13, 14, 2], 91, "correct"),
    ("<answer>7 / 2 * 2</answer>", [7, 2, 2], 7, "correct"),  # exact fractions
    ("<answer>1 + 2</answer> <answer>3 * 1</answer>", [1, 2, 3], 3, "correct"),  # the last tag counts
    ("<answer> 14 * 14 </answer>", [13, 14, 2], 91, "wrong"),  # 14 used twice
    ("<answer> 14 * 13 </answer>", [13, 14, 2], 91, "wrong"),  # 182
    ("<answer> 5 + 2 </answer>", [13, 14, 2], 7, "wrong"),  # 5 not given
    ("<answer> 1 / 0 </answer>", [1, 0], 1, "wrong"),
    ("<answer> __import__('os') </answer>", [1], 1, "unparseable"),
    ("<answer> 2 ** 3 </answer>", [2, 3], 8, "unparseable"),  # only + - * /
    ("<answer> 1.5 * 2 </answer>", [2], 3, "unparseable"),  # integers only
    ("<answer></answer>", [1], 1, "unparseable"),
    ("The answer is 91", [13, 14, 2], 91, "unparseable"),
]


@pytest.mark.parametrize("completion,numbers,target,expected", CASES)
def test_countdown_cases(completion, numbers, target, expected):
    verdict = verify_countdown(completion, numbers, target)
    assert verdict.status == expected, verdict.reason
    assert verdict.score == (1.0 if expected == "correct" else 0.0)
    assert verdict.verifier == "countdown"


def test_use_all_demands_every_number():
    assert verify_countdown("<answer>13 * 7</answer>", [13, 7, 2], 91).status == "correct"
    assert verify_countdown("<answer>13 * 7</answer>", [13, 7, 2], 91, use_all=True).status == "wrong"


def test_batch_reads_metadata_and_reports_bad_references_as_errors():
    fn = get_verifier("countdown")
    assert fn is verify_countdown_batch
    refs = [
        {"answer": "3", "metadata": '{"numbers": [1, 2], "target": 3}'},
        {"answer": "3", "metadata": {"numbers": [1, 2]}},  # target from answer
        {"answer": None, "metadata": "{}"},
    ]  # broken reference: not the model's fault
    out = fn(["<answer>1+2</answer>"] * 3, refs)
    assert [v.status for v in out] == ["correct", "correct", "error"]
    assert out[2].score is None
