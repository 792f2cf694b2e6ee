"""`r1h ingest`: a file / datasets folder / hub id, or a dataset manifest, into `prompts`."""

from __future__ import annotations

import json
import sys

from r1harness.commands._common import add_command, add_store_arg, open_store
from r1harness.errors import ConfigError


def register(sub) -> None:
    p = add_command(
        sub,
        "ingest",
        help="ingest problems into the store's prompts table",
        example="r1h ingest --manifest datasets/aime24.yaml\n"
        "  r1h ingest --all-manifests\n"
        "  r1h ingest my.jsonl --dataset mine --domain math --map problem=question,answer=final",
    )
    p.add_argument("source", nargs="?", help="JSONL/JSON/Parquet/CSV file, a datasets folder, or a hub id")
    p.add_argument("--dataset", help="dataset name (required with SOURCE)")
    p.add_argument("--split", help="split name (also picks the split of a DatasetDict / hub dataset)")
    p.add_argument("--domain", default="math", choices=["math", "code", "science", "general"])
    p.add_argument(
        "--map",
        dest="mapping",
        default="",
        metavar="FIELD=COL,...",
        help="map prompts fields to source columns, e.g. problem=question,answer=final",
    )
    p.add_argument("--verifier", help="default verifier for these prompts (default by domain)")
    p.add_argument("--config", dest="hub_config", help="hub dataset config name")
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
    p.add_argument("--json", action="store_true", help="print summaries as JSON")
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
    from r1harness.ingest import ingest_file, ingest_manifest, list_manifests

    manifests = list(args.manifest)
    if args.all_manifests:
        manifests += [m.origin for m in list_manifests()]
    if not manifests and not args.source:
        raise ConfigError("give a SOURCE (with --dataset) or --manifest NAME (or --all-manifests)")
    if args.source and manifests:
        raise ConfigError("give either a SOURCE or --manifest, not both (use --from FILE with a manifest)")
    if args.from_path and len(manifests) != 1:
        raise ConfigError("--from FILE goes with exactly one --manifest")
    store = open_store(args)
    summaries = []
    if args.source:
        if not args.dataset:
            raise ConfigError("--dataset NAME is required when ingesting a SOURCE")
        summaries.append(
            ingest_file(
                store,
                args.source,
                dataset=args.dataset,
                split=args.split,
                domain=args.domain,
                mapping=parse_mapping(args.mapping),
                verifier=args.verifier,
                config=args.hub_config,
                revision=args.revision,
            )
        )
    for m in manifests:
        summaries.append(ingest_manifest(store, m, from_path=args.from_path))
    for s in summaries:
        if args.json:
            print(json.dumps(s.to_dict()))
        else:
            print(
                f"{s.dataset}: read {s.rows_read}, new {s.written}, already present {s.skipped_existing}, "
                f"duplicates merged {s.merged_duplicates} ({s.seconds:.2f}s) from {s.source}",
                file=sys.stdout,
            )
    return 0
