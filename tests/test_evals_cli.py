"""The evaluation commands: r1h benchmarks list, validate, eval, leaderboard, import lm-eval."""

from __future__ import annotations

import json
from pathlib import Path

from r1harness.cli import main

SCRIPT = {
    "responses": {"Every morning Aya": "\\boxed{204}", "There exist real numbers": "\\boxed{25}"},
    "default": "\\boxed{0}",
}


def test_benchmarks_list_and_validate(capsys):
    assert main(["benchmarks", "list", "--format", "json"]) == 0
    specs = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert set(specs) == {
        "aime24",
        "aime25",
        "amc23",
        "math500",
        "gsm8k",
        "humaneval",
        "livecodebench",
        "code_contests",
        "codeforces",
    }
    assert specs["aime24"]["n"] == 64 and specs["aime24"]["cons"] == "64"
    assert main(["validate", "--kind", "eval"]) == 0
    assert "9 ok, 0 failed" in capsys.readouterr().err
    assert main(["validate"]) == 0  # every registered kind


def test_validate_reports_a_broken_spec(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ndataset: no_such_set\ntemplate: r1-math@9\nverifier: math\n")
    assert main(["validate", str(bad), "--kind", "eval"]) == 1
    err = capsys.readouterr().out
    assert "template: unknown template 'r1-math@9'" in err and "no manifest 'no_such_set'" in err


def test_eval_then_leaderboard(tmp_path, capsys, shared_data):  # AIME 2024 from the benchmark data folder
    store = str(tmp_path / "s")
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    argv = [
        "eval",
        "--store",
        store,
        "--backend",
        "fake",
        "--model",
        str(script),
        "--bench",
        "aime24",
        "--n",
        "2",
        "--limit",
        "4",
        "--no-progress",
        "--format",
        "json",
    ]
    assert main(argv) == 0
    rows = {(r["metric"], r["breakdown"]): r for r in json.loads(capsys.readouterr().out)}
    assert rows[("pass@1", None)]["value"] == 0.5 and rows[("pass@1", None)]["n_problems"] == 4
    assert main(["leaderboard", "--store", store, "--format", "md", "--metric", "pass@1,pass@2"]) == 0
    md = capsys.readouterr().out
    assert "aime24@v1 pass@1" in md and "50.0 [" in md and "n=4x2" in md
    assert main(["leaderboard", "--store", store, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("model,benchmark,benchmark_version,protocol_id")


def test_import_lm_eval_command(tmp_path, capsys):
    fixture = Path(__file__).parent / "fixtures" / "lmeval" / "run1"
    assert main(["import", "lm-eval", str(fixture), "--store", str(tmp_path / "s"), "--model", "tiny"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tasks"] == ["gsm8k_r1h_local"] and out["results"] == 2
