"""The CLI's conventions (r1harness/commands/_common.py): an example in every --help, --format
table|csv|json|parquet on every listing or reporting command, `--set KEY=VALUE` for overrides, old
spellings kept as hidden aliases that warn, and one variable for the benchmark data folder."""

from __future__ import annotations

import argparse
import json

import polars as pl
import pytest

from r1harness.cli import build_parser, main
from r1harness.commands._common import FORMATS, emit
from r1harness.errors import ConfigError

# Commands that print a listing or a report: each must take every format of FORMATS.
REPORTING = [
    ("sql",),
    ("tables",),
    ("compact",),
    ("leaderboard",),
    ("benchmarks", "list"),
    ("eval",),
    ("sets", "list"),
    ("sets", "show"),
    ("sets", "diff"),
    ("audit", "sample"),
    ("curate",),
    ("pipeline", "status"),
    ("validate",),
    ("verify",),
    ("ingest",),
    ("grade",),
]
# `r1h export --format` names the exported file's format (jsonl | parquet | hf), not a listing format.
NOT_A_LISTING_FORMAT = {("export",)}


def _subparsers(parser: argparse.ArgumentParser):
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _commands(parser=None, path=()):
    """(path, parser) of every command and sub-command, deprecated aliases included."""
    parser = parser or build_parser()
    sub = _subparsers(parser)
    if sub is None:
        return [(path, parser)]
    out = [(path, parser)] if path else []
    for name, child in sub.choices.items():
        out += _commands(child, (*path, name))
    return out


ALL = _commands()


