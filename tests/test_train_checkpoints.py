"""Checkpoints and final weights are whole or absent: a GRPO run killed at each step of a checkpoint save or
of the final save resumes to a finished run whose `final/` loads, with every step's rollouts exactly once;
incomplete checkpoints left by older versions are set aside with a message instead of breaking --resume."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import test_train_grpo as grpo_case  # noqa: E402  (the tiny model, prompts and config of the GRPO tests)

from r1harness.train.checkpoints import checkpoint_complete, model_dir_complete  # noqa: E402
from r1harness.train.grpo import run_grpo  # noqa: E402

tiny = grpo_case.tiny
STEPS = 3


def _exact_rollouts(store, run_id):
    counts = store.sql(
        "SELECT step, count(*) AS n, count(DISTINCT rollout_id) AS u FROM rollouts "
        "WHERE run_id = $1 AND stage = 'grpo' GROUP BY step ORDER BY step",
        [run_id],
    ).to_dicts()
    per_step = grpo_case.PROMPTS_PER_STEP * grpo_case.GENERATIONS
    assert counts == [{"step": s, "n": per_step, "u": per_step} for s in range(1, STEPS + 1)]


def _finished_with_loadable_final(store, out: Path, run_id: str):
    from transformers import AutoModelForCausalLM

    status = store.sql("SELECT status FROM runs WHERE run_id = $1", [run_id])["status"].to_list()
    assert status == ["finished"]
    assert model_dir_complete(out / "final")
    AutoModelForCausalLM.from_pretrained(out / "final")
    assert not (out / "final.partial").exists()
    for ckpt in out.glob("checkpoint-*"):
        assert checkpoint_complete(ckpt), ckpt


def test_resume_sets_incomplete_checkpoints_aside_and_says_so(store, tiny, tmp_path, capfd):
    grpo_case._add_prompts(store)
    out = tmp_path / "run"
    first = run_grpo(store, grpo_case._config(tiny, out, steps=2))
    # what a kill mid-save left before saves were atomic: no trainer_state.json; a folder with config only
    (out / "checkpoint-2" / "trainer_state.json").unlink()
    (out / "checkpoint-3").mkdir()
    (out / "checkpoint-3" / "config.json").write_text("{}")
    capfd.readouterr()
    again = run_grpo(store, grpo_case._config(tiny, out, steps=STEPS), resume=True)
    err = capfd.readouterr().err
    assert "checkpoint-3 is incomplete" in err and "checkpoint-2 is incomplete" in err
    assert again["resumed_from"].endswith("checkpoint-1")
    assert sorted(p.name.rsplit("-", 1)[0] for p in (out / "incomplete-checkpoints").iterdir()) == [
        "checkpoint-2",
        "checkpoint-3",
    ]
    _exact_rollouts(store, first["run_id"])
    _finished_with_loadable_final(store, out, first["run_id"])


# Each kill point: the method that SIGKILLs its own process (before doing its work) and when.
KILL_POINTS = {
    "checkpoint: model written, optimizer not": "optimizer",
    "checkpoint: optimizer written, rng not": "rng",
    "checkpoint: trainer_state half written": "trainer_state",
    "checkpoint: whole, before the rename": "rename_checkpoint",
    "final: model half saved": "final_half",
    "final: whole, before the rename": "rename_final",
}

CHILD = """
import os, signal, sys
sys.path.insert(0, {tests!r})
import test_train_grpo as case
import transformers
import r1harness.train.checkpoints as ck
import r1harness.train.grpo as grpo
from r1harness.store import Store

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def at_step(owner, name, step_of):
    original = getattr(owner, name)
    def patched(self, *args, **kwargs):
        if step_of(self) == 2:
            die()
        return original(self, *args, **kwargs)
    setattr(owner, name, patched)

point = {point!r}
if point == "optimizer":
    at_step(transformers.Trainer, "_save_optimizer_and_scheduler", lambda t: t.state.global_step)
elif point == "rng":
    at_step(transformers.Trainer, "_save_rng_state", lambda t: t.state.global_step)
elif point == "trainer_state":
    original_json = transformers.TrainerState.save_to_json
    def half_json(state, path):
        if state.global_step == 2:
            open(path, "w").write('{{"global_step": ')
            die()
        original_json(state, path)
    transformers.TrainerState.save_to_json = half_json
elif point.startswith("rename"):
    wanted = "checkpoint-2" if point == "rename_checkpoint" else "final"
    original_move = ck._move_into_place
    def move(src, dest):
        if dest.name == wanted:
            die()
        original_move(src, dest)
    ck._move_into_place = move
elif point == "final_half":
    def half_final(save_model, tokenizer, dest):
        save_model(str(dest) + ".partial")  # the weights, not the tokenizer
        die()
    grpo.save_final = half_final
run_grpo = grpo.run_grpo
run_grpo(Store.open({store!r}), case._config({model!r}, {out!r}, steps={steps}))
print("not killed")
"""


@pytest.mark.slow
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_kill_at_each_step_of_a_save_resumes_to_a_whole_run(store, tiny, tmp_path, point):
    grpo_case._add_prompts(store)
    out = tmp_path / "run"
    script = CHILD.format(
        tests=str(Path(__file__).parent),
        point=KILL_POINTS[point],
        store=str(store.root),
        model=str(tiny),
        out=str(out),
        steps=STEPS,
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr[-3000:]
    run_id = json.loads((out / "r1h_run.json").read_text())["run_id"]
    assert store.sql("SELECT status FROM runs WHERE run_id = $1", [run_id])["status"].to_list() == ["running"]
    for ckpt in out.glob("checkpoint-*"):  # nothing partial is in the Trainer's sight
        assert checkpoint_complete(ckpt), ckpt
    run_grpo(store, grpo_case._config(tiny, out, steps=STEPS), resume=True)
    _exact_rollouts(store, run_id)
    _finished_with_loadable_final(store, out, run_id)
