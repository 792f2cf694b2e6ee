"""Agreement of the math verifier with the field's own test suites (issue 15), side by side with plain
math-verify.

The suites live as case tables in tests/cases/suite_*.jsonl, one labelled (gold, prediction, expected) pair
per line, each with its source (repository, path, commit, test function):

  math_verify     huggingface/Math-Verify tests/*.py (compare_strings / verify(parse(...)) cases)
  lighteval       huggingface/lighteval tests/unit/metrics/test_extractive_match.py (the English latex/expr
                  cases; its multiple-choice letter and non-English cases grade something else)
  hendrycks_math  hendrycks/math modeling/math_equivalence_test.py (is_equiv on extracted answers)

Columns, all on the same cases:

  r1harness          MathVerifier(workers=0) with the suite's preset (`lenient` for the free-text suites:
                     their predictions are other harnesses' outputs; the MATH suite compares extracted
                     answers, graded with grade_answers), r1harness's fixed policy knobs
  mv (same knobs)    plain math-verify: parse(gold), parse(prediction) with LatexExtractionConfig
                     (boxed_match_priority=0) + ExprExtractionConfig, verify(float_rounding=6, strict=True,
                     allow_set_relation_comp=True), i.e. configured as r1harness is
  mv (suite config)  plain math-verify configured as the test itself configures it (match types, precision,
                     strict, allow_set_relation_comp, boxed priority)

    .venv/bin/python benchmarks/verify_suites.py                 # the table
    .venv/bin/python benchmarks/verify_suites.py --diff          # and every case r1harness disagrees on
    .venv/bin/python benchmarks/verify_suites.py --convert MIRROR_ROOT   # regenerate the tables from
        git mirrors laid out as MIRROR_ROOT/<owner>+<name>/repo (reads the pinned commits below)
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

CASES = Path(__file__).resolve().parents[1] / "tests" / "cases"
SUITES = {
    "math_verify": {
        "repo": "huggingface/Math-Verify",
        "commit": "5d148cfaaf99214c2e4ffb4bc497ab042c592a7a",
        "paths": [
            "tests/test_all.py",
            "tests/test_boxed.py",
            "tests/test_strict.py",
            "tests/test_numina_cases.py",
            "tests/test_open_thoughts.py",
            "tests/test_yujianll.py",
        ],
        "boxed_match_priority": 0,
        "preset": "lenient",
    },
    "lighteval": {
        "repo": "huggingface/lighteval",
        "commit": "3fd15266bc8448b797e61462d293aa3fd40b3580",
        "paths": ["tests/unit/metrics/test_extractive_match.py"],
        "boxed_match_priority": 55,  # lighteval's compare_strings uses LatexExtractionConfig() defaults
        "preset": "lenient",
    },
    "hendrycks_math": {
        "repo": "hendrycks/math",
        "commit": "985bdc1696e88e8643f081a0ff4719da39f2ae2a",
        "paths": ["modeling/math_equivalence_test.py"],
        "preset": None,  # is_equiv compares answers already extracted: grade_answers, no extraction
    },
}
DEFAULT_CONFIG = {
    "match_types": ["latex", "expr"],
    "precision": 6,
    "strict": True,
    "allow_set_relation_comp": False,
}


# -- conversion ------------------------------------------------------------------------------------------
def _git_show(mirror_root: Path, repo: str, commit: str, path: str) -> str:
    git_dir = mirror_root / repo.replace("/", "+") / "repo"
    return subprocess.run(
        ["git", "-C", str(git_dir), "show", f"{commit}:{path}"], capture_output=True, text=True, check=True
    ).stdout


def _literal(node, params: dict):
    if isinstance(node, ast.Name) and node.id in params:
        return params[node.id]
    if isinstance(node, ast.Attribute):  # Language.ENGLISH
        return node.attr
    if isinstance(node, ast.JoinedStr):  # f"{math.sqrt(17):.15f}": a computed gold
        return eval(compile(ast.Expression(node), "<case>", "eval"), {"math": math, "__builtins__": {}})
    return ast.literal_eval(node)


def _call_config(fn: ast.FunctionDef, params: dict) -> dict | None:
    """The compare_strings(...) / verify(parse(...)) configuration a parametrized test uses."""
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None)
        if name == "compare_strings":
            config = dict(DEFAULT_CONFIG)
            if len(node.args) > 2:  # lighteval: compare_strings(gold, pred, language, match_types=...)
                config["language"] = _literal(node.args[2], params)
            for kw in node.keywords:
                config[kw.arg] = _literal(kw.value, params)
            return config
        if name == "verify":  # test_yujianll: verify(parse(gold), parse(pred)) with every default
            return {**DEFAULT_CONFIG, "parse_defaults": True}
    return None


def _parametrized_cases(text: str):
    """(test name, params dict, config) for every gold/pred parametrize case in a pytest file."""
    for fn in ast.parse(text).body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        for deco in fn.decorator_list:
            if not (isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "parametrize"):
                continue
            names = [n.strip() for n in ast.literal_eval(deco.args[0]).split(",")]
            if not {"gold", "pred"} <= set(names) or not {"expected", "result"} & set(names):
                continue
            for element in deco.args[1].elts:
                values = [_literal(v, {}) for v in element.elts]
                params = dict(zip(names, values))
                config = _call_config(fn, params)
                if config is not None:
                    yield fn.name, params, config


def convert_pytest_suite(suite: str, mirror_root: Path) -> list[dict]:
    meta = SUITES[suite]
    rows = []
    for path in meta["paths"]:
        text = _git_show(mirror_root, meta["repo"], meta["commit"], path)
        for test, params, config in _parametrized_cases(text):
            expected = params.get("expected", params.get("result"))
            language = config.pop("language", "ENGLISH")
            keep = set(config.get("match_types", [])) <= {"latex", "expr"} and language == "ENGLISH"
            if not keep:  # multiple-choice letters / other languages: not what a math verifier grades
                continue
            config = {k: v for k, v in config.items() if k in DEFAULT_CONFIG or k == "parse_defaults"}
            if "boxed_match_priority" in meta and not config.get("parse_defaults"):
                config["boxed_match_priority"] = meta["boxed_match_priority"]
            rows.append(
                {
                    "suite": suite,
                    "source": {"repo": meta["repo"], "path": path, "commit": meta["commit"], "test": test},
                    "gold": params["gold"],
                    "prediction": params["pred"],
                    "expected": "correct" if int(expected) else "wrong",
                    "config": config,
                }
            )
    return rows


def convert_hendrycks(mirror_root: Path) -> list[dict]:
    meta = SUITES["hendrycks_math"]
    path = meta["paths"][0]
    text = _git_show(mirror_root, meta["repo"], meta["commit"], path)
    rows = []
    for cls in ast.parse(text).body:
        for fn in getattr(cls, "body", []):
            if not isinstance(fn, ast.FunctionDef):
                continue
            values, expected = {}, None
            for node in ast.walk(fn):
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                    values[node.targets[0].id] = ast.literal_eval(node.value)
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in (
                    "assertTrue",
                    "assertFalse",
                ):
                    expected = "correct" if node.func.attr == "assertTrue" else "wrong"
            rows.append(
                {
                    "suite": "hendrycks_math",
                    "source": {"repo": meta["repo"], "path": path, "commit": meta["commit"], "test": fn.name},
                    "gold": values["test_in"],
                    "prediction": values["test_out"],
                    "expected": expected,
                    "config": {**DEFAULT_CONFIG, "boxed_match_priority": 0},
                }
            )
    return rows


def convert(mirror_root: Path) -> None:
    for suite in SUITES:
        rows = (
            convert_hendrycks(mirror_root)
            if suite == "hendrycks_math"
            else convert_pytest_suite(suite, mirror_root)
        )
        out = CASES / f"suite_{suite}.jsonl"
        with open(out, "w", encoding="utf-8") as fh:
            for i, row in enumerate(rows, 1):
                fh.write(json.dumps({"id": f"{suite}-{i:03d}", **row}, ensure_ascii=False) + "\n")
        print(f"wrote {len(rows)} cases to {out}")


# -- grading ---------------------------------------------------------------------------------------------
def load_suite(suite: str) -> list[dict]:
    path = CASES / f"suite_{suite}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def grade_r1harness(suite: str, cases: list[dict]) -> list[str]:
    """r1harness's verdict per case (in-process: no deadline pool needed for a few hundred pairs)."""
    from r1harness.verify.math import MathVerifier

    preset = SUITES[suite]["preset"]
    golds = [c["gold"] for c in cases]
    with MathVerifier(workers=0) as verifier:
        if preset is None:
            verdicts = verifier.grade_answers([c["prediction"] for c in cases], golds)
        else:
            verdicts = verifier.verify_batch([c["prediction"] for c in cases], golds, extract=preset)
    return [v.status for v in verdicts]


