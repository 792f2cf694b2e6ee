"""The lm-evaluation-harness bridge: `import_lmeval(store, DIR)` reads lm-eval's `--output_path` folder
(`results_<time>.json` + `samples_<task>_<time>.jsonl` written with `--log_samples`) into the store.

Mapping (every id is a content hash, so importing the same folder twice adds nothing):
- each doc -> a `prompts` row (dataset `--dataset`, default `lm-eval:<task>`; the problem is the doc's
  question/problem/prompt field, so `--dataset gsm8k` links to prompts ingested from the same file);
- each response -> a `rollouts` row (stage "import", backend "lm-eval", template "lm-eval:<task>",
  sampling = the task's generation kwargs, prompt_text = lm-eval's rendered context);
- each (filter, metric) -> a `rewards` row (verifier "lm-eval:<metric>:<filter>", extracted = the filtered
  response, score = the metric's value);
- each (metric, filter) aggregate -> an `eval_results` row named as lm-eval names it
  ("exact_match,strict-match"),
  benchmark_version "lm-eval:<task version>", with a bootstrap CI and the run's protocol.
"""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1harness.errors import IngestError
from r1harness.evals import metrics
from r1harness.scoring.rows import reward_rows
from r1harness.store import ids
from r1harness.store.runs import recorded_run
from r1harness.verify.verdict import Verdict

PROBLEM_FIELDS = ("question", "problem", "prompt", "input", "query", "text")


@dataclass(frozen=True)
class ImportSummary:
    tasks: tuple[str, ...]
    prompts: int
    rollouts: int
    rewards: int
    results: int
    run_id: str


def find_runs(directory: str | Path) -> list[Path]:
    """Every results_*.json under `directory` (lm-eval nests them in a folder per model)."""
    directory = Path(directory)
    if directory.is_file() and directory.suffix == ".json":
        return [directory]
    found = sorted(Path(p) for p in glob.glob(str(directory / "**" / "results_*.json"), recursive=True))
    if not found:
        raise IngestError(
            f"no lm-eval results_*.json under {directory}; run lm_eval with --output_path "
            f"{directory} --log_samples"
        )
    return found


def import_lmeval(
    store,
    directory: str | Path,
    *,
    dataset: str | None = None,
    model: str | None = None,
    problem_field: str | None = None,
) -> ImportSummary:
    """Import every lm-eval run under `directory`."""
    totals = {"prompts": 0, "rollouts": 0, "rewards": 0, "results": 0}
    tasks: list[str] = []
    config = {"directory": str(directory)}
    with recorded_run(store, "import", name=f"lm-eval:{directory}", config=config) as run:
        run_id = run.run_id
        for results_path in find_runs(directory):
            res = _read_json(results_path)
            for task in res.get("results", {}):
                samples_path = _samples_file(results_path, task)
                if samples_path is None:
                    continue
                counts = _import_task(
                    store,
                    res,
                    task,
                    samples_path,
                    run_id,
                    dataset=dataset,
                    model=model,
                    problem_field=problem_field,
                )
                tasks.append(task)
                for key in totals:
                    totals[key] += counts[key]
        if not tasks:
            raise IngestError(
                f"{directory}: found results but no samples_<task>_*.jsonl; re-run lm_eval with --log_samples"
            )
        run.summary = {**totals, "tasks": tasks}
    return ImportSummary(tuple(tasks), run_id=run_id, **totals)


def _import_task(
    store,
    res: dict,
    task: str,
    samples_path: Path,
    run_id: str,
    *,
    dataset: str | None,
    model: str | None,
    problem_field: str | None,
) -> dict[str, int]:
    lines = _read_samples(samples_path)
    model_name = model or res.get("model_name") or str(res.get("config", {}).get("model_args", "lm-eval"))
    dataset_name = dataset or f"lm-eval:{task}"
    cfg = res.get("configs", {}).get(task, {})
    gen_kwargs = cfg.get("generation_kwargs") or {}
    version = str(res.get("versions", {}).get(task, "?"))
    lm_version = str(res.get("lm_eval_version", "?"))
    verifier_version = f"{lm_version}/{task}@{version}"
    prompts, rollouts, scored = {}, {}, []
    per_metric: dict[str, dict[int, float]] = {}
    for where, line in lines:
        problem = _problem(line["doc"], problem_field, where)
        pid = ids.prompt_id(dataset_name, problem)
        prompts.setdefault(
            pid,
            {
                "prompt_id": pid,
                "dataset": dataset_name,
                "problem": problem,
                "answer": str(line.get("target", "")),
                "source": str(samples_path),
                "source_index": int(line["doc_id"]),
                "run_id": run_id,
                "metadata": json.dumps(line["doc"], ensure_ascii=False, default=str),
            },
        )
        contexts = _contexts(line.get("arguments"))
        responses = [r for req in line.get("resps", []) for r in (req if isinstance(req, list) else [req])]
        filtered = line.get("filtered_resps", [])
        for index, text in enumerate(responses):
            rid = ids.rollout_id(pid, model_name, f"lm-eval:{task}", gen_kwargs, None, index)
            rollouts.setdefault(
                rid,
                {
                    "rollout_id": rid,
                    "prompt_id": pid,
                    "run_id": run_id,
                    "model": model_name,
                    "template": f"lm-eval:{task}",
                    "sampling": ids.canonical_json(gen_kwargs),
                    "sample_index": index,
                    "stage": "import",
                    "prompt_text": contexts[min(index, len(contexts) - 1)] if contexts else None,
                    "completion": str(text),
                    "finish_reason": "stop",
                    "backend": "lm-eval",
                    "backend_version": lm_version,
                },
            )
            extracted = filtered[index] if index < len(filtered) else None
            for metric in line.get("metrics", []):
                value = line.get(metric)
                if not isinstance(value, (int, float)):
                    continue
                filter_name = line.get("filter", "none")
                scored.append((rid, _verdict(metric, filter_name, value, extracted, verifier_version)))
                per_metric.setdefault(f"{metric},{filter_name}", {})[int(line["doc_id"])] = float(value)
    written = {
        "prompts": store.append("prompts", list(prompts.values())).written,
        "rollouts": store.append("rollouts", list(rollouts.values())).written,
        "rewards": store.append("rewards", reward_rows(*zip(*scored), run_id) if scored else []).written,
    }
    written["results"] = _write_results(
        store, res, task, model_name, version, per_metric, run_id, dataset_name
    )
    return written


