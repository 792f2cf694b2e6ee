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


def test_grade_help_explains_every_extraction_preset(capsys):
    from r1harness.verify.extract import PRESETS

    with pytest.raises(SystemExit):
        r1h(["grade", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--extract PRESET" in text and "--extract gsm8k-flexible-extract" in text
    for name in PRESETS:
        assert f"{name}:" in text, name


def test_extraction_preset_is_part_of_the_version_and_validated():
    from r1harness.verify.math import MATH_VERIFIER_VERSION, MathVerifier, verify_math_batch

    assert MATH_VERIFIER_VERSION.endswith("+r1") and verify_math_batch.version == MATH_VERIFIER_VERSION
    assert verify_math_batch.version_for({}) == MATH_VERIFIER_VERSION
    lenient = verify_math_batch.version_for({"extract": "lenient"})
    assert lenient.endswith("+lenient") and lenient.split("+")[:2] == MATH_VERIFIER_VERSION.split("+")[:2]
    assert verify_math_batch.version_for({"allow_in_think": True}).endswith("+r1+in_think")
    assert MathVerifier(workers=0, extract="gsm8k-strict-match").version.endswith("+gsm8k-strict-match")
    # what the store paths compare (r1h verify, evals): the registry passes the options through
    assert verifier_version("math") == MATH_VERIFIER_VERSION
    assert verifier_version("math", {"extract": "lenient"}) == lenient
    with pytest.raises(ConfigError, match="choose from r1, lenient"):
        verify_math_batch(["x"], [{"answer": "1"}], extract="loose")
    with pytest.raises(ValueError, match="unknown extraction preset"):
        MathVerifier(workers=0, extract="loose")


def test_benchmark_spec_validates_its_extraction_preset():
    from r1harness.evals.spec import load_spec, spec_from_dict

    base = {"version": 1, "dataset": "d", "template": "t@1", "verifier": "math"}
    assert spec_from_dict(base).extract == "r1"
    assert spec_from_dict({**base, "verifier_options": {"extract": "lenient"}}).extract == "lenient"
    with pytest.raises(
        ConfigError, match="evals/x.yaml: verifier_options.extract 'loose' is no extraction preset"
    ):
        spec_from_dict({**base, "verifier_options": {"extract": "loose"}}, origin="evals/x.yaml")
    assert load_spec("math500").extract == "r1" and load_spec("gsm8k").extract == "r1"


def test_grade_with_a_preset_stamps_it_on_every_row(tmp_path, capsys):
    src = write(
        tmp_path / "in.jsonl",
        [
            json.dumps({"completion": "Natalia sold 48+24 = 72 clips.\n#### 72", "gold": "72"}),
            json.dumps({"completion": "The answer is $4$.", "gold": "4"}),
        ],
    )
    out = tmp_path / "out.jsonl"
    for preset, statuses in (("r1", ["unparseable"] * 2), ("lenient", ["correct"] * 2)):
        args = ["grade", "--kind", "math", str(src), "--out", str(out), "--workers", "0", "--no-progress"]
        assert r1h([*args, "--extract", preset]) == 0
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["status"] for r in rows] == statuses
        assert {r["verifier_version"].rsplit("+", 1)[1] for r in rows} == {preset}
    capsys.readouterr()
