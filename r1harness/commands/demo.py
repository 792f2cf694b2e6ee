"""`r1h demo`: the main job on the embedded defaults. (Placeholder until the pipeline lands.)"""

from __future__ import annotations

from r1harness.commands._common import add_command, add_store_arg, emit, open_store


def register(sub) -> None:
    p = add_command(sub, "demo", help="run the main job on the embedded defaults", example="r1h demo")
    add_store_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import polars as pl

    from r1harness.ingest import ingest_manifest, list_manifests

    store = open_store(args)
    for manifest in list_manifests():
        if manifest.local_path is not None and manifest.local_path.exists():
            ingest_manifest(store, manifest)
    counts = store.tables()
    emit(pl.DataFrame({"table": list(counts), "rows": list(counts.values())}), "table")
    print(f"store: {store.root}")
    return 0