def _verdict(metric: str, filter_name: str, value: float, extracted, version: str) -> Verdict:
    """lm-eval's per-sample metric as a verdict of the verifier "lm-eval:<metric>:<filter>"."""
    return Verdict(
        "correct" if value >= 1 else "wrong",
        float(value),
        f"lm-eval:{metric}:{filter_name}",
        version,
        extracted=None if extracted is None else str(extracted),
    )


def _write_results(
    store, res: dict, task: str, model: str, version: str, per_metric: dict, run_id: str, dataset: str
) -> int:
    cfg = res.get("configs", {}).get(task, {})
    protocol = {
        "source": "lm-eval",
        "lm_eval_version": res.get("lm_eval_version"),
        "task": task,
        "task_version": version,
        "task_hash": res.get("task_hashes", {}).get(task),
        "n_shot": res.get("n-shot", {}).get(task),
        "generation_kwargs": cfg.get("generation_kwargs"),
        "model_args": res.get("config", {}).get("model_args"),
        "dataset": dataset,
        "limit": res.get("config", {}).get("limit"),
    }
    rows = []
    for name, by_doc in sorted(per_metric.items()):
        values = list(by_doc.values())
        low, high = metrics.bootstrap_ci(values)
        rows.append(
            {
                "result_id": ids.content_id(
                    "eval_result", "lm-eval", model, task, version, name, res.get("date")
                ),
                "run_id": run_id,
                "model": model,
                "benchmark": task,
                "benchmark_version": f"lm-eval:{version}",
                "protocol": ids.canonical_json(protocol),
                "metric": name,
                "value": metrics.mean(values),
                "ci_low": low,
                "ci_high": high,
                "n_problems": len(values),
                "n_samples": len(values),
                "breakdown": None,
            }
        )
    return store.catalog_insert("eval_results", rows, on_conflict="replace")


def _samples_file(results_path: Path, task: str) -> Path | None:
    stamp = results_path.stem.removeprefix("results_")
    exact = results_path.with_name(f"samples_{task}_{stamp}.jsonl")
    if exact.exists():
        return exact
    found = sorted(results_path.parent.glob(f"samples_{task}_*.jsonl"))
    return found[-1] if found else None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None


def _read_samples(path: Path) -> list[tuple[str, dict]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                line = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise IngestError(f"{where}: invalid JSON: {exc.msg}") from None
            missing = [k for k in ("doc_id", "doc", "resps") if k not in line]
            if missing:
                raise IngestError(f"{where}: lm-eval sample lacks {missing}; is this a --log_samples file?")
            out.append((where, line))
    return out


def _problem(doc: Any, field: str | None, where: str) -> str:
    if not isinstance(doc, dict):
        return str(doc)
    for name in [field] if field else PROBLEM_FIELDS:
        if name in doc and doc[name] is not None:
            return str(doc[name])
    raise IngestError(
        f"{where}: doc has none of the fields {[field] if field else list(PROBLEM_FIELDS)}; "
        f"pass --problem-field (doc fields: {sorted(doc)})"
    )


def _contexts(arguments: Any) -> list[str]:
    """lm-eval stores request args either as {"gen_args_0": {"arg_0": ctx, ...}} or as [[ctx, kwargs]]."""
    if isinstance(arguments, dict):
        return [str(v.get("arg_0")) for _, v in sorted(arguments.items()) if isinstance(v, dict)]
    if isinstance(arguments, list):
        return [str(a[0]) if isinstance(a, (list, tuple)) and a else str(a) for a in arguments]
    return []
