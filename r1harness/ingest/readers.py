"""Read source records from JSONL, JSON, Parquet, CSV, a `datasets` folder or a hub dataset id; also
`.gz`/`.zst`-compressed JSONL and JSON, globs of files and hub-style dataset folders (README.md + data/).

Every reader returns a list of dicts; errors name the file and the line (or row) and say what to do.
"""

from __future__ import annotations

import glob
import io
import json
import zlib
from pathlib import Path
from typing import Any

from r1harness.errors import IngestError

FILE_KINDS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
# Streamed while read (gzip: the stdlib; zstd: pyarrow's codec); only for JSONL and JSON.
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}


def detect_kind(source: str) -> str:
    """jsonl | json | parquet | csv | hf_disk | hub_folder | glob | hub, from the path (or the lack of one).
    A `.gz`/`.zst` JSONL or JSON file is jsonl/json; any other folder is tried as a hub-style one."""
    path = Path(source)
    if path.is_dir():
        if any((path / name).exists() for name in ("dataset_info.json", "state.json", "dataset_dict.json")):
            return "hf_disk"
        return "hub_folder"
    if path.exists():
        suffix = _data_suffix(path)
        kind = FILE_KINDS.get(suffix)
        if kind is None:
            raise IngestError(
                f"{source}: unknown file type {suffix!r}; supported: {sorted(FILE_KINDS)}, "
                ".jsonl/.json compressed as .gz or .zst, a glob, or a datasets or hub-style folder"
            )
        return kind
    if any(c in source for c in "*?["):
        return "glob"
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
        and Path(source).suffix.lower() not in (*FILE_KINDS, *COMPRESSIONS)
        and not Path(org).exists()
    )


def read_records(
    source: str, *, split: str | None = None, config: str | None = None, revision: str | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """(records, locations): locations[i] names where record i came from ("file:line" or "file row i")."""
    kind = detect_kind(source)
    if kind in ("glob", "hub_folder"):  # several files: each record's location names its own file
        files = glob_files(source) if kind == "glob" else hub_folder_files(source, split=split, config=config)
        records, locations = _read_files(files)
    elif kind == "jsonl":
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
    with _open_binary(path) as fh:
        for line_no, raw in enumerate(_lines(fh, path), start=1):
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
        data = json.loads(_read_bytes(path).decode("utf-8"), parse_constant=_no_constant)
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


def _data_suffix(path: Path) -> str:
    """'.jsonl' for x.jsonl and x.jsonl.gz; '.csv.gz' (unsupported) for x.csv.gz."""
    suffix = path.suffix.lower()
    if suffix not in COMPRESSIONS:
        return suffix
    inner = Path(path.stem).suffix.lower()
    return inner if FILE_KINDS.get(inner) in ("jsonl", "json") else inner + suffix


def _open_binary(path: Path):
    """A binary file object over path's content, decompressing `.gz` / `.zst` as it is read."""
    compression = COMPRESSIONS.get(path.suffix.lower())
    if compression == "gzip":
        import gzip

        return gzip.open(path, "rb")
    if compression == "zstd":
        import pyarrow as pa

        return io.BufferedReader(pa.input_stream(str(path), compression="zstd"))  # BufferedReader: lines
    return open(path, "rb")


_DECOMPRESS_ERRORS = (OSError, EOFError, zlib.error)  # gzip: BadGzipFile/EOFError/zlib.error; zstd: OSError


def _lines(fh, path: Path):
    """fh's lines; a corrupt or truncated compressed stream is an error naming the line it broke at."""
    line_no = 0
    try:
        for line_no, raw in enumerate(fh, start=1):  # noqa: B007 (line_no is read after the loop)
            yield raw
    except _DECOMPRESS_ERRORS as exc:
        raise IngestError(f"{path}:{line_no + 1}: {_unreadable(path, exc)}") from None


def _read_bytes(path: Path) -> bytes:
    with _open_binary(path) as fh:
        try:
            return fh.read()
        except _DECOMPRESS_ERRORS as exc:
            raise IngestError(f"{path}: {_unreadable(path, exc)}") from None


def _unreadable(path: Path, exc: BaseException) -> str:
    what = COMPRESSIONS.get(path.suffix.lower())
    if what is None:
        return f"cannot read the file ({exc})"
    return f"cannot decompress the {what} stream ({exc}); the file is corrupt or truncated: re-create it"


def glob_files(pattern: str) -> list[str]:
    """The files a glob (`**` included) matches, in sorted order; an error when it matches none."""
    files = sorted(p for p in glob.glob(pattern, recursive=True) if not Path(p).is_dir())
    if not files:
        raise IngestError(f"{pattern}: the glob matches no files; check the pattern (quote it in the shell)")
    return files


def hub_folder_files(folder: str, *, split: str | None, config: str | None = None) -> list[str]:
    """The data files of one split of a hub-style dataset folder, as `push_to_hub` and snapshot_download
    leave it: README.md front matter `configs:` (data_files per split), else file names such as
    data/train-00000-of-00001.parquet. `datasets` resolves the layout (offline: a local folder never goes
    to the hub); the files are then read by this module's readers, so records and errors match plain files."""
    import logging
    import tempfile

    import datasets

    card_log = logging.getLogger(
        "huggingface_hub.repocard"
    )  # "metadata block was not found": no front matter
    level = card_log.level
    card_log.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory() as cache:  # the builder leaves lock files in its cache dir
            builder = datasets.load_dataset_builder(folder, config, cache_dir=cache)
    except ValueError as exc:  # a missing or unknown config name: datasets lists the available ones
        if "config" not in str(exc).lower():
            raise IngestError(f"{folder}: cannot read the hub-style folder ({exc})") from None
        why = " ".join(str(exc).splitlines()[:2])  # the rest is a load_dataset() usage example
        raise IngestError(f"{folder}: {why}; choose one with --config NAME") from None
    except Exception as exc:
        raise IngestError(
            f"{folder} is a directory but neither a `datasets` save_to_disk folder (dataset_info.json) nor a "
            f"hub-style dataset folder (README.md `configs:`, or data files such as "
            f"data/train-00000-of-00001.parquet): {exc}"
        ) from None
    finally:
        card_log.setLevel(level)
    splits = {str(name): list(files) for name, files in (builder.config.data_files or {}).items()}
    if split is None:
        if len(splits) != 1:
            raise IngestError(f"{folder}: a dataset with splits {list(splits)}; choose one with --split")
        split = next(iter(splits))
    if split not in splits:
        raise IngestError(
            f"{folder}: no split {split!r}; splits are {list(splits)} (choose one with --split)"
        )
    root = Path(folder).resolve()
    # Locations as the user wrote the folder (data files come back absolute).
    return [
        str(Path(folder) / Path(f).relative_to(root)) if Path(f).is_relative_to(root) else f
        for f in splits[split]
    ]


def _read_files(files: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    records: list[dict[str, Any]] = []
    locations: list[str] = []
    for file in files:
        got, where = read_records(file)
        records += got
        locations += where
    return records, locations
