"""Shared plumbing: the one run lifecycle (`recorded_run`), the one "module:attr" resolver, the one config
loader (unknown keys suggest the closest valid one, dotted overrides)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from r1harness.configs import apply_overrides, build, check_keys
from r1harness.errors import ConfigError, IngestError
from r1harness.resolve import resolve
from r1harness.store.runs import recorded_run


def _row(store, run_id: str) -> dict:
    row = store.sql("SELECT status, error, summary FROM runs WHERE run_id = ?", [run_id]).to_dicts()[0]
    return {**row, "summary": json.loads(row["summary"] or "{}")}


def test_recorded_run_finished_keeps_the_summary_and_its_seconds(store):
    with recorded_run(store, "test", name="ok", config={"a": 1}) as run:
        run.summary = {"n": 3}
    row = _row(store, run.run_id)
    assert row["status"] == "finished" and row["error"] is None
    assert row["summary"]["n"] == 3
    assert row["summary"]["seconds"] >= 0 and row["summary"]["cpu_seconds"] >= 0


def test_recorded_run_ctrl_c_is_interrupted_not_failed(store):
    with pytest.raises(KeyboardInterrupt), recorded_run(store, "test") as run:
        raise KeyboardInterrupt
    row = _row(store, run.run_id)
    assert row["status"] == "interrupted" and row["error"].startswith("KeyboardInterrupt")


def test_recorded_run_failure_keeps_the_whole_error_text(store):
    message = "x" * 4_990 + "THE END"  # longer than the 1,000 / 2,000 characters older copies kept
    with pytest.raises(ValueError), recorded_run(store, "test") as run:
        run.summary = {"done_before_failing": 7}
        raise ValueError(message)
    row = _row(store, run.run_id)
    assert row["status"] == "failed"
    assert row["error"] == f"ValueError: {message}" and row["error"].endswith("THE END")
    assert row["summary"]["done_before_failing"] == 7  # what the block got done is kept too


def test_recorded_run_context_prefixes_the_error_and_status_can_be_set(store):
    with pytest.raises(RuntimeError), recorded_run(store, "test") as run:
        run.context = "stage sft2"
        raise RuntimeError("boom")
    assert _row(store, run.run_id)["error"] == "stage sft2: RuntimeError: boom"
    with recorded_run(store, "test") as stopped:
        stopped.status = "interrupted"  # e.g. a pipeline stopped early with --stop-after
    assert _row(store, stopped.run_id)["status"] == "interrupted"


def test_resolver_returns_the_attribute_and_names_what_is_missing():
    assert resolve("json:dumps") is json.dumps
    assert resolve("json:JSONDecoder.decode") is json.JSONDecoder.decode
    with pytest.raises(ConfigError, match=r"'json\.dumps' is not of the form 'package\.module:attribute'"):
        resolve("json.dumps")
    with pytest.raises(ConfigError, match=r"generator 'no_such_mod:f': cannot import module 'no_such_mod'"):
        resolve("no_such_mod:f", what="generator")
    with pytest.raises(IngestError, match=r"module 'json' has no attribute 'dumpz'"):
        resolve("json:dumpz", error=IngestError)


@dataclass(frozen=True)
class _Inner:
    learning_rate: float = 1e-5


@dataclass(frozen=True)
class _Outer:
    name: str = "x"
    inner: _Inner = _Inner()
    trl: dict = field(default_factory=dict)


def test_typo_in_a_key_suggests_the_closest_valid_key():
    with pytest.raises(ConfigError) as err:
        build(_Outer, {"nmae": "y"}, "cfg.yaml")
    assert str(err.value).startswith("cfg.yaml: unknown key(s) ['nmae'] (did you mean 'name'?)")
    assert "valid keys are ['inner', 'name', 'trl']" in str(err.value)
    nested = {"inner": lambda value, where: build(_Inner, value, where)}
    with pytest.raises(ConfigError, match="did you mean 'learning_rate'"):
        build(_Outer, {"inner": {"learnig_rate": 1}}, "cfg", convert=nested)
    with pytest.raises(ConfigError, match=r"cfg\.inner: unknown key\(s\) \['zzz'\]; valid"):  # no guess
        build(_Outer, {"inner": {"zzz": 1}}, "cfg", convert=nested)
    with pytest.raises(ConfigError, match="did you mean 'name' for 'naem', 'trl' for 'tlr'"):
        check_keys({"naem": 1, "tlr": 2}, {"name", "trl"}, "cfg")


def test_dotted_overrides_apply_in_one_place():
    data = apply_overrides({"name": "a", "trl": {"beta": 0.1}}, {"trl.learning_rate": 2e-5, "name": "b"})
    assert data == {"name": "b", "trl": {"beta": 0.1, "learning_rate": 2e-5}}
    with pytest.raises(ConfigError, match="cannot set name.x: name is not a mapping"):
        apply_overrides({"name": "a"}, {"name.x": 1})


# Through the callers: these fail on the code before recorded_run (Ctrl-C recorded as "failed", error
# text cut at 2,000 characters, no "did you mean").


def test_ctrl_c_during_ingest_is_recorded_as_interrupted(store, monkeypatch):
    from r1harness.ingest.ingest import ingest_records

    def interrupted_append(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "append", interrupted_append)
    with pytest.raises(KeyboardInterrupt):
        ingest_records(store, [{"problem": "1+1", "answer": "2"}], ["x:1"], dataset="d", source="x")
    assert store.sql("SELECT status FROM runs WHERE kind = 'ingest'")["status"].to_list() == ["interrupted"]


def test_a_failing_pipeline_stage_keeps_its_whole_error(store, tmp_path):
    from r1harness.pipeline import config_from_dict, run_pipeline

    message = "y" * 4_990 + "THE END"

    def failing(ctx):
        raise RuntimeError(message)

    cfg = config_from_dict(
        {
            "name": "unit",
            "prompts": {"tasks": [{"task": "arithmetic", "train": 5, "heldout": 2}]},
            "work_dir": str(tmp_path / "work"),
        }
    )
    with pytest.raises(RuntimeError):
        run_pipeline(store, cfg, stages={"one": failing}, progress=False)
    rows = store.sql("SELECT kind, status, error FROM runs ORDER BY kind").to_dicts()
    assert [(r["kind"], r["status"]) for r in rows] == [("pipeline", "failed"), ("pipeline.one", "failed")]
    assert all(r["error"] == f"stage one: RuntimeError: {message}" for r in rows)


def test_typos_in_the_shipped_config_kinds_suggest_the_key(tmp_path):
    from r1harness.curate.recipe import recipe_from_dict
    from r1harness.evals.spec import spec_from_dict
    from r1harness.pipeline import config_from_dict
    from r1harness.train.config import GRPORunConfig, load_config

    path = tmp_path / "grpo.yaml"
    path.write_text("model: m\ndatset: d\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['datset'\] \(did you mean 'dataset'\?\)"):
        load_config(GRPORunConfig, path)
    with pytest.raises(ConfigError, match="did you mean 'prompts'"):
        config_from_dict({"name": "x", "promts": {}})
    with pytest.raises(ConfigError, match="did you mean 'per_prompt'"):
        recipe_from_dict({"name": "r", "per_promt": 2, "quotas": {"math": {"count": 1}}})
    with pytest.raises(ConfigError, match="did you mean 'verifier'"):
        spec_from_dict({"version": 1, "dataset": "d", "template": "t", "verifer": "math"})
