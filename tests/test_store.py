"""The store: schema, atomic idempotent appends, readers during writes, concurrent writers, kills."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys

import pyarrow as pa
import pytest

from r1harness.errors import SchemaError, StoreError
from r1harness.store import Store
from r1harness.store.ids import prompt_id, rollout_id
from r1harness.store.schema import ALL_TABLES


def _rollouts(n: int, *, start: int = 0, model: str = "m", text: str = "x" * 50) -> list[dict]:
    return [
        {
            "rollout_id": rollout_id("p", model, "t", {"temperature": 0.6}, 0, i),
            "prompt_id": "p",
            "model": model,
            "completion": f"{text} {i}",
            "sample_index": i,
        }
        for i in range(start, start + n)
    ]


def test_open_creates_every_table_and_records_migrations(tmp_path):
    store = Store.open(tmp_path / "s")
    assert set(store.tables()) == set(ALL_TABLES)
    assert all(v == 0 for k, v in store.tables().items() if k != "migrations")
    again = Store.open(tmp_path / "s")
    from r1harness.store.migrations import MIGRATIONS

    assert again.sql("SELECT name FROM migrations ORDER BY name")["name"].to_list() == [
        name for name, _ in MIGRATIONS
    ]


def test_open_missing_without_create_names_the_path(tmp_path):
    with pytest.raises(StoreError, match="no store at"):
        Store.open(tmp_path / "nope", create=False)


def test_append_is_idempotent_and_counts_duplicates(store):
    rows = _rollouts(10)
    first = store.append("rollouts", rows)
    assert (first.written, first.skipped_existing, first.merged_duplicates) == (10, 0, 0)
    second = store.append("rollouts", rows + rows[:3] + _rollouts(2, start=10))
    assert (second.written, second.skipped_existing, second.merged_duplicates) == (2, 10, 3)
    assert store.count("rollouts") == 12
    ids = store.sql("SELECT rollout_id FROM rollouts")["rollout_id"].to_list()
    assert len(ids) == len(set(ids))


def test_sql_lazy_and_params_agree(store):
    store.append("rollouts", _rollouts(5, model="a") + _rollouts(3, model="b"))
    by_sql = dict(store.sql("SELECT model, count(*) AS n FROM rollouts GROUP BY 1").iter_rows())
    import polars as pl

    by_lazy = dict(store.lazy("rollouts").group_by("model").agg(pl.len()).collect().iter_rows())
    assert by_sql == by_lazy == {"a": 5, "b": 3}
    assert store.sql("SELECT count(*) AS n FROM rollouts WHERE model = ?", ["b"])["n"][0] == 3
    assert store.lazy("runs").collect().height == 0


def test_schema_errors_name_the_column(store):
    with pytest.raises(SchemaError, match="no column.*'colour'"):
        store.append("rollouts", [{**_rollouts(1)[0], "colour": "red"}])
    with pytest.raises(SchemaError, match="required column 'completion'"):
        store.append("rollouts", [{"rollout_id": "r", "prompt_id": "p", "model": "m"}])
    with pytest.raises(SchemaError, match="sample_index"):
        store.append("rollouts", [{**_rollouts(1)[0], "sample_index": "not a number"}])
    with pytest.raises(SchemaError, match="catalog table"):
        store.append("runs", [{"run_id": "x"}])
    assert store.count("rollouts") == 0


def test_bad_sql_is_a_store_error(store):
    with pytest.raises(StoreError, match="SQL failed"):
        store.sql("SELECT no_such_column FROM rollouts")
    # a join selecting two columns of one name names the column instead of polars' bare DuplicateError
    with pytest.raises(StoreError, match="more than one column named 'run_id'"):
        store.sql("SELECT a.run_id, b.run_id FROM runs a JOIN runs b USING (kind)")


def test_catalog_insert_and_runs(store):
    from r1harness.store.runs import finish_run, start_run

    run = start_run(store, "test", config={"lr": 1e-5})
    finish_run(store, run, summary={"ok": True})
    row = store.sql("SELECT * FROM runs").row(0, named=True)
    assert row["status"] == "finished" and json.loads(row["config"]) == {"lr": 1e-5}
    assert "duckdb" in json.loads(row["versions"])
    store.catalog_insert(
        "annotations",
        [{"annotation_id": "a1", "target_kind": "rollout", "target_id": "r", "label": "accept"}],
    )
    assert store.catalog_insert(
        "annotations",
        [{"annotation_id": "a1", "target_kind": "rollout", "target_id": "r", "label": "reject"}],
        on_conflict="ignore",
    )
    assert store.sql("SELECT label FROM annotations")["label"].to_list() == ["accept"]


# -- other processes ---------------------------------------------------------------------------------


def _writer(path: str, worker: int, batches: int, per_batch: int, overlap: int) -> None:
    store = Store.open(path)
    for b in range(batches):
        start = worker * batches * per_batch + b * per_batch
        rows = _rollouts(per_batch, start=start)
        if overlap and b:  # re-send rows another worker also writes: must not duplicate
            rows += _rollouts(overlap, start=0)
        store.append("rollouts", rows)


def test_concurrent_writer_processes_lose_and_duplicate_nothing(tmp_path):
    path = str(tmp_path / "s")
    Store.open(path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 6, 200, 50)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = Store.open(path)
    assert store.count("rollouts") == 3 * 6 * 200
    assert store.sql("SELECT count(DISTINCT rollout_id) AS n FROM rollouts")["n"][0] == 3 * 6 * 200


SLOW_WRITER = """
import sys, time
from r1harness.store import Store
sys.path.insert(0, {tests!r})
from test_store import _rollouts
store = Store.open({path!r})
store.append("rollouts", _rollouts(100))
print("first", flush=True)
time.sleep(60)   # still "running" while the test reads
"""


def test_reader_sees_committed_rows_while_writer_runs(tmp_path):
    path = str(tmp_path / "s")
    code = SLOW_WRITER.format(tests=os.path.dirname(__file__), path=path)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "first"
        store = Store.open(path)
        assert store.count("rollouts") == 100
        from r1harness.store.runs import start_run

        start_run(store, "reader-side")  # the catalog is not held by the writer either
        assert store.count("runs") == 1
    finally:
        proc.kill()
        proc.wait()


KILLED_WRITER = """
import sys, pyarrow.parquet as pq
from r1harness.store import Store
from r1harness.store import shards
sys.path.insert(0, {tests!r})
from test_store import _rollouts
store = Store.open({path!r})
real = pq.write_table
def slow_write(*a, **k):
    real(*a, **k)
    print("wrote-part", flush=True)
    import time; time.sleep(60)   # killed here: the part exists, the batch is not committed
