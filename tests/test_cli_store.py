"""`r1h ingest`, `r1h sql`, `r1h tables`, and --help with an example on every command."""

from __future__ import annotations

import json

from r1harness.cli import build_parser, main


def _ingest_aime(store_path, capsys):
    assert main(["ingest", "--manifest", "aime24", "--store", str(store_path)]) == 0
    return capsys.readouterr().out


def test_ingest_then_sql_in_every_format(tmp_path, capsys, shared_data):
    st = tmp_path / "s"
    assert "aime24: read 30, new 30" in _ingest_aime(st, capsys)
    q = "SELECT dataset, count(*) AS n FROM prompts GROUP BY 1"
    assert main(["sql", q, "--store", str(st), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"dataset": "aime24", "n": 30}]
    assert main(["sql", q, "--store", str(st), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["dataset,n", "aime24,30"]
    assert main(["sql", q, "--store", str(st)]) == 0
    assert "aime24" in capsys.readouterr().out
    out = tmp_path / "o.parquet"
    assert main(["sql", q, "--store", str(st), "--format", "parquet", "--out", str(out)]) == 0
    import polars as pl

    assert pl.read_parquet(out).to_dicts() == [{"dataset": "aime24", "n": 30}]


def test_sql_csv_writes_lists_and_structs_as_json(tmp_path, capsys, shared_data):
    # CSV has no nested types; `list(...)` is common in rollout analysis and used to crash polars' writer
    import csv
    import io

    st = tmp_path / "s"
    _ingest_aime(st, capsys)
    q = (
        "SELECT 'x' AS k, list(answer::INT ORDER BY answer::INT)[1:2] AS lo, {'n': count(*)} AS s "
        "FROM prompts"
    )
    assert main(["sql", q, "--store", str(st), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 and rows[0]["k"] == "x"
    assert json.loads(rows[0]["s"]) == {"n": 30}
    low = json.loads(rows[0]["lo"])
    assert len(low) == 2 and low == sorted(low)


def test_sql_reads_the_query_from_stdin(tmp_path, capsys, monkeypatch, shared_data):
    import io

    st = tmp_path / "s"
    _ingest_aime(st, capsys)
    monkeypatch.setattr("sys.stdin", io.StringIO("SELECT max(answer::INT) AS m FROM prompts"))
    assert main(["sql", "--store", str(st), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"m": 902}]


def test_store_comes_from_env(tmp_path, capsys, monkeypatch, shared_data):
    monkeypatch.setenv("R1H_STORE", str(tmp_path / "env-store"))
    assert main(["ingest", "--manifest", "amc23"]) == 0
    capsys.readouterr()
    assert main(["tables", "--format", "json"]) == 0
    counts = {r["table"]: r["rows"] for r in json.loads(capsys.readouterr().out)}
    assert counts["prompts"] == 40 and counts["runs"] == 1


def test_user_errors_exit_1_with_a_message(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "a"}\nnot json\n')
    assert main(["ingest", str(bad), "--dataset", "b", "--store", str(tmp_path / "s")]) == 1
    assert "bad.jsonl:2: malformed JSON" in capsys.readouterr().err
    assert main(["ingest", str(bad), "--store", str(tmp_path / "s")]) == 1
    assert "--dataset NAME is required" in capsys.readouterr().err
    assert (
        main(["ingest", str(bad), "--dataset", "b", "--map", "problem", "--store", str(tmp_path / "s")]) == 1
    )
    assert "FIELD=COLUMN" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()  # failed ingests leave no empty store behind
    assert main(["sql", "SELECT 1", "--store", str(tmp_path / "s")]) == 1
    assert "no store at" in capsys.readouterr().err
    from r1harness.store import Store

    Store.open(tmp_path / "s")
    assert main(["sql", "SELEC 1", "--store", str(tmp_path / "s")]) == 1
    assert "SQL failed" in capsys.readouterr().err


def test_every_command_has_help_with_an_example():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert {"ingest", "sql", "tables"} <= set(sub.choices)
    for name, p in sub.choices.items():
        text = p.format_help()
        assert "example" in text and "r1h " in text, f"`r1h {name} --help` shows no example"


def test_python_m_entry_point(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "r1harness", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "ingest" in out.stdout


def test_sql_on_a_missing_store_does_not_create_one(tmp_path, capsys):
    typo = tmp_path / "typo-store"
    assert main(["sql", "SELECT 1", "--store", str(typo)]) == 1
    assert "no store at" in capsys.readouterr().err and not typo.exists()


def test_issue_14_compact_compact_cleanup_sequence_never_doubles_a_row(tmp_path, capsys):
    """Old code: 130 rows for 80 prompt ids after the third `r1h compact` (and a plain Parquet glob
    double-counted after each compaction)."""
    import duckdb

    st = tmp_path / "s"
    glob = str(st / "tables" / "prompts" / "**" / "*.parquet")

    def counts() -> tuple[int, int, int]:
        assert main(["sql", "SELECT count(*) AS n, count(DISTINCT prompt_id) AS d FROM prompts",
                     "--store", str(st), "--format", "json"]) == 0  # fmt: skip
        row = json.loads(capsys.readouterr().out)[0]
        plain = duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall()[0][0]
        return row["n"], row["d"], plain

    def ingest(i: int) -> None:
        path = tmp_path / f"in{i}.jsonl"
        path.write_text(
            "".join(json.dumps({"problem": f"p{i}-{j}", "answer": str(j)}) + "\n" for j in range(10))
        )
        assert main(["ingest", str(path), "--dataset", f"d{i}", "--store", str(st)]) == 0
        capsys.readouterr()

    def compact(*extra: str) -> None:
        assert main(["compact", "--table", "prompts", "--store", str(st), *extra]) == 0
        capsys.readouterr()

    for i in range(5):
        ingest(i)
        assert counts() == (10 * (i + 1),) * 3
    compact()
    assert counts() == (50, 50, 50)
    for i in range(5, 8):
        ingest(i)
        assert counts() == (10 * (i + 1),) * 3
    compact()
    assert counts() == (80, 80, 80)
    compact("--grace", "0")
    assert counts() == (80, 80, 80)
    ingest(8)
    compact("--grace", "0")
    assert counts() == (90, 90, 90)
