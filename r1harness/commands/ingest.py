"""`r1h ingest`: a file / datasets folder / hub id, or a dataset manifest, into `prompts`."""

from __future__ import annotations

import json
import sys

from r1harness.commands._common import add_command, add_format_args, add_store_arg, emit, open_store
from r1harness.errors import ConfigError


def register(sub) -> None:
    p = add_command(
        sub,
        "ingest",
        help="ingest problems into the store's prompts table",
        example="r1h ingest --manifest datasets/aime24.yaml\n"
        "  r1h ingest --all-manifests\n"
        "  r1h ingest my.jsonl --dataset mine --domain math --map problem=question,answer=final\n"
        "  r1h ingest ./snapshot --dataset mine --split test    # README.md configs, data/<split>-*.parquet\n"
        "  r1h ingest 'shards/part-*.jsonl.zst' --dataset mine",
    )
    p.add_argument(
        "source",
        nargs="?",
        help="a JSONL/JSON/Parquet/CSV file (JSONL/JSON may be .gz or .zst), a quoted glob, a datasets "
        "or hub-style folder (README.md configs, data/<split>-*.parquet), or a hub id",
    )
    p.add_argument("--dataset", help="dataset name (required with SOURCE)")
    p.add_argument(
        "--split", help="split name (also picks the split of a DatasetDict / hub-style folder / hub dataset)"
    )
    p.add_argument("--domain", default="math", choices=["math", "code", "science", "general"])
    p.add_argument(
        "--map",
        dest="mapping",
        default="",
        metavar="FIELD=COL,...",
        help="map prompts fields to source columns, e.g. problem=question,answer=final",
    )
    p.add_argument("--verifier", help="default verifier for these prompts (default by domain)")
    p.add_argument("--config", dest="hub_config", help="config name of a hub dataset or hub-style folder")
    p.add_argument("--revision", help="hub dataset revision")
    p.add_argument(
        "--manifest",
        action="append",
        default=[],
        metavar="NAME_OR_YAML",
        help="a manifest name (datasets/NAME.yaml) or path; repeatable",
    )
    p.add_argument("--all-manifests", action="store_true", help="ingest every manifest in datasets/")
    p.add_argument("--from", dest="from_path", metavar="FILE", help="with one --manifest: read this file")
    p.add_argument(
        "--on-conflict",
        choices=("error", "first", "last", "correct"),
        default="error",
        help="one problem with two different answers in the input: error (default), keep the first or the "
        "last; against the store, 'first' keeps the stored answer and 'correct' records the new one as the "
        "prompt's next gold version, with lineage (then `r1h verify --reverify` re-grades its rollouts)",
    )
    add_format_args(p, json_alias="jsonl")
    add_store_arg(p)
    p.set_defaults(func=run)


def parse_mapping(text: str) -> dict[str, str]:
    mapping = {}
    for part in filter(None, (s.strip() for s in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key or not value:
            raise ConfigError(f"--map expects FIELD=COLUMN pairs separated by commas, got {part!r}")
        mapping[key.strip()] = value.strip()
    return mapping


def run(args) -> int:
    import logging

    from r1harness.errors import IngestError, R1HarnessError

    try:
        return _run(args)
    except R1HarnessError:
        raise
    except OSError as exc:  # a full disk, a read-only store, a permission: one line, never a traceback
        raise IngestError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from exc
    except Exception as exc:  # whatever a reader library raises: still one line (-vv logs the traceback)
        logging.getLogger(__name__).debug("ingest failed", exc_info=True)
        raise IngestError(f"{type(exc).__name__}: {exc}") from exc


def _run(args) -> int:
    from r1harness.ingest import list_manifests, prepare_file, prepare_manifest

    manifests = list(args.manifest)
    if args.all_manifests:
        manifests += [m.origin for m in list_manifests()]
    if not manifests and not args.source:
        raise ConfigError("give a SOURCE (with --dataset) or --manifest NAME (or --all-manifests)")
    if args.source and manifests:
        raise ConfigError("give either a SOURCE or --manifest, not both (use --from FILE with a manifest)")
    if args.from_path and len(manifests) != 1:
        raise ConfigError("--from FILE goes with exactly one --manifest")
    # Read and check every input before opening the store: bad input never creates or touches one.
    prepared = []
    if args.source:
        if not args.dataset:
            raise ConfigError("--dataset NAME is required when ingesting a SOURCE")
        prepared.append(
            prepare_file(
                args.source,
                dataset=args.dataset,
                split=args.split,
                domain=args.domain,
                mapping=parse_mapping(args.mapping),
                verifier=args.verifier,
                config=args.hub_config,
                revision=args.revision,
                on_conflict=args.on_conflict,
            )
        )
    for m in manifests:
        prepared.append(prepare_manifest(m, from_path=args.from_path, on_conflict=args.on_conflict))
    store = open_store(args)
    summaries = [p.commit(store) for p in prepared]
    if args.format not in ("table", "jsonl"):
        emit([s.to_dict() for s in summaries], args.format, args.out)
        return 0
    for s in summaries:
        if args.format == "jsonl":  # the deprecated --json: one object a line
            print(json.dumps(s.to_dict()))
        else:
            print(
                f"{s.dataset}: read {s.rows_read}, new {s.written}, already present {s.skipped_existing}, "
                f"duplicates merged {s.merged_duplicates} ({s.seconds:.2f}s) from {s.source}",
                file=sys.stdout,
            )
    return 0
