"""Reading a store: no write access needed, nothing created or changed by read-only commands, writers
never blocked by an outside reader, and `views.sql` for any DuckDB session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from r1harness.cli import main
from r1harness.errors import StoreError
from r1harness.store import Store

R1H = [sys.executable, "-m", "r1harness.cli"]


def _store_with_rows(path: Path) -> Store:
    from r1harness.store.ids import prompt_id, rollout_id
    from r1harness.store.runs import finish_run, start_run

    store = Store.open(path)
    prompts = [
        {"prompt_id": prompt_id("toy", f"q{i}"), "dataset": "toy", "problem": f"q{i}", "answer": str(i)}
        for i in range(5)
    ]
    store.append("prompts", prompts)
    for b in range(3):
        store.append(
            "rollouts",
            [
                {
                    "rollout_id": rollout_id(p["prompt_id"], "m", "t", {}, 0, b),
                    "prompt_id": p["prompt_id"],
                    "model": "m",
                    "completion": "x",
                }
                for p in prompts
            ],
        )
    store.compact("rollouts")
    run = start_run(store, "eval", name="toy")
    finish_run(store, run, summary={"ok": 1})
    store.catalog_insert(
        "eval_results",
        [
            {
                "result_id": "r1",
                "model": "m",
                "benchmark": "toy",
                "benchmark_version": "1",
                "metric": "pass@1",
                "value": 0.5,
            }
        ],
    )
    return store


def test_read_only_commands_never_create_a_store(tmp_path, capsys):
    """Old code: `r1h leaderboard --store typo` made an empty store and exited 0."""
    typo = tmp_path / "r1h-stroe"
    assert main(["leaderboard", "--store", str(typo)]) == 1
    assert "no store at" in capsys.readouterr().err
    assert not typo.exists()
    model = tmp_path / "models" / "tiny"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}")
    for argv in (["tables"], ["sql", "SELECT 1"]):
        assert main([*argv, "--store", str(model)]) == 1
        assert "no store at" in capsys.readouterr().err
    assert sorted(p.name for p in model.iterdir()) == ["config.json"]
    with pytest.raises(StoreError, match="not an r1harness store and not empty"):
        Store.open(model)  # writers refuse a directory that is not a store
    assert sorted(p.name for p in model.iterdir()) == ["config.json"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert Store.open(empty).count("prompts") == 0  # a new or empty directory is fine


def test_sql_refuses_statements_that_would_write(tmp_path, capsys):
    """Old code: `r1h sql "DROP TABLE runs"` printed Success and changed nothing."""
    st = tmp_path / "s"
    _store_with_rows(st)
    for query in (
        "DROP TABLE runs",
        "INSERT INTO runs (run_id, kind, status) VALUES ('x', 'y', 'z')",
        "DELETE FROM runs",
        "CREATE TABLE t AS SELECT 1",
        "SELECT 1; DROP TABLE runs",
        f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'",
        f"ATTACH '{tmp_path / 'other.duckdb'}'",
    ):
        assert main(["sql", query, "--store", str(st)]) == 1, query
        assert "would write" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "other.duckdb").exists()
    assert main(["sql", "SELECT count(*) AS n FROM runs", "--store", str(st), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "1"]
    assert main(["sql", "EXPLAIN SELECT * FROM rollouts", "--store", str(st)]) == 0


def test_reading_works_on_a_read_only_mount(tmp_path):
    """Old code: `Read-only file system: .../locks/migrate.lock`."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a read-only bind mount")
    st = tmp_path / "s"
    _store_with_rows(st)
    ro = tmp_path / "ro"
    ro.mkdir()
    before = sorted(str(p.relative_to(st)) for p in st.rglob("*"))
    script = (
        f"mount --bind {st} {ro} && mount -o remount,bind,ro {ro} && "
        f"{' '.join(R1H)} tables --store {ro} --format csv && "
        f"{' '.join(R1H)} sql 'SELECT count(*) AS n FROM rollouts' --store {ro} --format csv && "
        f"{' '.join(R1H)} leaderboard --store {ro} --format csv"
    )
    res = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    if "mount:" in res.stderr and "permission denied" in res.stderr.lower():
        pytest.skip(f"bind mounts not allowed here: {res.stderr.strip()}")
    assert res.returncode == 0, res.stderr
    assert "rollouts,15,shards" in res.stdout and "n\n15" in res.stdout
    assert sorted(str(p.relative_to(st)) for p in st.rglob("*")) == before


