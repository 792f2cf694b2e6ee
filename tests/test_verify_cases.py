"""The labelled verifier table, tests/cases/verify_*.jsonl: each case via `r1h grade` or the registry."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from r1harness.cli import main as r1h
from r1harness.verify.extract import extract_answer
from r1harness.verify.registry import get_verifier

CASES = Path(__file__).parent / "cases"


def load(name: str) -> list[dict]:
    return [
        json.loads(line) for line in (CASES / f"verify_{name}.jsonl").read_text(encoding="utf-8").splitlines()
    ]


def _mismatches(cases: list[dict], graded: list[dict]) -> list[str]:
    return [
        f"{c['id']} ({c['note']}): expected {c['expected']}, got {g['status']} [{g['reason']}] "
        f"extracted={g.get('extracted')!r}"
        for c, g in zip(cases, graded)
        if g["status"] != c["expected"]
    ]


def test_table_is_big_and_covers_every_outcome():
    kinds = {name: load(name) for name in ("math", "format", "language", "readability", "extract")}
    assert sum(len(v) for v in kinds.values()) >= 150
    math_outcomes = Counter(c["expected"] for c in kinds["math"])
    assert math_outcomes["wrong"] >= 25, "must-not-match cases"
    assert (
        math_outcomes["correct"] >= 50 and math_outcomes["unparseable"] >= 5 and math_outcomes["error"] >= 1
    )
    assert {c["kind"] for c in kinds["readability"]} == {
        f"readability.{k}"
        for k in ("mixed_language", "long_paragraph", "code_in_cot", "truncated", "repetition")
    }
    ids = [c["id"] for cases in kinds.values() for c in cases]
    assert len(ids) == len(set(ids))


def test_math_table_through_r1h_grade(tmp_path, capsys):
    cases = [c for c in load("math") if not c.get("options")]  # the default (r1) preset
    src, out = tmp_path / "in.jsonl", tmp_path / "graded.jsonl"
    src.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    assert (
        r1h(
            [
                "grade",
                "--kind",
                "math",
                str(src),
                "--out",
                str(out),
                "--workers",
                "2",
                "--json",
                "--no-progress",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    graded = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["id"] for g in graded] == [c["id"] for c in cases]  # rows written back in order
    assert _mismatches(cases, graded) == []
    assert summary["rows"] == len(cases)
    assert summary["counts"]["correct"] == sum(c["expected"] == "correct" for c in cases)
    for g in graded:
        assert (g["score"] is None) == (g["status"] in ("timeout", "error"))
        assert g["verifier_version"].endswith("+r1")


def test_must_not_match_table_has_every_false_positive_class():
    """Issue 15: each false-positive class has must-not-match cases, and none of them is graded correct."""
    notes = [c["note"] for c in load("math") if c["note"].startswith("must-not-match")]
    for needle in (
        "vector differing in one entry",
        "transposed",
        "vector vs its last entry",
        "tuple vs closed interval",
        "open vs closed interval end",
        "set missing an element",
        "scaled copy",
        "wrong sign",
    ):
        assert any(needle in n for n in notes), needle
    assert all(c["expected"] == "wrong" for c in load("math") if c["note"].startswith("must-not-match"))


def test_math_presets_through_r1h_grade(tmp_path, capsys):
    cases = [c for c in load("math") if c.get("options")]
    assert {c["options"]["extract"] for c in cases} == {
        "r1",
        "lenient",
        "gsm8k-strict-match",
        "gsm8k-flexible-extract",
    }
    graded = _grouped_cli(
        "math", cases, lambda o: ["--extract", o["extract"], "--workers", "1"], tmp_path, capsys
    )
    assert _mismatches(cases, graded) == []
    for c, g in zip(cases, graded):
        assert g["verifier_version"].endswith("+" + c["options"]["extract"]), "the preset is in the version"


def _grouped_cli(kind: str, cases: list[dict], flags_for, tmp_path, capsys) -> list[dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for c in cases:
        groups[tuple(flags_for(c["options"]))].append(c)
    graded_by_id = {}
    for i, (flags, rows) in enumerate(groups.items()):
        src, out = tmp_path / f"in{i}.jsonl", tmp_path / f"out{i}.jsonl"
        src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        assert r1h(["grade", "--kind", kind, str(src), "--out", str(out), "--no-progress", *flags]) == 0
        for line in out.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            graded_by_id[row["id"]] = row
    capsys.readouterr()
    return [graded_by_id[c["id"]] for c in cases]


def test_format_table_through_r1h_grade(tmp_path, capsys):
    cases = load("format")

    def flags(o):
        return ["--layout", o.get("layout", "r1zero")] + (
            ["--think-prefilled"] if o.get("think_prefilled") else []
        )

    graded = _grouped_cli("format", cases, flags, tmp_path, capsys)
    assert _mismatches(cases, graded) == []
    assert {g["verifier"] for g in graded} == {"format.r1zero", "format.coldstart", "format.r1"}


def test_language_table_through_r1h_grade(tmp_path, capsys):
    cases = load("language")

    def flags(o):
        return ["--target", o.get("target", "en")] + (
            [f"--opt=threshold={o['threshold']}"] if "threshold" in o else []
        )

    graded = _grouped_cli("language", cases, flags, tmp_path, capsys)
    assert _mismatches(cases, graded) == []
    for g in graded:
        if g["details"]["n_words"]:
            assert g["score"] == pytest.approx(g["details"]["share"], abs=1e-6)
        else:  # no prose words: consistent (1.0) when there is text, unparseable (0.0) when there is none
            assert g["details"]["share"] is None
            assert g["score"] == (1.0 if g["status"] == "correct" else 0.0)
    assert sum(g["details"]["n_words"] == 0 and g["status"] == "correct" for g in graded) >= 1


def test_readability_table():
    cases = load("readability")
    graded = []
    for c in cases:
        verdict = get_verifier(c["kind"])(
            [c["completion"]], [{"finish_reason": c["finish_reason"]}], **c["options"]
        )[0]
        assert "value" in verdict.details, "curation filters on the measured value"
        graded.append({"status": verdict.status, "reason": verdict.reason})
    assert _mismatches(cases, graded) == []


def test_readability_combined_through_r1h_grade(tmp_path, capsys):
    cases = [c for c in load("readability") if not c["options"]]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    assert r1h(["grade", "--kind", "readability", str(src), "--out", str(out), "--no-progress"]) == 0
    for c, line in zip(cases, out.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        check = c["kind"].split(".", 1)[1]
        if c["expected"] == "wrong" and c["finish_reason"] is None:
            assert row["status"] == "wrong" and check in row["details"]["failed"], c["id"]
        assert check in row["details"]["checks"]


def test_extraction_table():
    bad = []
    for c in load("extract"):
        options = dict(c["options"])
        if "sources" in options:
            options["sources"] = tuple(options["sources"])
        got = extract_answer(c["completion"], **options)
        if got != c["expected"]:
            bad.append(f"{c['id']} ({c['note']}): expected {c['expected']!r}, got {got!r}")
    assert bad == []
