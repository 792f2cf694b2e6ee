"""`r1h grade` input handling and the registry / config errors around the verifiers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from r1harness.cli import main as r1h
from r1harness.errors import ConfigError
from r1harness.verify.readability import readability_checks
from r1harness.verify.registry import VERIFIERS, get_verifier, stored_name, verifier_version


def write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "lines,message",
    [
        (
            ['{"completion": "\\\\boxed{1}", "gold": "1"}', '{"completion": 5, "gold": "1"}'],
            "in.jsonl:2: field 'completion' must be a string",
        ),
        (['{"completion": "x", "gold": "1"}', "", '{"completion": "x"'], "in.jsonl:3: not valid JSON"),
        (['{"output": "x", "gold": "1"}'], "in.jsonl:1: no field 'completion' (fields: ['gold', 'output'])"),
        (['{"completion": "x", "answer": "1"}'], "in.jsonl:1: no field 'gold'"),
        (["[1, 2]"], "in.jsonl:1: expected a JSON object"),
        (['{"completion": "x", "gold": null}'], "in.jsonl:1: gold field 'gold' must be a string or number"),
        ([], "in.jsonl: no rows to grade"),
    ],
)
def test_bad_input_names_file_and_line_and_writes_nothing(tmp_path, capsys, lines, message):
    src = write(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    assert r1h(["grade", "--kind", "math", str(src), "--out", str(out)]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


def test_field_options_and_text_summary(tmp_path, capsys):
    src = write(
        tmp_path / "in.jsonl",
        [
            json.dumps({"output": "So \\boxed{12}.", "answer": 12}),
            json.dumps({"output": "So \\boxed{13}.", "answer": "12"}),
        ],
    )
    out = tmp_path / "out.jsonl"
    assert (
        r1h(
            [
                "grade",
                "--kind",
                "math",
                str(src),
                "--completion-field",
                "output",
                "--gold-field",
                "answer",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert (
        "graded 2 rows (math)" in text
        and "correct 1" in text
        and "wrong 1" in text
        and "accuracy 0.5000" in text
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["correct", "wrong"]
    assert rows[0]["output"] == "So \\boxed{12}." and rows[0]["extracted"] == "12"  # input fields kept


def test_missing_input_file(tmp_path, capsys):
    assert r1h(["grade", "--kind", "format", str(tmp_path / "nope.jsonl")]) == 1
    assert "nope.jsonl: no such file" in capsys.readouterr().err


def test_unknown_verifier_lists_the_registered_names():
    with pytest.raises(ConfigError, match="registered verifiers: .*format.r1zero.*math"):
        get_verifier("maths")


def test_registry_entries_resolve_and_declare_versions():
    for name in VERIFIERS:
        assert callable(get_verifier(name)), name
        assert verifier_version(name), name
    assert stored_name("format", {"layout": "coldstart"}) == "format.coldstart"
    assert stored_name("readability.repetition") == "readability.repetition"


def test_unknown_readability_threshold_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown readability thresholds \\['max_paragraph'\\]"):
        readability_checks("text", max_paragraph=5)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        readability_checks("text", max_repeated_ngram_share=2)


def test_importing_r1harness_and_the_cli_stays_light():
    code = (
        "import sys, r1harness, r1harness.cli as c; c.build_parser(); import r1harness.verify.registry; "
        "print(sorted(m for m in ('torch', 'sympy', 'math_verify', 'polars') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.replace("'", '"')) == []