shards.pq.write_table = slow_write
store.append("rollouts", _rollouts(500, text="y" * 300))
"""


def test_sigkill_mid_append_leaves_store_consistent_and_rerun_idempotent(tmp_path):
    path = str(tmp_path / "s")
    Store.open(path).append("rollouts", _rollouts(7, start=1000))
    code = KILLED_WRITER.format(tests=os.path.dirname(__file__), path=path)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "wrote-part"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store.open(path)
    assert store.count("rollouts") == 7  # the half-written batch is invisible
    assert any((tmp_path / "s" / "_staging").iterdir())  # it is parked in staging, not in the table
    result = store.append("rollouts", _rollouts(500, text="y" * 300) + _rollouts(7, start=1000))
    assert (result.written, result.skipped_existing) == (500, 7)
    assert store.count("rollouts") == 507


def test_import_r1harness_is_light():
    code = (
        "import sys, r1harness, r1harness.cli; r1harness.cli.build_parser(); "
        "print(sorted(m for m in ('torch', 'transformers', 'vllm', 'trl') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_arrow_append_and_polars_append(store):
    import polars as pl

    table = pa.Table.from_pylist(_rollouts(3))
    assert store.append("rollouts", table).written == 3
    assert store.append("rollouts", pl.DataFrame(_rollouts(5))).written == 2
    assert store.arrow("SELECT * FROM rollouts").num_rows == 5
    assert prompt_id("d", "p") == prompt_id("d", "p") != prompt_id("d", "q")


def test_index_confirms_key_collisions_against_real_ids(store):
    # Same first 16 hex digits (the index key), different ids: a candidate, but not a duplicate.
    a, b = "0123456789abcdef" + "0" * 16, "0123456789abcdef" + "f" * 16
    row = _rollouts(1)[0]
    store.append("rollouts", [{**row, "rollout_id": a}])
    result = store.append("rollouts", [{**row, "rollout_id": b}, {**row, "rollout_id": a}])
    assert (result.written, result.skipped_existing) == (1, 1)
    assert sorted(store.sql("SELECT rollout_id FROM rollouts")["rollout_id"].to_list()) == [a, b]


def test_fresh_store_object_sees_other_writers_ids(tmp_path):
    writer, other = Store.open(tmp_path / "s"), Store.open(tmp_path / "s")
    rows = _rollouts(20)
    assert writer.append("rollouts", rows[:10]).written == 10
    assert other.append("rollouts", rows).written == 10  # other's index picks up writer's batch
    assert writer.append("rollouts", rows).written == 0  # and writer's index picks up other's
    assert writer.existing_ids("rollouts", [rows[0]["rollout_id"], "nope"]) == {rows[0]["rollout_id"]}


def test_a_new_migration_is_applied_once_and_old_shards_gain_its_column(tmp_path, monkeypatch):
    import r1harness.store.migrations as migrations
    from r1harness.store import schema, shards

    store = Store.open(tmp_path / "s")
    store.append("rollouts", _rollouts(3))
    extra = schema.Column("judge_note", pa.string())
    new_spec = schema.ShardTable("rollouts", "rollout_id", (*schema.ROLLOUTS.columns, extra))

    def add_column(st):
        shards.write_batch(st.root, "rollouts", new_spec.schema.empty_table(), batch_name="schema-0002")

    monkeypatch.setitem(schema.SHARD_TABLES, "rollouts", new_spec)
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, ("9999_judge_note", add_column)])
    store = Store.open(tmp_path / "s")
    store.append("rollouts", [{**_rollouts(1, start=99)[0], "judge_note": "ok"}])
    Store.open(tmp_path / "s")  # applied once only
    assert store.sql("SELECT name FROM migrations ORDER BY name")["name"].to_list() == [
        *(name for name, _ in migrations.MIGRATIONS[:-1]),
        "9999_judge_note",
    ]
    notes = store.sql("SELECT judge_note FROM rollouts ORDER BY judge_note NULLS FIRST")[
        "judge_note"
    ].to_list()
    assert notes == [None, None, None, "ok"]


def test_compaction_merges_batches_without_losing_or_duplicating_rows(tmp_path):
    from r1harness.store import shards

    store = Store.open(tmp_path / "s")
    rows = _rollouts(60)
    for i in range(0, 60, 6):
        store.append("rollouts", rows[i : i + 6])
    before = len(shards.visible_batches(store.root, "rollouts"))
    result = store.compact("rollouts")
    assert result["merged_batches"] == 10 and result["rows"] == 60
    after = shards.visible_batches(store.root, "rollouts")
    assert len(after) == before - 9  # ten small batches became one (the schema batch stays)
    assert store.count("rollouts") == 60
    assert store.sql("SELECT count(DISTINCT rollout_id) AS n FROM rollouts")["n"][0] == 60
    # replaced batches leave tables/ at once but stay on disk through the grace period, for queries that
    # listed them already
    assert len(list((store.root / "tables" / "rollouts").iterdir())) == before - 9
    assert len(list((store.root / "generations" / "rollouts").iterdir())) == 2
    for fresh in (store, Store.open(tmp_path / "s")):  # idempotency survives compaction
        assert fresh.append("rollouts", rows + _rollouts(1, start=60)).written in (1, 0)
    assert store.count("rollouts") == 61
    store.append("rollouts", _rollouts(1, start=61))
    assert store.compact("rollouts", grace_s=0)["deleted_batches"] == 10
    assert store.count("rollouts") == 62
    assert store.sql("SELECT count(DISTINCT rollout_id) AS n FROM rollouts")["n"][0] == 62


def test_compact_command(tmp_path, capsys):
    from r1harness.cli import main

    store = Store.open(tmp_path / "s")
    for i in range(3):
        store.append("rollouts", _rollouts(2, start=2 * i))
    assert main(["compact", "--table", "rollouts", "--store", str(tmp_path / "s"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["merged_batches"] == 3
    assert Store.open(tmp_path / "s").count("rollouts") == 6