def grade_plain(cases: list[dict], *, suite_config: bool) -> list[str]:
    """Plain math-verify, configured like r1harness (suite_config=False) or like the suite's test."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    out = []
    for c in cases:
        cfg = c["config"] if suite_config else {**DEFAULT_CONFIG, "allow_set_relation_comp": True}
        if cfg.get("parse_defaults"):
            targets = [LatexExtractionConfig(), ExprExtractionConfig()]
        else:
            latex = LatexExtractionConfig(boxed_match_priority=cfg.get("boxed_match_priority", 0))
            kinds = {"latex": latex, "expr": ExprExtractionConfig()}
            targets = [kinds[t] for t in (cfg["match_types"] if suite_config else ["latex", "expr"])]
        try:
            gold, pred = parse(c["gold"], targets), parse(c["prediction"], targets)
            same = verify(
                gold,
                pred,
                float_rounding=cfg["precision"],
                strict=cfg["strict"],
                allow_set_relation_comp=cfg["allow_set_relation_comp"],
            )
        except Exception:  # plain math-verify raising is a failed comparison for the table
            same = False
        out.append("correct" if same else "wrong")
    return out


def agree(cases: list[dict], statuses: list[str]) -> int:
    # unparseable / error / timeout count as "not correct", as in the suites (0 = not equivalent)
    return sum((s == "correct") == (c["expected"] == "correct") for c, s in zip(cases, statuses))


def table(show_diff: bool) -> dict:
    results = {}
    header = (
        f"{'suite':<16}{'cases':>6}  {'r1harness':>16}  {'mv (same knobs)':>16}  {'mv (suite config)':>18}"
    )
    print(header)
    print("-" * len(header))
    diffs = defaultdict(list)
    for suite in SUITES:
        cases = load_suite(suite)
        ours = grade_r1harness(suite, cases)
        plain = grade_plain(cases, suite_config=False)
        own = grade_plain(cases, suite_config=True)
        n = len(cases)
        row = {
            name: agree(cases, s) for name, s in (("r1harness", ours), ("mv_same", plain), ("mv_suite", own))
        }
        results[suite] = {"cases": n, **row}
        cells = [f"{row[k]:>4}/{n} {row[k] / n:6.1%}" for k in ("r1harness", "mv_same", "mv_suite")]
        print(f"{suite:<16}{n:>6}  {cells[0]:>16}  {cells[1]:>16}  {cells[2]:>18}")
        for c, s, p, o in zip(cases, ours, plain, own):
            if (s == "correct") != (c["expected"] == "correct"):
                diffs[suite].append((c, s, p, o))
    if show_diff:
        for suite, rows in diffs.items():
            print(f"\n== {suite}: {len(rows)} disagreements (id | expected | r1harness | mv same | mv suite)")
            for c, s, p, o in rows:
                pair = f"{c['gold']!r} vs {c['prediction'][:120]!r}"
                print(f"{c['id']} | {c['expected']} | {s} | {p} | {o} | {pair}")
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--convert", metavar="MIRROR_ROOT", type=Path, help="regenerate tests/cases/suite_*.jsonl"
    )
    ap.add_argument("--diff", action="store_true", help="list every case r1harness disagrees on")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON at the end")
    args = ap.parse_args(argv)
    if args.convert:
        convert(args.convert)
        return 0
    results = table(args.diff)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
