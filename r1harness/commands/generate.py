"""`r1h generate`: sample rollouts for a dataset's prompts into the store (resumable)."""

from __future__ import annotations

import json

from r1harness.commands._common import (
    add_command,
    add_executor_args,
    add_store_arg,
    executor_config,
    open_store,
)
from r1harness.commands._gen_args import add_backend_args, backend_spec, make_backend
from r1harness.errors import ConfigError
from r1harness.generate import SamplingParams
from r1harness.generate.backend import backend_identity
from r1harness.generate.runner import generate_rollouts
from r1harness.store.runs import recorded_run


def register(sub) -> None:
    p = add_command(
        sub,
        "generate",
        help="generate rollouts for a dataset into the store (resumable)",
        example="r1h generate --model runs/tiny --backend transformers --dataset gsm8k --n 4 "
        "--where \"json_extract_string(metadata, '$.level') = '5'\" --limit 50",
    )
    add_store_arg(p)
    add_backend_args(p)
    p.add_argument("--dataset", required=True, help="prompts.dataset to generate for")
    p.add_argument("--where", default=None, metavar="SQL", help="extra SQL condition on prompts rows")
    p.add_argument("--limit", type=int, default=None, help="first N prompts only (in source order)")
    p.add_argument("--n", type=int, default=1, help="samples per prompt (default 1)")
    p.add_argument("--template", default="r1-math@1", help="prompt template name@version (default r1-math@1)")
    p.add_argument("--temperature", type=float, default=0.6)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--top-k", type=int, default=None, help="top-k sampling (default: off)")
    p.add_argument("--max-tokens", type=int, default=32768)
    p.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=32, help="prompts per backend call / atomic append")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_executor_args(p)
    p.set_defaults(func=run_generate)


def run_generate(args) -> int:
    store = open_store(args)
    query = "SELECT prompt_id, problem, metadata FROM prompts WHERE dataset = ?"
    if args.where:
        query += f" AND ({args.where})"
    query += " ORDER BY source_index NULLS LAST, prompt_id"
    prompts = store.sql(query, [args.dataset])
    if args.limit:
        prompts = prompts.head(args.limit)
    if prompts.is_empty():
        raise ConfigError(
            f"no prompts for dataset {args.dataset!r}{' matching --where' if args.where else ''}; "
            f"ingest it first: r1h ingest --manifest datasets/{args.dataset}.yaml"
        )
    sampling = SamplingParams(
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        max_tokens=args.max_tokens,
        stop=tuple(args.stop),
    )
    if args.executor == "ray":
        return _generate_on_ray(store, args, sampling, prompts["prompt_id"].to_list())
    backend = make_backend(args)
    config = {
        "dataset": args.dataset,
        "where": args.where,
        "limit": args.limit,
        "n": args.n,
        "template": args.template,
        "sampling": sampling.to_dict(),
        "seed": args.seed,
        "model": backend.model,
        "backend": backend.name,
        "backend_identity": backend_identity(backend),
    }
    with recorded_run(store, "generate", name=f"{args.dataset}:{backend.model}", config=config) as run:
        summary = generate_rollouts(
            store,
            backend,
            prompts,
            template=args.template,
            sampling=sampling,
            n=args.n,
            seed=args.seed,
            run_id=run.run_id,
            batch_size=args.batch_size,
            progress=not args.no_progress,
        )
        run.summary = summary.to_dict()
    print(json.dumps({"run_id": run.run_id, **summary.to_dict()}))
    return 0


def _generate_on_ray(store, args, sampling: SamplingParams, prompt_ids: list[str]) -> int:
    from r1harness.executors.dispatch import generate

    # the selection travels as SQL: the limit's ids only when --limit cut the list
    where, params = "p.dataset = ?", [args.dataset]
    if args.where:
        where += f" AND ({args.where})"
    if args.limit:
        where, params = "list_contains(?, p.prompt_id)", [prompt_ids]
    info = generate(
        store,
        backend_spec(args),
        executor=executor_config(args),
        prompts_where=where,
        params=params,
        template=args.template,
        sampling=sampling.to_dict(),
        n=args.n,
        seed=args.seed,
        batch_size=args.batch_size,
        progress=not args.no_progress,
        config={"dataset": args.dataset, "where": args.where, "limit": args.limit, "n": args.n},
    )
    print(json.dumps(info))
    return 0
