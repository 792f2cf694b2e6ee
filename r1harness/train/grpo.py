"""GRPO over the store: `trl.GRPOTrainer` owns the loop; r1harness supplies prompts, rewards and lineage.

Every rollout of every step is written to the store as it is produced (`rollouts` with stage "grpo", step,
reward, advantage, tokens, finish reason; a `rewards` row per component), TRL's per-step logs go to
`train_metrics`, and the run (config + library versions) to `runs`. Steps are 1-based: rollouts of step s
were sampled from the policy after s-1 updates and drive update s, which is what TRL logs as step s.
`resume=True` continues from the newest checkpoint in output_dir with the same run id; replayed steps
produce the same ids (TRL restores the RNG state), so nothing is duplicated.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

from r1harness.console import use_training_bar
from r1harness.errors import ConfigError
from r1harness.store.runs import recorded_run
from r1harness.train.checkpoints import (
    AtomicCheckpointMixin,
    model_dir_complete,
    newest_complete_checkpoint,
    save_final,
)
from r1harness.train.config import GRPORunConfig, to_dict, trl_args
from r1harness.train.data import grpo_dataset, load_prompts
from r1harness.train.rewards import build_reward_components
from r1harness.train.store_log import RolloutRecorder

log = logging.getLogger(__name__)
RUN_FILE = "r1h_run.json"


def make_trainer_class():
    """GRPOTrainer with a hook that hands each scored generation batch to the recorder (lazy: imports trl)."""
    from trl import GRPOTrainer

    class StoreGRPOTrainer(AtomicCheckpointMixin, GRPOTrainer):
        r1h_recorder: RolloutRecorder | None = None

        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            recorder = self.r1h_recorder
            if recorder is not None and self.model.training:
                tok = self.processing_class
                recorder.flush(
                    step=self.state.global_step + 1,
                    inputs=inputs,
                    advantages=out["advantages"].tolist(),
                    prompt_tokens=out["prompt_mask"].sum(1).tolist(),
                    eos_ids={tok.eos_token_id, tok.pad_token_id},
                    num_generations=self.num_generations,
                )
            return out

    return StoreGRPOTrainer


def metrics_callback(store, run_id: str, replay_until: int | None = None):
    """A TrainerCallback that appends every numeric log entry to `train_metrics` at its step.

    Only steps a resumed run replays (<= replay_until) need the existence check: later ids are new."""
    from transformers import TrainerCallback

    from r1harness.train.store_log import MetricLog

    metrics = MetricLog(store, run_id, replay_until)

    class StoreMetricsCallback(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            metrics.write(state.global_step, logs or {})

    return StoreMetricsCallback()


def eval_callback(store, run_id: str, config: GRPORunConfig, components, tokenizer, max_new_tokens: int):
    """Evaluates held-out prompts at step 0 (the starting model), every `eval.every` steps and at the end."""
    from transformers import TrainerCallback

    from r1harness.train.evaluate import evaluate_policy
    from r1harness.train.store_log import EvalLog

    spec = config.eval
    prompts = load_prompts(store, dataset=spec.dataset, split=spec.split, limit=spec.max_prompts)
    weights = {r.name: r.weight for r in config.rewards}
    steps = EvalLog(store, run_id, config.model, config.template, config.seed, weights)

    class StoreEvalCallback(TrainerCallback):
        def _run(self, model, step):
            if step in steps.complete:
                return
            if step in steps.partial:  # cut short by a kill: finish it from its stored rollouts
                metrics = steps.complete_step(step, components)
                log.info("eval step %d completed: %s", step, {k: round(v, 3) for k, v in metrics.items()})
                return
            results = evaluate_policy(
                model,
                tokenizer,
                prompts,
                components,
                template=config.template,
                samples=spec.samples,
                temperature=spec.temperature,
                top_p=spec.top_p,
                greedy=spec.greedy,
                max_new_tokens=max_new_tokens,
            )
            metrics = steps.record(step, results)
            log.info("eval step %d: %s", step, {k: round(v, 3) for k, v in metrics.items()})

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            for step in sorted(steps.partial):  # a resumed run first finishes steps a kill cut short
                self._run(model, step)
            if state.global_step == 0:  # the starting model; a resumed run's step was evaluated on schedule
                self._run(model, 0)

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step % spec.every == 0 or state.global_step == state.max_steps:
                self._run(model, state.global_step)

        def on_train_end(self, args, state, control, model=None, **kwargs):
            self._run(model, state.global_step)  # the last step, also when a time limit stopped training

    return StoreEvalCallback()


def run_grpo(store, config: GRPORunConfig, *, resume: bool = False, callbacks=()) -> dict:
    """Train with GRPO; returns a summary (run_id, steps, rollouts written, infra failures, output_dir)."""
    import torch
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    if config.threads:
        torch.set_num_threads(config.threads)
    out_dir = Path(config.output_dir)
    run_id, checkpoint = _resume_point(out_dir) if resume else (None, None)
    args = _grpo_args(GRPOConfig, config, out_dir)
    rows = load_prompts(
        store, dataset=config.dataset, split=config.split, where=config.where, limit=config.max_prompts
    )
    run_config = {**to_dict(config), "resolved_trl": args.to_dict(), "n_prompts": len(rows)}
    with recorded_run(store, "grpo", name=config.run_name, run_id=run_id, config=run_config) as run:
        run_id = run.run_id
        _write_run_file(out_dir, run_id, config)
        tokenizer = AutoTokenizer.from_pretrained(config.model)
        model = AutoModelForCausalLM.from_pretrained(config.model)
        sampling = {
            "temperature": args.temperature,
            "top_p": args.top_p,
            "top_k": args.top_k,
            "max_completion_length": args.max_completion_length,
            "num_generations": args.num_generations,
        }
        recorder = RolloutRecorder(
            store,
            run_id,
            config.model,
            config.template,
            sampling,
            config.seed,
            {r.name: r.weight for r in config.rewards},
            backend_version=trl.__version__,
        )
        components = build_reward_components(config.rewards, recorder)
        cbs = [metrics_callback(store, run_id), *callbacks]
        if config.eval.dataset:
            eval_components = build_reward_components(config.rewards)
            cbs.append(
                eval_callback(store, run_id, config, eval_components, tokenizer, args.max_completion_length)
            )
        trainer = make_trainer_class()(
            model=model,
            reward_funcs=components,
            args=args,
            train_dataset=grpo_dataset(rows, config.template),
            processing_class=tokenizer,
            callbacks=cbs,
        )
        trainer.r1h_recorder = recorder
        use_training_bar(trainer, config.run_name or "grpo")
        if checkpoint and _checkpoint_step(checkpoint) >= args.max_steps > 0:
            # Training is done: HF's loop would run one extra step if resumed here. final/ may be missing
            # if the kill came while it was being saved; then it is saved from the last checkpoint.
            trainer.state.global_step = _checkpoint_step(checkpoint)
            if not model_dir_complete(out_dir / "final"):
                done = AutoModelForCausalLM.from_pretrained(checkpoint)
                save_final(done.save_pretrained, tokenizer, out_dir / "final")
        else:
            trainer.train(resume_from_checkpoint=checkpoint)
            save_final(trainer.save_model, tokenizer, out_dir / "final")
        run.summary = summary = {
            "run_id": run_id,
            "steps": trainer.state.global_step,
            "rollouts_written": recorder.written_rollouts,
            "infra_failures": recorder.infra_failures,
            "output_dir": str(out_dir),
            "resumed_from": checkpoint,
        }
    return summary


def _grpo_args(GRPOConfig, config: GRPORunConfig, out_dir: Path):
    options = dict(config.trl)
    if "reward_weights" in options:
        raise ConfigError(
            "set reward weights on each reward (rewards: [{name, verifier, weight}]), "
            "not with trl.reward_weights"
        )
    options["reward_weights"] = [float(r.weight) for r in config.rewards]
    options.setdefault("logging_steps", 1)
    options.setdefault("save_steps", config.checkpoint_every)
    options.setdefault("save_strategy", "steps")
    return trl_args(GRPOConfig, options, output_dir=str(out_dir), seed=config.seed)


def _resume_point(out_dir: Path) -> tuple[str | None, str | None]:
    """(run_id, newest checkpoint) of a previous run in out_dir; errors if there is nothing to resume."""
    run_file = out_dir / RUN_FILE
    if not run_file.exists():
        raise ConfigError(f"--resume: {out_dir} has no {RUN_FILE}; start a new run without --resume")
    run_id = json.loads(run_file.read_text())["run_id"]
    return run_id, newest_complete_checkpoint(out_dir)


def _checkpoint_step(checkpoint: str) -> int:
    state = Path(checkpoint) / "trainer_state.json"
    return int(json.loads(state.read_text())["global_step"]) if state.exists() else -1


def _write_run_file(out_dir: Path, run_id: str, config: GRPORunConfig) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (RUN_FILE + ".tmp")
    tmp.write_text(json.dumps({"run_id": run_id, "config": to_dict(config)}, indent=1, default=str))
    tmp.replace(out_dir / RUN_FILE)


def with_overrides(config: GRPORunConfig, **changes) -> GRPORunConfig:
    return replace(config, **{k: v for k, v in changes.items() if v is not None})
