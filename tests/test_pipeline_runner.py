"""The stage runner: runs rows, resume from the first unfinished stage, kills between and inside stages.

These tests drive the runner with small stage functions that do real store work (append prompts, record
their calls) so the runner's bookkeeping is checked in seconds; the real stages run in
test_pipeline_e2e.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from r1harness.errors import ConfigError
from r1harness.pipeline import config_from_dict, pipeline_run_id, run_pipeline, stage_runs
from r1harness.pipeline.runner import adopt_runs
from r1harness.store import Store
from r1harness.store.ids import prompt_id
from r1harness.store.runs import start_run

REPO = Path(__file__).resolve().parents[1]
CONFIG = {"name": "unit", "prompts": {"tasks": [{"task": "arithmetic", "train": 5, "heldout": 2}]}}


def _config(tmp_path, **extra):
    return config_from_dict({**CONFIG, "work_dir": str(tmp_path / "work"), **extra})


def recording_stages(calls: list, fail_at: str | None = None):
    """Stages that append one prompt each (real store writes) and start a child run to be adopted."""

    def make(name):
        def stage(ctx):
            calls.append(name)
            if name == fail_at:
                raise KeyboardInterrupt(f"killed in {name}")
            ctx.store.append(
                "prompts", [{"prompt_id": prompt_id("unit", name), "dataset": "unit", "problem": name}]
            )
            child = start_run(ctx.store, "child", name=f"{name}-child")
            return {"model": f"/models/{name}", "runs": [child], "seen": sorted(ctx.outputs)}

        return stage

    return {name: make(name) for name in ("one", "two", "three", "four")}


def test_stage_rows_and_lineage(store, tmp_path):
    calls = []
    result = run_pipeline(store, _config(tmp_path), stages=recording_stages(calls), progress=False)
    assert result.complete and calls == ["one", "two", "three", "four"]
    runs = store.sql("SELECT run_id, kind, name, status, parent_run_id FROM runs").to_dicts()
    pipe = [r for r in runs if r["kind"] == "pipeline"]
    assert len(pipe) == 1 and pipe[0]["status"] == "finished" and pipe[0]["run_id"] == result.run_id
    stages = {r["name"]: r for r in runs if r["kind"].startswith("pipeline.")}
    assert set(stages) == {"one", "two", "three", "four"}
    assert all(r["parent_run_id"] == result.run_id and r["status"] == "finished" for r in stages.values())
    children = {r["name"]: r["parent_run_id"] for r in runs if r["kind"] == "child"}
    assert children == {f"{n}-child": stages[n]["run_id"] for n in stages}  # adopted under their stage
    # Later stages saw the earlier stages' outputs.
    assert result.outputs["four"]["seen"] == ["one", "three", "two"]


def test_resume_after_interrupt_runs_from_first_unfinished_stage(store, tmp_path):
    calls = []
    cfg = _config(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(store, cfg, stages=recording_stages(calls, fail_at="three"), progress=False)
    status = {n: r["status"] for n, r in stage_runs(store, pipeline_run_id(cfg)).items()}
    assert status == {"one": "finished", "two": "finished", "three": "interrupted"}
    calls.clear()
    result = run_pipeline(store, cfg, stages=recording_stages(calls), progress=False)
    assert calls == ["three", "four"]
    assert result.skipped == ("one", "two") and result.ran == ("three", "four")
    assert result.outputs["two"]["model"] == "/models/two"  # read back from the finished row
    assert store.count("prompts") == 4  # nothing written twice
    assert store.sql("SELECT count(*) AS n FROM runs WHERE kind = 'pipeline'")["n"][0] == 1
    calls.clear()
    again = run_pipeline(store, cfg, stages=recording_stages(calls), progress=False)
    assert calls == [] and again.complete and len(again.skipped) == 4


def test_changed_config_is_a_new_run_and_fresh_forces_one(store, tmp_path):
    calls = []
    a = run_pipeline(store, _config(tmp_path), stages=recording_stages(calls), progress=False)
    b = run_pipeline(store, _config(tmp_path, seed=1), stages=recording_stages(calls), progress=False)
    c = run_pipeline(store, _config(tmp_path), stages=recording_stages(calls), progress=False, fresh=True)
    assert len({a.run_id, b.run_id, c.run_id}) == 3
    assert calls.count("one") == 3


def test_stop_after(store, tmp_path):
    calls = []
    result = run_pipeline(
        store, _config(tmp_path), stages=recording_stages(calls), progress=False, stop_after="two"
    )
    assert calls == ["one", "two"] and not result.complete
    row = store.sql("SELECT status FROM runs WHERE run_id = ?", [result.run_id]).to_dicts()[0]
    assert row["status"] == "interrupted"


@pytest.mark.parametrize(
    "change, words",
    [
        ({"cold_start": {"recipe": "no_such_recipe"}}, ["cold_start.recipe", "no_such_recipe"]),
        ({"r1zero": {"trl": {"max_step": 3}}}, ["r1zero.trl: unknown GRPOConfig option(s) ['max_step']"]),
        ({"template": "user-asistant@1"}, ["unknown template 'user-asistant@1'"]),
    ],
)
def test_pipeline_run_validates_the_whole_config_before_any_stage(tmp_path, capsys, change, words):
    """`r1h pipeline run` checks every stage's config first (the checks `r1h validate` runs): a typo in a
    late stage fails in seconds, before a run row, a model folder or the base model exists."""
    import yaml

    from r1harness.cli import main

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "work_dir": str(tmp_path / "work"), **change}))
    assert main(["pipeline", "run", str(path), "--store", str(tmp_path / "store"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
    assert not (tmp_path / "work").exists()
    if (tmp_path / "store").exists():
        assert Store.open(tmp_path / "store").count("runs") == 0
    calls = []  # the Python API refuses too, before its first stage
    if "template" not in change:
        with pytest.raises(ConfigError, match="nothing was run"):
            run_pipeline(
                Store.open(tmp_path / "s2"), _config(tmp_path, **change), stages=recording_stages(calls)
            )
        assert calls == [] and Store.open(tmp_path / "s2").count("runs") == 0


def test_adopt_runs_keeps_other_parents(store):
    a = start_run(store, "x")
    b = start_run(store, "x", parent_run_id="someone-else")
    adopt_runs(store, "stage-1", [a, b, None])
    parents = dict(store.sql("SELECT run_id, parent_run_id FROM runs").iter_rows())
    assert parents[a] == "stage-1" and parents[b] == "someone-else"


KILL_SCRIPT = """
import os, signal, sys
from r1harness.pipeline import config_from_dict, run_pipeline
from r1harness.store import Store
sys.path.insert(0, {tests!r})
from test_pipeline_runner import recording_stages
calls = []
stages = recording_stages(calls)
def die(ctx):
    os.kill(os.getpid(), signal.SIGKILL)
