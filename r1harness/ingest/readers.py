"""Read source records from JSONL, JSON, Parquet, CSV, a `datasets` folder or a hub dataset id.

Every reader returns a list of dicts; errors name the file and the line (or row) and say what to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from r1harness.errors import IngestError

FILE_KINDS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def detect_kind(source: str) -> str:
    """jsonl | json | parquet | csv | hf_disk | hub, from the path (or the lack of one)."""
    path = Path(source)
    if path.is_dir():
        if any((path / name).exists() for name in ("dataset_info.json", "state.json", "dataset_dict.json")):
            return "hf_disk"
        raise IngestError(
            f"{source} is a directory but not a `datasets` save_to_disk folder "
            "(no dataset_info.json / dataset_dict.json); pass a file instead"
        )
    if path.exists():
        kind = FILE_KINDS.get(path.suffix.lower())
        if kind is None:
            raise IngestError(
                f"{source}: unknown file type {path.suffix!r}; supported: "
                f"{sorted(FILE_KINDS)} or a datasets folder"
            )
        return kind
    if looks_like_hub_id(source):
        return "hub"
    raise IngestError(f"{source}: no such file or directory (and not a hub dataset id like 'org/name')")


def looks_like_hub_id(source: str) -> bool:
    """'org/name' with no file suffix and no local folder 'org': a path that merely does not exist
    (`in/missing.jsonl`, `data/x`) is an error at once, never a hub download."""
    org, sep, name = source.partition("/")
    return (
        bool(sep and org and name)
        and "/" not in name
        and not source.startswith((".", "/", "~"))
        and Path(source).suffix.lower() not in FILE_KINDS
        and not Path(org).exists()
    )


def read_records(
    source: str, *, split: str | None = None, config: str | None = None, revision: str | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """(records, locations): locations[i] names where record i came from ("file:line" or "file row i")."""
    kind = detect_kind(source)
    if kind == "jsonl":
        records, lines = _read_jsonl(Path(source))
        locations = [f"{source}:{n}" for n in lines]
    else:
        reader = {"json": _read_json, "parquet": _read_parquet, "csv": _read_csv}.get(kind)
        if reader:
            records = reader(Path(source))
        elif kind == "hf_disk":
            records = _read_hf_disk(Path(source), split)
        else:
            records = read_hub(source, split=split, config=config, revision=revision)
        first = 2 if kind == "csv" else 0  # CSV: line 1 is the header
        label = "line" if kind == "csv" else "row"
        locations = [f"{source} {label} {i + first}" for i in range(len(records))]
    if not records:
        raise IngestError(f"{source}: no records found (empty input); nothing was ingested")
    return records, locations


def _read_jsonl(path: Path) -> tuple[list[dict], list[int]]:
    records, line_numbers = [], []
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise IngestError(
                    f"{path}:{line_no}: invalid UTF-8 at byte {exc.start} of the line; "
                    "re-encode the file as UTF-8"
                ) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line, parse_constant=_no_constant)
            except _NotJson as exc:
                raise IngestError(f"{path}:{line_no}: {exc}; fix or remove the line") from None
            except json.JSONDecodeError as exc:
                raise IngestError(
                    f"{path}:{line_no}: malformed JSON ({exc.msg} at column {exc.colno}); "
                    "fix or remove the line"
                ) from None
            if not isinstance(obj, dict):
                raise IngestError(
                    f"{path}:{line_no}: expected a JSON object per line, got {type(obj).__name__}"
                )
            records.append(obj)
            line_numbers.append(line_no)
    return records, line_numbers


class _NotJson(ValueError):
    pass


def _no_constant(name: str):
    raise _NotJson(f"{name} is not a JSON value (a NaN or infinite answer cannot be graded)")


def _read_json(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
    except _NotJson as exc:
        raise IngestError(f"{path}: {exc}; fix or remove it") from None
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: invalid UTF-8 at byte {exc.start}; re-encode the file as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg} at column {exc.colno})") from None
    if isinstance(data, dict):  # {"data": [...]} or a single list-valued key
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise IngestError(f"{path}: expected a JSON list of objects (or an object with one list field)")
        data = lists[0]
    if not isinstance(data, list):
        raise IngestError(f"{path}: expected a JSON list of objects, got {type(data).__name__}")
    for i, obj in enumerate(data):
        if not isinstance(obj, dict):
            raise IngestError(f"{path}: element {i} is {type(obj).__name__}, expected an object")
    return data


def _read_parquet(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise IngestError(f"{path}: cannot read Parquet ({exc})") from None


def _read_csv(path: Path) -> list[dict]:
    import polars as pl

    try:
        # Everything as strings: answers like "025" must survive until the manifest normalises them.
        return pl.read_csv(path, infer_schema=False).to_dicts()
    except pl.exceptions.ComputeError as exc:
        raise IngestError(f"{path}: cannot read CSV ({exc})") from None
    except Exception as exc:
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            raise IngestError(f"{path}: invalid UTF-8; re-encode the file as UTF-8") from None
        raise IngestError(f"{path}: cannot read CSV ({exc})") from None


def _read_hf_disk(path: Path, split: str | None) -> list[dict]:
    import datasets

    ds = datasets.load_from_disk(str(path))
    if isinstance(ds, datasets.DatasetDict):
        if split is None:
            if len(ds) != 1:
                raise IngestError(f"{path}: a DatasetDict with splits {list(ds)}; choose one with --split")
            split = next(iter(ds))
        if split not in ds:
            raise IngestError(f"{path}: no split {split!r}; splits are {list(ds)}")
        ds = ds[split]
    return ds.to_list()


def read_hub(
    dataset_id: str, *, split: str | None, config: str | None = None, revision: str | None = None
) -> list[dict]:
    """Load a dataset from the Hugging Face hub (needs network, or a warm HF cache)."""
    import datasets

    try:
        ds = datasets.load_dataset(dataset_id, config, split=split or "test", revision=revision)
    except Exception as exc:
        raise IngestError(
            f"cannot load hub dataset {dataset_id!r} (config={config}, split={split}, "
            f"revision={revision}): {exc}. Without network access pass a local file "
            "(r1h ingest --manifest M --from FILE)"
        ) from None
    return ds.to_list()
