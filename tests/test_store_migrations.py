"""Migrations: killed half-way and completed on the next open, a format version older code will not
write into, type changes that both readers survive, and format-1 stores converted in place."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pytest

import r1harness.store.migrations as migrations
from r1harness.errors import StoreError
from r1harness.store import Store, schema, shards
from r1harness.store.catalog import catalog_transaction


def _rollouts(n: int, start: int = 0, **extra) -> list[dict]:
    from r1harness.store.ids import rollout_id

    return [
        {
            "rollout_id": rollout_id("p", "m", "t", {}, 0, i),
            "prompt_id": "p",
            "model": "m",
            "completion": f"c{i}",
            "sample_index": i,
            **extra,
        }
        for i in range(start, start + n)
    ]


def _with_migration(monkeypatch, name, fn):
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, (name, fn)])


def test_a_migration_killed_after_its_schema_batch_completes_on_the_next_open(tmp_path, monkeypatch):
    """Old code: every later open failed with 'Directory not empty' on the schema batch's rename."""
    store = Store.open(tmp_path / "s")
    store.append("rollouts", _rollouts(3))
    extra = schema.Column("judge_note", pa.string())
    spec = schema.ShardTable("rollouts", "rollout_id", (*schema.ROLLOUTS.columns, extra))
    monkeypatch.setitem(schema.SHARD_TABLES, "rollouts", spec)

    def killed(st):
        shards.write_batch(st.root, "rollouts", spec.schema.empty_table(), batch_name="schema-0099")
        raise KeyboardInterrupt  # the process dies before the migration is recorded

    _with_migration(monkeypatch, "9999_judge_note", killed)
    with pytest.raises(KeyboardInterrupt):
        Store.open(tmp_path / "s")

    def complete(st):
        shards.write_batch(st.root, "rollouts", spec.schema.empty_table(), batch_name="schema-0099")

    _with_migration(monkeypatch, "9999_judge_note", complete)
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS[:-2], migrations.MIGRATIONS[-1]])
    store = Store.open(tmp_path / "s")
    assert "9999_judge_note" in store.sql("SELECT name FROM migrations")["name"].to_list()
    store.append("rollouts", _rollouts(1, start=3, judge_note="ok"))
    assert store.sql("SELECT count(*) AS n, count(judge_note) AS j FROM rollouts").to_dicts() == [
        {"n": 4, "j": 1}
    ]


def test_older_code_refuses_to_write_into_a_newer_store_but_reads_it(tmp_path, monkeypatch):
    store = Store.open(tmp_path / "s")
    store.append("rollouts", _rollouts(2))
    newer = migrations.format_version() + 1
    marker = tmp_path / "s" / migrations.MARKER
    marker.write_text(json.dumps({"format": newer, "written_by": "r1harness 9.0"}))
    with pytest.raises(StoreError, match=f"format {newer}.*writes format {newer - 1}"):
        Store.open(tmp_path / "s")
    reader = Store.open(tmp_path / "s", readonly=True)
    assert reader.count("rollouts") == 2 and reader.lazy("rollouts").collect().height == 2
    with pytest.raises(StoreError, match="read-only"):
        reader.append("rollouts", _rollouts(1, start=5))


def test_a_store_with_migrations_this_code_does_not_know_is_not_written(tmp_path):
    Store.open(tmp_path / "s")
    with catalog_transaction(tmp_path / "s" / "catalog.duckdb") as con:
        con.execute("INSERT INTO migrations (name) VALUES ('9999_from_the_future')")
    with pytest.raises(StoreError, match="9999_from_the_future.*Upgrade r1harness"):
        Store.open(tmp_path / "s")


def test_a_downgrade_keeps_the_data_readable(tmp_path, monkeypatch):
    """A store migrated by newer code (one more column) read by older code: its rows and columns show."""
    extra = schema.Column("judge_note", pa.string())
    spec = schema.ShardTable("rollouts", "rollout_id", (*schema.ROLLOUTS.columns, extra))
    with monkeypatch.context() as m:
        m.setitem(schema.SHARD_TABLES, "rollouts", spec)
        m.setattr(
            migrations,
            "MIGRATIONS",
            [
                *migrations.MIGRATIONS,
                (
                    "9999_judge_note",
                    lambda st: shards.write_batch(
                        st.root, "rollouts", spec.schema.empty_table(), batch_name="schema-0099"
                    ),
                ),
            ],
        )
        Store.open(tmp_path / "s").append("rollouts", _rollouts(2, judge_note="new"))
    old = Store.open(tmp_path / "s", readonly=True)
    assert old.count("rollouts") == 2
    assert old.lazy("rollouts").collect().height == 2  # the unknown column is left out, rows are not
    with pytest.raises(StoreError, match="format"):
        Store.open(tmp_path / "s")