def _option(parser, flag):
    return next((a for a in parser._actions if flag in a.option_strings), None)


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=" ".join)
def test_every_command_help_shows_an_example(path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "example:" in text and "r1h " in text.split("example:", 1)[1], f"r1h {' '.join(path)} --help"


@pytest.mark.parametrize("path", REPORTING, ids=" ".join)
def test_listing_and_reporting_commands_take_every_format(path):
    parser = dict(ALL)[path]
    fmt = _option(parser, "--format")
    assert fmt is not None, f"r1h {' '.join(path)} has no --format"
    assert set(FORMATS) <= set(fmt.choices) and fmt.default == "table"


def test_no_command_has_a_format_option_outside_the_convention():
    for path, parser in ALL:
        fmt = _option(parser, "--format")
        if fmt is not None and path not in NOT_A_LISTING_FORMAT:
            assert set(FORMATS) <= set(fmt.choices), f"r1h {' '.join(path)} --format {fmt.choices}"


def test_overrides_are_spelled_set_everywhere():
    for path, parser in ALL:
        for action in parser._actions:
            if "--option" in action.option_strings:  # only as the hidden deprecated alias
                assert action.help == argparse.SUPPRESS and _option(parser, "--set") is not None, path


def test_the_old_override_spelling_still_works_and_warns(capsys):
    args = build_parser().parse_args(
        ["train", "grpo", "--config", "x.yaml", "-o", "trl.beta=0.1", "--set", "model=m", "--option", "a=1"]
    )
    assert args.set == ["trl.beta=0.1", "model=m", "a=1"]
    err = capsys.readouterr().err
    assert "-o is deprecated" in err and "--option is deprecated" in err and "use --set" in err


def test_evals_is_the_deprecated_name_of_benchmarks(capsys):
    assert main(["benchmarks", "list", "--format", "json"]) == 0
    new = json.loads(capsys.readouterr().out)
    assert "aime24" in {s["name"] for s in new}
    assert main(["evals", "list", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == new
    assert "r1h evals is deprecated" in captured.err and "r1h benchmarks" in captured.err
    assert "evals" not in build_parser().format_help()  # unlisted


def test_validate_takes_a_format(capsys):
    assert main(["validate", "--kind", "eval", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["kind"] == "eval" and r["ok"] and r["problem"] is None for r in rows)


def test_an_unknown_validate_kind_is_a_clear_error(capsys):
    assert main(["validate", "--kind", "no_such_kind"]) == 1
    assert "no validator for kind 'no_such_kind'" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ emit()
ROWS = [{"name": "a", "n": 1, "tags": ["x", "y"]}, {"name": "b", "n": 2, "tags": []}]


@pytest.mark.parametrize("data", [ROWS, pl.DataFrame(ROWS)], ids=["dicts", "polars"])
def test_emit_writes_each_format(data, tmp_path, capsys):
    emit(data, "json")
    assert json.loads(capsys.readouterr().out) == ROWS
    emit(data, "csv")
    assert capsys.readouterr().out.splitlines() == ["name,n,tags", 'a,1,"[""x"", ""y""]"', "b,2,[]"]
    emit(data, "table")
    table = capsys.readouterr().out
    assert "name" in table and "b" in table and "shape" not in table
    out = tmp_path / "rows.parquet"
    emit(data, "parquet", str(out))
    assert pl.read_parquet(out).to_dicts() == ROWS
    assert "wrote 2 rows" in capsys.readouterr().err


def test_emit_one_summary_dict_is_one_row(capsys):
    emit({"dataset": "aime24", "written": 30}, "csv")
    assert capsys.readouterr().out.splitlines() == ["dataset,written", "aime24,30"]


def test_emit_parquet_needs_a_file(capsys):
    with pytest.raises(ConfigError, match="--out FILE"):
        emit(ROWS, "parquet")
    assert capsys.readouterr().out == ""


def test_emit_to_a_file(tmp_path, capsys):
    out = tmp_path / "rows.json"
    emit(ROWS, "json", str(out))
    assert json.loads(out.read_text()) == ROWS and capsys.readouterr().out == ""


# ------------------------------------------------------------------------------ benchmark data folder
def test_data_dir_reads_r1h_data_dir(monkeypatch, tmp_path):
    from r1harness.paths import data_dir

    monkeypatch.setenv("R1H_DATA_DIR", str(tmp_path / "new"))
    monkeypatch.setenv("R1H_SHARED_DATA", str(tmp_path / "old"))
    assert data_dir() == tmp_path / "new"


def test_the_old_data_variable_still_works_and_warns(monkeypatch, tmp_path):
    from r1harness.paths import data_dir

    monkeypatch.delenv("R1H_DATA_DIR", raising=False)
    monkeypatch.setenv("R1H_SHARED_DATA", str(tmp_path / "old"))
    with pytest.warns(FutureWarning, match="R1H_SHARED_DATA is deprecated; set \\$R1H_DATA_DIR"):
        assert data_dir() == tmp_path / "old"


def test_manifests_read_benchmark_files_from_r1h_data_dir(monkeypatch, tmp_path):
    from r1harness.ingest import load_manifest

    monkeypatch.setenv("R1H_DATA_DIR", str(tmp_path))
    manifest = load_manifest("aime24")
    assert str(manifest.local_path).startswith(str(tmp_path))


# ------------------------------------------------------------------------------ summary commands
def test_a_summary_in_each_format_and_the_old_json_switch(tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        json.dumps({"completion": "<think>a</think><answer>1</answer>"}) + "\n" + '{"completion": "no"}\n'
    )
    grade = ["grade", "--kind", "format", str(rows), "--layout", "r1zero", "--no-progress"]
    assert main([*grade, "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["counts"]["correct"] == 1 and summary["counts"]["wrong"] == 1
    assert main([*grade, "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["counts"] == summary["counts"]
    assert "--json is deprecated" in captured.err and "--format json" in captured.err
    assert main([*grade, "--format", "csv"]) == 0
    header, values = capsys.readouterr().out.splitlines()
    row = dict(zip(header.split(","), values.split(",")))
    assert (row["counts.correct"], row["counts.wrong"], row["accuracy"]) == ("1", "1", "0.5")
    out = tmp_path / "summary.parquet"
    assert main([*grade, "--format", "parquet", "--summary-out", str(out)]) == 0
    assert pl.read_parquet(out)["counts.correct"].to_list() == [1]
    assert main([*grade, "--format", "parquet"]) == 1  # binary output needs a file
    assert "give --summary-out FILE" in capsys.readouterr().err


def test_a_set_is_named_positionally_and_the_old_set_option_warns(capsys):
    # --set means KEY=VALUE overrides everywhere; commands that take a set name it as NAME@vN
    parser = build_parser()
    assert parser.parse_args(["audit", "sample", "tiny@v1"]).ref == "tiny@v1"
    assert parser.parse_args(["audit", "sample", "--set", "tiny@v1"]).old_ref == "tiny@v1"
    assert "--set is deprecated" in capsys.readouterr().err
    sft = parser.parse_args(["train", "sft", "cold@v1", "--model", "m", "--out", "o", "--set", "trl.beta=1"])
    assert (sft.ref, sft.set) == ("cold@v1", ["trl.beta=1"])


# ------------------------------------------------------------------------------ documented examples
def _documented_commands() -> list[str]:
    """Every `r1h ...` line of the README's, docs' and every --help's examples."""
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    lines = []
    for doc in [repo / "README.md", *sorted((repo / "docs").glob("*.md")), *sorted(repo.glob("*/README.md"))]:
        lines += [m.group(1) for m in re.finditer(r"^\s*(r1h [^\n]*)$", doc.read_text(), re.M)]
    for _, parser in ALL:
        example = (parser.epilog or "").split("example:", 1)[-1]
        lines += [line.strip() for line in example.splitlines() if line.strip().startswith("r1h ")]
    commands = []
    for line in lines:
        line = re.sub(r"\s+#.*$", "", line.rstrip("\\").strip())  # trailing comments
        line = re.split(r"\s[|<>]\s", line)[0]  # shell pipes and redirections
        commands += [part.strip() for part in line.split("&&") if part.strip().startswith("r1h ")]
    return sorted(set(commands))


@pytest.mark.parametrize("command", _documented_commands())
def test_documented_examples_parse_without_deprecated_spellings(command, capsys):
    import shlex

    argv = shlex.split(command)[1:]
    if argv[-1].endswith("\\"):  # a continued line: the rest is on the next line
        pytest.skip("continued on the next line")
    try:
        build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help
        assert exit_.code == 0, command
    assert "deprecated" not in capsys.readouterr().err, command
