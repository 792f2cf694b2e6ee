"""Generation into the store: `n` rollouts per prompt, written in batches, resumable.

Every rollout's id is a content hash of (prompt, backend identity, template, sampling, seed, sample index),
so the ids of all wanted rollouts are known before generating anything: a run asks the store which exist and
generates only the rest. A run killed mid-way has committed whole batches (appends are atomic) and
re-running the same command continues where it stopped, with no duplicates. `n` is not part of the
sampling key, so asking for n=64 after n=4 reuses the first four samples. The backend identity (not just
the model name) keeps a server's rollouts and a local run's of the same model apart (backend_identity).

At a temperature above 0, a prompt whose new samples all came back identical means the backend probably
ignores sampling (a server whose generation_config disables it): the run warns once, and counts them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from r1harness.generate.backend import Backend, GenerationRequest, SamplingParams, backend_identity
from r1harness.store import ids
from r1harness.templates import PromptTemplate, get_template

log = logging.getLogger(__name__)
IDENTICAL_MIN_TOKENS = 16  # see _identical_prompts


@dataclass(frozen=True)
class GenerateSummary:
    prompts: int
    wanted: int  # rollouts the run asked for (prompts x n)
    existing: int  # already in the store: skipped
    generated: int  # written by this call
    rollout_ids: tuple[str, ...]  # every wanted id, in (prompt, sample_index) order
    identical: int = 0  # prompts whose (2+) new samples were all the same text at temperature > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompts": self.prompts,
            "wanted": self.wanted,
            "existing": self.existing,
            "generated": self.generated,
            "identical_samples": self.identical,
        }


@dataclass(frozen=True)
class _Planned:
    prompt_id: str
    problem: str
    metadata: dict
    rollout_ids: tuple[str, ...]


def plan_rollout_ids(
    prompt_ids: Iterable[str], *, identity: str, template: str, sampling: SamplingParams, seed: int, n: int
) -> dict[str, list[str]]:
    """The ids of the first `n` rollouts of each prompt under this protocol (`identity`: the backend's,
    backend_identity(backend))."""
    key = ids.canonical_json(sampling.to_dict())
    return {
        pid: [ids.rollout_id(pid, identity, template, key, seed, i) for i in range(n)] for pid in prompt_ids
    }


def generate_rollouts(
    store,
    backend: Backend,
    prompts,
    *,
    template: str | PromptTemplate = "r1-math@1",
    sampling: SamplingParams | None = None,
    n: int = 1,
    seed: int = 0,
    stage: str = "generate",
    run_id: str | None = None,
    batch_size: int = 32,
    progress: bool = True,
) -> GenerateSummary:
    """Generate the missing rollouts of `prompts` (rows with prompt_id, problem[, metadata]) into the store.

    `batch_size` counts prompts per backend call; each call's rollouts are one atomic append.
    """
    tmpl = template if isinstance(template, PromptTemplate) else get_template(template)
    sampling = sampling or SamplingParams()
    rows = _prompt_rows(prompts)
    planned_ids = plan_rollout_ids(
        [r["prompt_id"] for r in rows],
        identity=backend_identity(backend),
        template=tmpl.key,
        sampling=sampling,
        seed=seed,
        n=n,
    )
    plan = [
        _Planned(
            r["prompt_id"], r["problem"], _metadata(r.get("metadata")), tuple(planned_ids[r["prompt_id"]])
        )
        for r in rows
    ]
    all_ids = tuple(i for p in plan for i in p.rollout_ids)
    existing = store.existing_ids("rollouts", all_ids) if all_ids else set()
    todo = [(p, [i for i, rid in enumerate(p.rollout_ids) if rid not in existing]) for p in plan]
    todo = [(p, missing) for p, missing in todo if missing]
    written = identical = 0
    bar = _progress(sum(len(m) for _, m in todo), progress, f"generate {backend.model}")
    try:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            rows_out = _generate_chunk(backend, tmpl, chunk, sampling, seed, stage, run_id)
            written += store.append("rollouts", rows_out).written
            same = _identical_prompts(rows_out, sampling)
            if same and not identical:  # once per run: the count goes in the summary
                _warn_identical(backend, same[0], sampling)
            identical += len(same)
            if bar is not None:
                bar.update(len(rows_out))
    finally:
        if bar is not None:
            bar.close()
    return GenerateSummary(
        len(plan), len(all_ids), len(all_ids) - sum(len(m) for _, m in todo), written, all_ids, identical
    )


def _identical_prompts(rows: list[dict], sampling: SamplingParams) -> list[str]:
    """Prompts of `rows` whose two or more samples have one and the same completion, at temperature > 0.

    Only completions of IDENTICAL_MIN_TOKENS or more count: a short answer ("\\boxed{4}") may well repeat
    under real sampling, a long one almost never does."""
    if sampling.greedy:
        return []
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["prompt_id"], []).append(row)
    return [
        pid
        for pid, group in groups.items()
        if len(group) > 1
        and len({r["completion"] for r in group}) == 1
        and _tokens(group[0]) >= IDENTICAL_MIN_TOKENS
    ]


def _tokens(row: dict) -> int:
    n = row["completion_tokens"]
    return n if n is not None else len(row["completion"].split())


def _warn_identical(backend: Backend, prompt_id: str, sampling: SamplingParams) -> None:
    log.warning(
        "all samples of prompt %s are identical at temperature %s: backend %s (%s) seems to ignore "
        "sampling, so pass@k and majority votes over them mean nothing. A server may disable sampling in "
        "its model's generation_config.json (transformers serve samples only with do_sample: true there). "
        "Warned once per run; the run summary counts such prompts (identical_samples).",
        prompt_id,
        sampling.temperature,
        backend.name,
        backend_identity(backend),
    )


def _generate_chunk(
    backend: Backend,
    tmpl: PromptTemplate,
    chunk,
    sampling: SamplingParams,
    seed: int,
    stage: str,
    run_id: str | None,
) -> list[dict]:
    requests = [
        GenerationRequest(
            tmpl.render(p.problem, p.metadata), n=len(missing), seed=seed, sample_indices=tuple(missing)
        )
        for p, missing in chunk
    ]
    results = backend.generate(requests, sampling)
    sampling_json = ids.canonical_json(sampling.to_dict())
    rows = []
    for (p, missing), req, completions in zip(chunk, requests, results):
        if len(completions) != len(missing):
            raise RuntimeError(
                f"backend {backend.name} returned {len(completions)} completions for {len(missing)} requested"
            )
        prompt_text = backend.render(req.prompt)
        for index, comp in zip(missing, completions):
            rows.append(
                {
                    "rollout_id": p.rollout_ids[index],
                    "prompt_id": p.prompt_id,
                    "run_id": run_id,
                    "model": backend.model,
                    "template": tmpl.key,
                    "sampling": sampling_json,
                    "seed": seed,
                    "sample_index": index,
                    "stage": stage,
                    "prompt_text": prompt_text,
                    "completion": comp.text,
                    "prompt_tokens": comp.prompt_tokens,
                    "completion_tokens": comp.completion_tokens,
                    "finish_reason": comp.finish_reason,
                    "backend": backend.name,
                    "backend_version": str(backend.version),
                }
            )
    return rows


def _prompt_rows(prompts) -> list[dict]:
    if hasattr(prompts, "to_dicts"):
        prompts = prompts.to_dicts()
    rows = list(prompts)
    for i, row in enumerate(rows):
        missing = [k for k in ("prompt_id", "problem") if not row.get(k)]
        if missing:
            raise ValueError(f"prompt row {i} lacks {missing}; rows need prompt_id and problem")
    return rows


def _metadata(value) -> dict:
    if not value:
        return {}
    if isinstance(value, dict):
        return value
    try:
        data = json.loads(value)
    except (TypeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _progress(total: int, enabled: bool, desc: str):
    if not enabled or not total:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="rollout")