@pytest.mark.slow
def test_four_processes_opening_one_new_store_at_once_never_fail(tmp_path):
    """Old code: 1 in 40 failed with FileExistsError."""
    code = "import sys; from r1harness.store import Store; Store.open(sys.argv[1])"
    for round_ in range(6):
        path = tmp_path / f"s{round_}" / "nested"
        procs = [
            subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.PIPE)
            for _ in range(4)
        ]
        errors = [p.communicate(timeout=120)[1].decode() for p in procs]
        assert all(p.returncode == 0 for p in procs), errors
        assert Store(path).count("rollouts") == 0


PLAIN_READER = textwrap.dedent(
    """
    import sys, time
    import duckdb, polars as pl
    store = sys.argv[1]
    con = duckdb.connect()
    con.execute(f"SET file_search_path = '{store}'")
    con.execute(open(f"{store}/views.sql").read())
    n = con.sql("SELECT count(*) FROM rollouts").fetchall()[0][0]
    runs = con.sql("SELECT count(*) FROM runs").fetchall()[0][0]
    board = con.sql("SELECT model, benchmark, value FROM leaderboard").fetchall()
    joined = con.sql("SELECT count(*) FROM rollouts JOIN prompts USING (prompt_id)").fetchall()[0][0]
    lazy = pl.scan_parquet(f"{store}/tables/rollouts/**/*.parquet").select(pl.len()).collect().item()
    ours = sorted(m for m in sys.modules if m.startswith("r1harness"))
    print(n, runs, board, joined, lazy, ours, flush=True)
    if len(sys.argv) > 2:
        time.sleep(float(sys.argv[2]))  # a notebook that keeps its session open
    """
)


def test_views_sql_gives_plain_duckdb_and_polars_the_store(tmp_path):
    st = tmp_path / "s"
    store = _store_with_rows(st)
    res = subprocess.run(
        [sys.executable, "-c", PLAIN_READER, str(st)], capture_output=True, text=True, timeout=120, cwd="/"
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split(" [")[0] == "15 1"
    assert "('m', 'toy', 0.5)" in res.stdout and res.stdout.rstrip().endswith("15 15 []")
    assert store.count("rollouts") == 15


def test_views_sql_command_prints_absolute_paths(tmp_path, capsys):
    st = tmp_path / "s"
    _store_with_rows(st)
    assert main(["sql", "--views-sql", "--store", str(st)]) == 0
    script = capsys.readouterr().out
    import duckdb

    con = duckdb.connect()
    con.execute(script)
    assert con.sql("SELECT count(*) FROM rollouts").fetchall() == [(15,)]
    assert (st / "views.sql").read_text().count("CREATE OR REPLACE VIEW") == script.count(
        "CREATE OR REPLACE VIEW"
    )


def test_a_notebook_reading_the_store_never_blocks_a_writer(tmp_path):
    """Old code: a notebook holding the catalog open blocked every writer ('Conflicting lock', 61 s)."""
    from r1harness.store.runs import start_run

    st = tmp_path / "s"
    store = _store_with_rows(st)
    reader = subprocess.Popen(
        [sys.executable, "-c", PLAIN_READER, str(st), "60"], stdout=subprocess.PIPE, text=True, cwd="/"
    )
    try:
        assert reader.stdout.readline().startswith("15 1 ")  # the session is open now
        started = time.monotonic()
        store.catalog_insert(
            "annotations",
            [{"annotation_id": "a1", "target_kind": "rollout", "target_id": "x", "label": "accept"}],
        )
        start_run(store, "eval", name="while-a-notebook-reads")
        assert time.monotonic() - started < 30  # no lock wait (the old code waited 60 s, then failed)
        assert store.sql("SELECT count(*) AS n FROM runs")["n"][0] == 2
    finally:
        reader.kill()
        reader.wait()