stages["three"] = die
run_pipeline(Store.open({store!r}), config_from_dict({config!r}), stages=stages, progress=False)
"""


def test_sigkill_between_stages_resumes(tmp_path):
    store_path = tmp_path / "store"
    cfg = {**CONFIG, "work_dir": str(tmp_path / "work")}
    script = KILL_SCRIPT.format(tests=str(REPO / "tests"), store=str(store_path), config=cfg)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    store = Store.open(store_path)
    run_id = pipeline_run_id(config_from_dict(cfg))
    status = {n: r["status"] for n, r in stage_runs(store, run_id).items()}
    assert status == {"one": "finished", "two": "finished", "three": "running"}  # killed: no chance to say so
    calls = []
    result = run_pipeline(store, config_from_dict(cfg), stages=recording_stages(calls), progress=False)
    assert calls == ["three", "four"] and result.complete
    assert store.count("prompts") == 4
    assert {n: r["status"] for n, r in stage_runs(store, run_id).items()} == dict.fromkeys(
        ("one", "two", "three", "four"), "finished"
    )


def test_continuing_a_run_with_a_changed_config_keeps_the_old_one(store, tmp_path):
    import json

    calls = []
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(
            store, _config(tmp_path), stages=recording_stages(calls, fail_at="three"), progress=False
        )
    run_id = pipeline_run_id(_config(tmp_path))
    unchanged = json.loads(store.sql("SELECT config FROM runs WHERE run_id = ?", [run_id])["config"][0])
    assert "earlier_configs" not in unchanged
    calls.clear()
    result = run_pipeline(
        store, _config(tmp_path, seed=5), run_id=run_id, stages=recording_stages(calls), progress=False
    )
    assert result.run_id == run_id and calls == ["three", "four"]
    config = json.loads(store.sql("SELECT config FROM runs WHERE run_id = ?", [run_id])["config"][0])
    assert config["seed"] == 5 and [c["seed"] for c in config["earlier_configs"]] == [0]


def test_stop_after_a_finished_stage_runs_nothing_more(store, tmp_path):
    calls = []
    run_pipeline(store, _config(tmp_path), stages=recording_stages(calls), progress=False, stop_after="two")
    calls.clear()
    result = run_pipeline(
        store, _config(tmp_path), stages=recording_stages(calls), progress=False, stop_after="one"
    )
    assert calls == [] and result.skipped == ("one",) and not result.complete


def test_pipeline_lets_idle_threads_sleep_unless_the_user_chose(tmp_path):
    """OMP_WAIT_POLICY=PASSIVE is set before torch loads (spinning threads cost 5-20x on a shared machine),
    and a policy the user set is kept."""
    import os

    code = (
        "import os; from r1harness.threads import passive_thread_waits; "
        "print(passive_thread_waits(), os.environ['OMP_WAIT_POLICY'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "PASSIVE"]
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "ACTIVE"]


def test_every_cli_command_chooses_passive_waits_before_torch(tmp_path):
    import os

    code = (
        "import os, sys; from r1harness.cli import main; main(['tables', '--store', sys.argv[1]]); "
        "print(os.environ.get('OMP_WAIT_POLICY'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "s")], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[-1] == "PASSIVE"


def test_a_finished_stage_whose_model_folder_is_incomplete_runs_again(store, tmp_path):
    """A kill while `final/` was written once left a finished stage whose folder held only config.json;
    the next stage loaded it. Now such a stage is not finished: it runs again, and so does what follows."""
    models = tmp_path / "models"

    def stage_with_model(name):
        def stage(ctx):
            folder = models / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "config.json").write_text("{}")
            (folder / "model.safetensors").write_bytes(b"weights")
            return {"model": str(folder)}

        return stage

    stages = {n: stage_with_model(n) for n in ("one", "two", "three")}
    cfg = _config(tmp_path)
    assert run_pipeline(store, cfg, stages=stages, progress=False).complete
    (models / "two" / "model.safetensors").unlink()
    again = run_pipeline(store, cfg, stages=stages, progress=False)
    assert again.skipped == ("one",) and again.ran == ("two", "three")

    def broken(ctx):
        (models / "bad").mkdir(exist_ok=True)
        (models / "bad" / "config.json").write_text("{}")
        return {"model": str(models / "bad")}

    with pytest.raises(Exception, match="does not load"):
        run_pipeline(store, cfg, stages={"one": stages["one"], "bad": broken}, progress=False, fresh=True)