def test_a_type_changing_migration_keeps_sql_and_lazy_working(tmp_path, monkeypatch):
    """Old code: lazy() failed on shards written with the old type."""
    import polars as pl

    store = Store.open(tmp_path / "s")
    store.append("rollouts", _rollouts(3))
    cols = tuple(
        schema.Column(c.name, pa.int64(), c.required, c.doc) if c.name == "sample_index" else c
        for c in schema.ROLLOUTS.columns
    )
    cols = tuple(schema.Column(c.name, pa.string(), c.required) if c.name == "seed" else c for c in cols)
    spec = schema.ShardTable("rollouts", "rollout_id", cols)
    monkeypatch.setitem(schema.SHARD_TABLES, "rollouts", spec)
    _with_migration(
        monkeypatch,
        "9999_wider_types",
        lambda st: shards.write_batch(
            st.root, "rollouts", spec.schema.empty_table(), batch_name="schema-0099"
        ),
    )
    store = Store.open(tmp_path / "s")
    store.append("rollouts", _rollouts(2, start=3, seed="s-7"))
    frame = store.lazy("rollouts").collect()
    assert frame.height == 5
    assert frame.schema["sample_index"] == pl.Int64 and frame.schema["seed"] == pl.String
    assert sorted(frame["sample_index"].to_list()) == [0, 1, 2, 3, 4]
    assert store.sql("SELECT count(*) AS n, sum(sample_index) AS s FROM rollouts").to_dicts() == [
        {"n": 5, "s": 10}
    ]
    store.compact("rollouts")  # compaction casts the old shards too
    assert store.lazy("rollouts").collect().height == 5


def _write_plain_batch(d, name, rows, supersedes=None) -> None:
    from r1harness.store.rows import conform

    (d / name).mkdir()
    table = conform(pa.Table.from_pylist(rows), schema.ROLLOUTS)
    shards.pq.write_table(table, d / name / "part-00000.parquet")
    if supersedes is not None:
        (d / name / shards.SUPERSEDES).write_text(json.dumps(supersedes))


def _make_format1(root) -> None:
    """Turn a fresh store's rollouts table into the format-1 layout (a plain directory), holding the
    chain of compactions the old cleanup broke: B replaced A and `late`, A replaced a1..a3."""
    Store.open(root)
    link = root / "tables" / "rollouts"
    real = link.resolve()
    link.unlink()
    shutil.copytree(real, link)
    for name, start in (("a1", 0), ("a2", 10), ("a3", 20), ("late", 30)):
        _write_plain_batch(link, name, _rollouts(10, start))
    _write_plain_batch(link, "compact-A", _rollouts(30), ["a1", "a2", "a3"])
    _write_plain_batch(link, "compact-B", _rollouts(40), ["compact-A", "late"])
    shutil.rmtree(root / "generations" / "rollouts")
    with catalog_transaction(root / "catalog.duckdb") as con:
        con.execute("DELETE FROM migrations WHERE name = '0002_generations'")
    (root / migrations.MARKER).unlink()


def test_a_format1_store_is_read_and_converted_without_resurrecting_rows(tmp_path):
    root = tmp_path / "s"
    _make_format1(root)
    assert Store.open(root, readonly=True).count("rollouts") == 40  # read before any conversion
    store = Store.open(root)
    assert (root / "tables" / "rollouts").is_symlink()
    assert store.sql("SELECT count(*) AS n, count(DISTINCT rollout_id) AS d FROM rollouts").to_dicts() == [
        {"n": 40, "d": 40}
    ]
    store.compact("rollouts", grace_s=0)
    assert store.count("rollouts") == 40


def test_a_conversion_killed_between_its_steps_completes_on_the_next_open(tmp_path):
    root = tmp_path / "s"
    _make_format1(root)
    gens = root / "generations" / "rollouts"
    gens.mkdir(parents=True)
    (root / "tables" / "rollouts").rename(gens / shards.LEGACY_GEN)  # killed right after its first step
    (gens / "g00000001").mkdir()  # ... and half-way through building the first generation
    with pytest.raises(StoreError, match="interrupted migration"):
        shards.ensure_table(root, "rollouts")  # nothing writes into a half-converted table
    assert Store.open(root, readonly=True).count("rollouts") == 40  # readers see the old layout meanwhile
    store = Store.open(root)
    assert store.count("rollouts") == 40
    assert json.loads((root / migrations.MARKER).read_text())["format"] == migrations.format_version()
