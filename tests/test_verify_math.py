"""Math verifier: deadlines, worker replacement, threads, cache, equivalence classes, normalisation."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from r1harness.verify.math import (
    MATH_VERIFIER_VERSION,
    MathVerifier,
    answers_equivalent,
    cluster_answers,
    normalize_answer,
    shared_verifier,
    verify_math,
)
from r1harness.verify.pool import DeadlinePool

DEADLINE = 1.0
NESTED = "\\frac{1}{" * 3000 + "2" + "}" * 3000  # thousands of nested fractions


@pytest.fixture(scope="module")
def verifier():
    """The process-wide verifier that verify_math(..., workers=2, timeout_s=DEADLINE) also uses."""
    return shared_verifier(2, DEADLINE)


def boxed(answer: str) -> str:
    return f"<think>\nreasoning\n</think>\nThe answer is $\\boxed{{{answer}}}$."


@pytest.mark.parametrize(
    "answer",
    ["10^{10^{10^{10}}}", NESTED, "1" * 1_000_000, "1e" + "9" * 5000, "2e999999999"],
    ids=["tower", "nested", "megadigits", "long-exponent", "huge-exponent"],
)
def test_pathological_inputs_return_within_their_deadline(verifier, answer):
    # a worker is up (a fresh key, so not a cache hit; not a plain number, which would skip the pool)
    verifier.verify_batch([boxed(f"x+{len(answer)}")], ["2"])
    started = time.monotonic()
    verdict = verifier.verify_batch([boxed(answer)], ["1"])[0]
    elapsed = time.monotonic() - started
    # the deadline plus the parent's own work (extracting a megabyte, killing the worker) on a shared machine
    assert elapsed < DEADLINE + 2.5, f"took {elapsed:.1f}s with a {DEADLINE}s deadline"
    assert verdict.status in ("timeout", "wrong", "unparseable", "error")
    if verdict.status == "timeout":
        assert verdict.score is None and "deadline" in verdict.reason


def test_timeout_never_scores_and_the_rest_of_the_batch_is_graded(verifier):
    completions = [boxed("3"), boxed("10^{10^{10^{10}}}"), boxed("\\frac{1}{2}"), boxed("7")]
    started = time.monotonic()
    verdicts = verifier.verify_batch(completions, ["3", "1", "0.5", "8"])
    assert time.monotonic() - started < DEADLINE + 2.0
    assert [v.status for v in verdicts] == ["correct", "timeout", "correct", "wrong"]
    assert verdicts[1].score is None and verdicts[1].is_infra_failure
    assert verdicts[1].version == MATH_VERIFIER_VERSION


def test_timeouts_are_not_cached_but_answers_are():
    with MathVerifier(workers=1, timeout_s=DEADLINE) as v:
        v.verify_batch([boxed("2+2"), boxed("2+2"), boxed("\\frac{8}{2}")], ["4", "4", "4"])
        info = v.cache_info()
        assert info["misses"] == 2 and info["size"] == 2 and info["hits"] == 1  # the repeat was graded once
        v.verify_batch([boxed("2 + 2"), boxed("2+2")], ["4", "4"])
        assert v.cache_info()["hits"] == 2  # "2+2" again; "2 + 2" is a different key
        v.verify_batch([boxed("10^{10^{10^{10}}}")], ["1"])
        assert v.cache_info()["size"] == 3 and v.cache_info()["workers_replaced"] == 1


def test_worker_killed_mid_batch_is_replaced_and_batch_completes():
    with MathVerifier(workers=2, timeout_s=5.0) as v:
        v.verify_batch([boxed("x+1")], ["2"])  # start the workers (plain numbers would skip the pool)
        victim = v._pool._workers[0].proc.pid
        timer = threading.Timer(0.05, os.kill, (victim, signal.SIGKILL))
        timer.start()
        answers = [f"{i}/7" for i in range(200)]  # fractions: every one goes through the workers
        verdicts = v.verify_batch([boxed(a) for a in answers], [f"\\frac{{{i}}}{{7}}" for i in range(200)])
        timer.join()
        statuses = [x.status for x in verdicts]
        assert len(verdicts) == 200
        assert statuses.count("correct") >= 199  # at most the item in flight is lost
        assert set(statuses) <= {"correct", "error"}
        assert all(w.proc.pid != victim for w in v._pool._workers)
        assert v.cache_info()["workers_replaced"] >= 1
        # the replacement works
        assert v.verify_batch([boxed("\\frac{10}{2}")], ["5"])[0].status == "correct"


def die_on_negative(item: int) -> int:
    """Pool test task (imported by the worker): dies on negative input, hangs on 999."""
    if item < 0:
        os._exit(3)
    if item == 999:
        time.sleep(60)
    return item * 2


def test_pool_survives_crashes_and_hangs():
    with DeadlinePool(f"{__name__}:die_on_negative", workers=2, timeout_s=0.5, chunk_size=4) as pool:
        outcomes = pool.map([1, 2, -1, 3, 999, 4, 5, -2, 6])
        assert [o.kind for o in outcomes] == ["ok", "ok", "error", "ok", "timeout", "ok", "ok", "error", "ok"]
        assert [o.value for o in outcomes if o.kind == "ok"] == [2, 4, 6, 8, 10, 12]
        assert pool.replaced == 3


def worker_pid(item: int) -> int:
    """Pool test task: which worker process ran this item."""
    time.sleep(0.02)
    return os.getpid()


def test_pool_lanes_keep_a_key_on_one_worker_and_idle_workers_help():
    with DeadlinePool(f"{__name__}:worker_pid", workers=2, timeout_s=5.0, chunk_size=8) as pool:
        pool.start()
        pids = [o.value for o in pool.map(list(range(8)), lanes=[0, 1] * 4)]
        assert len(set(pids[0::2])) == 1 and len(set(pids[1::2])) == 1 and pids[0] != pids[1]
        pids = [o.value for o in pool.map(list(range(16)), lanes=[0] * 16)]  # one lane: both still work
        assert len(set(pids)) == 2
        with pytest.raises(ValueError, match="lanes"):
            pool.map([1, 2], lanes=[0])


def test_grading_from_threads_works(verifier):
    golds = ["\\frac{1}{2}", "3", "x^2", "\\sqrt{2}"] * 5
    answers = ["0.5", "3", "x \\cdot x", "\\sqrt{2}"] * 5

    def grade(i):
        return verify_math(boxed(answers[i]), golds[i], timeout_s=DEADLINE, workers=2)

    with ThreadPoolExecutor(max_workers=4) as ex:
        verdicts = list(ex.map(grade, range(len(golds))))
    assert [v.status for v in verdicts] == ["correct"] * len(golds)


def test_in_process_mode_matches_pool(verifier):
    completions = [boxed("50\\%"), boxed("(4,3)"), "no answer", boxed("x \\le 1")]
    golds = ["0.5", "(3,4)", "1", "(-\\infty, 1]"]
    with MathVerifier(workers=0) as local:
        assert (
            [v.status for v in local.verify_batch(completions, golds)]
            == [v.status for v in verifier.verify_batch(completions, golds)]
            == ["correct", "wrong", "unparseable", "correct"]
        )


def test_length_mismatch_is_an_error(verifier):
    with pytest.raises(ValueError, match="one gold per completion"):
        verifier.verify_batch(["a", "b"], ["1"])


def test_cluster_answers_groups_equivalent_answers_in_first_appearance_order(verifier):
    answers = ["0.5", "3", None, "\\frac{1}{2}", "1/2", "x=3", "7", "3.0"]
    assert cluster_answers(answers, verifier) == [0, 1, None, 0, 0, 1, 2, 1]
    assert cluster_answers([], verifier) == []
    assert cluster_answers([None, "2"], verifier) == [None, 0]


def test_answers_equivalent(verifier):
    assert answers_equivalent("\\frac{1}{2}", "0.5", verifier=verifier)
    assert answers_equivalent("(-\\infty, 1]", "x \\le 1", verifier=verifier)
    assert not answers_equivalent("(3,4)", "(4,3)", verifier=verifier)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("$\\dfrac{1}{2}$", "\\frac{1}{2}"),
        ("1,000", "1000"),
        ("1{,}000", "1000"),
        ("1\\,000,000", "1000000"),
        ("12 345", "12345"),
        ("\\left( 1, 2 \\right)", "( 1, 2 )"),
        ("  7. ", "7"),
        ("\\$18.90", "18.90"),
        ("3e5", "300000"),
        ("2.5e-3", "0.0025"),
        ("1e100000", "1 \\times 10^{100000}"),
        ("10,\\!080", "10080"),
        ("0,111", "0,111"),
        ("10 weeks", "10"),
        ("5 million", "5 million"),
        ("3 xy", "3 xy"),
        ("5 cm", "5"),
        ("1, 2", "1, 2"),
        ("(1,000)", "(1,000)"),
        ("\\pi r", "\\pi r"),
        ("$1$ or $2$", "$1$ or $2$"),
        ("\\(x+1\\)", "x+1"),
        ("\\frac 1  2", "\\frac 1 2"),
    ],
)
def test_normalize_answer_only_makes_meaning_preserving_rewrites(raw, expected):
    assert normalize_answer(raw) == expected


def test_plain_number_fast_path_agrees_with_math_verify():
    import random

    from r1harness.verify.math import plain_number_compare
    from r1harness.verify.math_worker import compare

    rng = random.Random(0)
    pairs = [
        ("5", "5"),
        ("5.0", "5"),
        ("-0", "0"),
        ("007", "7"),
        ("2.50", "2.5"),
        ("0.333333", "0.333334"),
        ("123456789012345", "123456789012346"),
        ("1.5", "-1.5"),
        ("10", "100"),
        ("x = 5", "5"),
        ("x=5", "6"),
        ("5", "y = 5"),
        ("n = -2.5", "-2.50"),
        ("5", "x = 4"),
    ]
    for _ in range(60):
        a = rng.choice([str(rng.randint(-999, 999)), f"{rng.uniform(-50, 50):.{rng.randint(1, 6)}f}"])
        b = a if rng.random() < 0.3 else rng.choice([str(rng.randint(-999, 999)), f"{float(a) + 1e-6:.6f}"])
        pairs.append((a, b))
    for pred, gold in pairs:
        fast = plain_number_compare(pred, gold)
        assert fast is not None, (pred, gold)
        assert fast[0] == compare((pred, gold))[0], (pred, gold)
    for pred, gold in [
        ("x = 5", "y = 5"),
        ("0.3333333", "1"),
        ("xy = 5", "5"),
        ("x = 2x", "2"),
        ("5", "1/2"),
    ]:
        assert plain_number_compare(pred, gold) is None, (pred, gold)


def test_math_registry_entry_options():
    from r1harness.errors import ConfigError
    from r1harness.verify.math import verify_math_batch

    inside = "<think>\n\\boxed{4}\n</think>\nSo there."
    refs = [{"answer": "4"}]
    assert verify_math_batch([inside], refs, workers=2, timeout_s=DEADLINE)[0].status == "unparseable"
    verdict = verify_math_batch([inside], refs, workers=2, timeout_s=DEADLINE, allow_in_think=True)[0]
    assert verdict.status == "correct"
    with pytest.raises(ConfigError, match="unknown math verifier options \\['timeout'\\]"):
        verify_math_batch([inside], refs, timeout=3)


@pytest.mark.parametrize("preset", ["lenient", "gsm8k-flexible-extract"])
@pytest.mark.parametrize(
    "answer",
    [
        "1" * 1_000_000,
        "$" * 200_000 + "1",
        "$$" + "a" * 500_000,
        "2e999999999",
        "(1/" * 100_000,
        "$1$ 2 " * 100_000,
        "The answer is " * 50_000,
    ],
    ids=["megadigits", "dollars", "open-display", "huge-exponent", "open-fractions", "spans", "phrases"],
)
def test_pathological_prose_under_the_lenient_presets_returns_within_the_deadline(verifier, preset, answer):
    """The lenient extractors run in the parent (no deadline there): their regexes must stay linear."""
    verifier.verify_batch([boxed(f"x+{len(answer)}")], ["2"])
    started = time.monotonic()
    verdict = verifier.verify_batch([f"We find that it is {answer} in the end."], ["7"], extract=preset)[0]
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + 2.5, f"took {elapsed:.1f}s with a {DEADLINE}s deadline"
    assert verdict.status in ("timeout", "wrong", "unparseable", "error")


@pytest.mark.parametrize(
    "answer,shape",
    [
        ("7", (1, 0)),
        ("1, 2", (2, 0)),
        ("\\{1, 2, 3\\}", (3, 0)),
        ("(45, 2)", (1, 2)),
        ("(1,2),(3,4)", (2, 0)),
        ("[1, 2]", (1, 0)),
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", (1, 0)),
        ("f(1, 2)", (1, 0)),
    ],
)
def test_answer_shape_counts_the_values_a_gold_lists(answer, shape):
    from r1harness.verify.math import answer_shape

    assert answer_shape(answer) == shape


@pytest.mark.parametrize(
    "gold,expected",
    [
        ("7", "7"),
        ("so $n = \\boxed{1,-2}.$", "1,-2"),
        ("\\boxed{1} no no no \\boxed{2}", "2"),
        ("\\(\\boxed{1}\\) and \\(\\boxed{-2}\\).", "1, -2"),
        ("$\\boxed{1}\\boxed{2}$", "1, 2"),
        ("\\boxed{5$}", "5"),
    ],
)
def test_a_worked_solution_gold_is_graded_by_its_boxed_answer(gold, expected):
    from r1harness.verify.math import gold_answer

    assert gold_answer(gold) == expected


def test_decimal_comma_only_against_a_decimal():
    from r1harness.verify.math import decimal_comma

    assert decimal_comma("1000,99", "1000.99") == ("1000.99", "1000.99")
    assert decimal_comma("1.22", "1,22") == ("1.22", "1.22")
    assert decimal_comma("1,22", "122") == ("1,22", "122")  # a list or a typo, never 1.22 against 122
    assert decimal_comma("1,2", "1, 2") == ("1,2", "1, 2")


def test_environment_names_are_not_prose():
    from r1harness.verify.math_worker import is_prose

    assert not is_prose("\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}")
    assert not is_prose("\\left\\{\\begin{array}{cc} 1 & 2 \\end{array}\\right\\}")
    assert is_prose("The answer is five apples")
