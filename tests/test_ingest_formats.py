"""Ingest inputs beyond one plain file: hub-style dataset folders, globs, `.gz`/`.zst` JSONL and JSON.

Each must give the very prompts (same prompt ids, answers, metadata) that the same records give from a plain
JSONL file, name each record's own file and line, and fail clearly (never going to the hub) on bad input.
"""

from __future__ import annotations

import gzip
import json
import socket

import pytest

from r1harness.errors import IngestError
from r1harness.ingest import ingest_file
from r1harness.ingest.readers import read_records

ROWS = [{"question": f"What is {i}+2?", "final": str(i + 2), "extra": i} for i in range(6)]
OTHER = [{"question": f"What is {i}*3?", "final": str(i * 3), "extra": i} for i in range(4)]
MAP = {"problem": "question", "answer": "final"}


def _prompts(store) -> list[dict]:
    return store.sql(
        "SELECT prompt_id, dataset, problem, answer, verifier, metadata FROM prompts ORDER BY prompt_id"
    ).to_dicts()


def _jsonl_text(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def _ingest(tmp_path, source: str, name: str, **kwargs):
    from r1harness.store import Store

    store = Store.open(tmp_path / name)
    summary = ingest_file(store, source, dataset="toy", mapping=MAP, **kwargs)
    return store, summary


@pytest.fixture
def plain(tmp_path):
    """The prompts of ROWS ingested from a plain JSONL file: what every other form must equal."""
    path = tmp_path / "plain.jsonl"
    path.write_text(_jsonl_text(ROWS))
    store, _ = _ingest(tmp_path, str(path), "plain-store")
    rows = _prompts(store)
    assert len(rows) == len(ROWS)
    return rows


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt (a hub lookup) fails the test."""
    import r1harness.ingest.readers as readers

    def refuse(*args, **kwargs):
        pytest.fail(f"tried the network: {args[1:] if args else kwargs}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(readers, "read_hub", lambda *a, **k: pytest.fail("went to the hub"))


def _hub_folder(root, configs: dict[str, dict[str, list[dict]]], *, shards: int = 1):
    """The layout `Dataset(Dict).push_to_hub` leaves in a dataset repo, hence in a snapshot_download folder,
    from huggingface/datasets@b7cb10b0 src/datasets/arrow_dataset.py: shards named
    `{data_dir}/{split}-{index:05d}-of-{num_shards:05d}.parquet`, written by `shard.to_parquet`
    (`_push_parquet_shards_to_hub_single`; data_dir is "data" for the default config, else the config name),
    and README.md front matter `configs: [{config_name, data_files: [{split, path: "{data_dir}/{split}-*"}]}]`
    plus `dataset_info` (`_get_updated_dataset_card`), written here with the same library classes."""
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.splits import SplitDict, SplitInfo
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard, DatasetCardData

    import datasets

    card_data, metadata, infos = DatasetCardData(), {}, {}
    for config, splits in configs.items():
        data_dir = "data" if config == "default" else config
        info = DatasetInfo(config_name=config, splits=SplitDict())
        for split, rows in splits.items():
            ds = datasets.Dataset.from_list(rows)
            info.features = ds.features
            info.splits.add(SplitInfo(name=split, num_examples=len(rows)))
            for index in range(shards):
                shard = ds.shard(num_shards=shards, index=index, contiguous=True)
                path = root / data_dir / f"{split}-{index:05d}-of-{shards:05d}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                shard.to_parquet(str(path))
        metadata[config] = {"data_files": [{"split": s, "path": f"{data_dir}/{s}-*"} for s in splits]}
        infos[config] = info
    DatasetInfosDict(infos).to_dataset_card_data(card_data)
    MetadataConfigs(metadata).to_dataset_card_data(card_data)
    DatasetCard(f"---\n{card_data}\n---\n").save(str(root / "README.md"))
    return root


# --- hub-style folders --------------------------------------------------------------------------------


def test_a_hub_style_folder_gives_the_same_prompts_as_plain_jsonl(tmp_path, plain, no_network):
    """Old code: "is a directory but not a `datasets` save_to_disk folder"."""
    folder = _hub_folder(tmp_path / "hub", {"default": {"train": ROWS, "test": OTHER}}, shards=2)
    assert "configs:" in (folder / "README.md").read_text()
    store, summary = _ingest(tmp_path, str(folder), "s", split="train")
    assert summary.written == len(ROWS)
    assert _prompts(store) == plain
    _, locations = read_records(str(folder), split="train")
    assert locations[0] == f"{folder}/data/train-00000-of-00002.parquet row 0"
    assert locations[-1] == f"{folder}/data/train-00001-of-00002.parquet row 2"


def test_a_hub_style_folder_without_readme_takes_splits_from_file_names(tmp_path, plain, no_network):
    data = tmp_path / "hub" / "data"
    data.mkdir(parents=True)
    (data / "train-00000-of-00002.jsonl").write_text(_jsonl_text(ROWS[:4]))
    (data / "train-00001-of-00002.jsonl").write_text(_jsonl_text(ROWS[4:]))
    (data / "validation-00000-of-00001.jsonl").write_text(_jsonl_text(OTHER))
    store, _ = _ingest(tmp_path, str(tmp_path / "hub"), "s", split="train")
    assert _prompts(store) == plain
    records, locations = read_records(str(tmp_path / "hub"), split="validation")
    assert [r["question"] for r in records] == [r["question"] for r in OTHER]
    assert locations[1] == f"{tmp_path}/hub/data/validation-00000-of-00001.jsonl:2"


def test_a_hub_style_folder_with_configs_in_subfolders(tmp_path, plain, no_network):
    folder = _hub_folder(tmp_path / "hub", {"algebra": {"test": ROWS}, "geometry": {"test": OTHER}})
    assert (folder / "algebra" / "test-00000-of-00001.parquet").exists()
    store, _ = _ingest(tmp_path, str(folder), "s", split="test", config="algebra")
    assert _prompts(store) == plain
    with pytest.raises(IngestError, match=r"'algebra', 'geometry'.*--config"):
        read_records(str(folder), split="test")
    with pytest.raises(IngestError, match=r"'nope' not found.*'algebra', 'geometry'.*--config"):
        read_records(str(folder), split="test", config="nope")


def test_a_hub_style_folder_needs_an_existing_split(tmp_path, store, no_network):
    folder = _hub_folder(tmp_path / "hub", {"default": {"train": ROWS, "test": OTHER}})
    with pytest.raises(IngestError, match=r"splits \['train', 'test'\]; choose one with --split"):
        ingest_file(store, str(folder), dataset="toy", mapping=MAP)
    with pytest.raises(IngestError, match=r"no split 'validation'; splits are \['train', 'test'\]"):
        ingest_file(store, str(folder), dataset="toy", mapping=MAP, split="validation")
    assert store.count("prompts") == 0
    one = _hub_folder(tmp_path / "one", {"default": {"test": OTHER}})
    records, _ = read_records(str(one))  # a single split needs no --split
    assert len(records) == len(OTHER)


def test_a_folder_with_no_data_files_says_what_it_expected(tmp_path, no_network):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("# notes\n")
    with pytest.raises(IngestError, match=r"neither a `datasets` save_to_disk folder .* nor a hub-style"):
        read_records(str(tmp_path / "empty"))


def test_the_cli_ingests_a_hub_style_folder_by_split(tmp_path, capsys, no_network):
    from r1harness.cli import main

    folder = _hub_folder(tmp_path / "hub", {"default": {"train": ROWS, "test": OTHER}})
    base = ["ingest", str(folder), "--dataset", "toy", "--map", "problem=question,answer=final"]
    base += ["--store", str(tmp_path / "s")]
    assert main([*base, "--split", "nope"]) != 0
    assert "no split 'nope'; splits are ['train', 'test']" in capsys.readouterr().err
    assert main([*base, "--split", "test", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["written"] == len(OTHER)


def test_hub_reasoning_rows_import_from_a_hub_style_folder(tmp_path, no_network):
    """The hub importer reads through read_records, so a snapshot folder works there too."""
    from r1harness.importers.sources import read_hub

    rows = [
        {
            "problem": f"Compute {i}+{i}.",
            "answer": str(2 * i),
            "generations": [f"<think>..</think> \\boxed{{{2 * i}}}", "\\boxed{0}"],
            "correctness_math_verify": [True, i == 0],
            "finish_reasons": ["stop", "length"],
        }
        for i in range(3)
    ]
    folder = _hub_folder(tmp_path / "openr1", {"default": {"train": rows}})
    imported = read_hub(str(folder))
    assert len(imported) == 6
    assert imported[2].problem == "Compute 1+1." and imported[2].gold == "2"
    assert imported[2].where == f"{folder}/data/train-00000-of-00001.parquet row 1 generation 0"


# --- globs ----------------------------------------------------------------------------------------------


def test_a_glob_reads_its_files_in_sorted_order_naming_each(tmp_path, plain, monkeypatch, no_network):
    """Old code: "shards/part-*: no such file or directory"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.chdir(tmp_path)
    (tmp_path / "shards").mkdir()
    pq.write_table(pa.Table.from_pylist(ROWS[4:]), tmp_path / "shards" / "part-2.parquet")  # written first
    (tmp_path / "shards" / "part-1.jsonl.gz").write_bytes(gzip.compress(_jsonl_text(ROWS[2:4]).encode()))
    (tmp_path / "shards" / "part-0.jsonl").write_text(_jsonl_text(ROWS[:2]))
    records, locations = read_records("shards/part-*")
    assert records == ROWS
    assert locations == [
        "shards/part-0.jsonl:1",
        "shards/part-0.jsonl:2",
        "shards/part-1.jsonl.gz:1",
        "shards/part-1.jsonl.gz:2",
        "shards/part-2.parquet row 0",
        "shards/part-2.parquet row 1",
    ]
    store, summary = _ingest(tmp_path, "shards/part-*", "s")
    assert summary.written == len(ROWS) and summary.source == "shards/part-*"
    assert _prompts(store) == plain


def test_a_glob_that_matches_nothing_is_an_error_not_a_hub_id(tmp_path, monkeypatch, store, no_network):
    monkeypatch.chdir(tmp_path)
    for pattern in ("shards/part-*", "data/*.jsonl", "x/**/*.parquet"):
        with pytest.raises(IngestError, match="the glob matches no files"):
            ingest_file(store, pattern, dataset="toy")


def test_an_error_in_a_globbed_file_names_that_file_and_line(tmp_path, monkeypatch, store):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.jsonl").write_text(_jsonl_text(ROWS[:2]))
    (tmp_path / "b.jsonl").write_text(_jsonl_text(ROWS[2:4]) + '{"question": "x", "final": NaN}\n')
    with pytest.raises(IngestError, match=r"^b\.jsonl:3: NaN is not a JSON value"):
        ingest_file(store, "*.jsonl", dataset="toy", mapping=MAP)
    assert store.count("prompts") == 0


# --- compressed JSONL / JSON ----------------------------------------------------------------------------


def _compressed(tmp_path, name: str, data: bytes):
    import pyarrow as pa

    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    else:
        with pa.CompressedOutputStream(str(path), "zstd") as out:
            out.write(data)
    return path


@pytest.mark.parametrize("name", ["d.jsonl.gz", "d.jsonl.zst", "d.ndjson.gz", "d.json.gz", "d.json.zst"])
def test_compressed_files_give_the_same_prompts_as_plain_jsonl(tmp_path, plain, name):
    """Old code: "unknown file type '.gz'"."""
    data = json.dumps(ROWS) if ".json." in name else _jsonl_text(ROWS)
    path = _compressed(tmp_path, name, data.encode())
    store, _ = _ingest(tmp_path, str(path), "s")
    assert _prompts(store) == plain
    _, locations = read_records(str(path))
    assert locations[3] == (f"{path} row 3" if ".json." in name else f"{path}:4")


def test_a_zst_file_the_zstd_cli_wrote(tmp_path):
    """Written by `zstd -19` (Zstandard CLI v1.5.4), not by the library that reads it."""
    path = tmp_path / "cli.jsonl.zst"
    path.write_bytes(
        bytes.fromhex(
            "28b52ffd2456cd010022830b11a0ed8597677e705dcdf726882ff5bb3b02a09e6c5850bf7779438ea95bdc8c30"
            "1c99255ae72e778fc998263c0d0200401e738a2a03ff7fecd3"
        )
    )
    records, locations = read_records(str(path))
    assert records == [{"question": "What is 1+1?", "final": "2"}, {"question": "What is 2+2?", "final": "4"}]
    assert locations == [f"{path}:1", f"{path}:2"]


def test_a_malformed_line_inside_a_zst_file_names_file_and_line(tmp_path, store):
    lines = _jsonl_text(ROWS[:2]) + '{"question": "broken", "final": \n' + _jsonl_text(ROWS[2:])
    path = _compressed(tmp_path, "bad.jsonl.zst", lines.encode())
    with pytest.raises(IngestError, match=r"bad\.jsonl\.zst:3: malformed JSON"):
        ingest_file(store, str(path), dataset="toy", mapping=MAP)
    assert store.count("prompts") == 0


def test_a_corrupt_or_truncated_gz_is_an_error_naming_the_file(tmp_path, store):
    whole = gzip.compress(_jsonl_text(ROWS * 50).encode())
    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(
        IngestError, match=r"cut\.jsonl\.gz:\d+: cannot decompress the gzip stream.*truncated"
    ):
        ingest_file(store, str(truncated), dataset="toy", mapping=MAP)
    not_gzip = tmp_path / "plain.jsonl.gz"
    not_gzip.write_text(_jsonl_text(ROWS))
    with pytest.raises(IngestError, match=r"plain\.jsonl\.gz:1: cannot decompress the gzip stream"):
        ingest_file(store, str(not_gzip), dataset="toy", mapping=MAP)
    bad_zst = _compressed(tmp_path, "x.json.zst", json.dumps(ROWS).encode())
    bad_zst.write_bytes(bad_zst.read_bytes()[:-6])
    with pytest.raises(IngestError, match=r"x\.json\.zst: cannot decompress the zstd stream"):
        ingest_file(store, str(bad_zst), dataset="toy", mapping=MAP)
    assert store.count("prompts") == 0


def test_compression_only_for_json_and_missing_compressed_paths_never_go_to_the_hub(
    tmp_path, monkeypatch, store, no_network
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(b"question,final\nq,1\n"))
    with pytest.raises(IngestError, match=r"unknown file type '\.csv\.gz'"):
        ingest_file(store, "d.csv.gz", dataset="toy")
    for source in ("in/missing.jsonl.gz", "in/missing.jsonl.zst"):
        with pytest.raises(IngestError, match="no such file or directory"):
            ingest_file(store, source, dataset="toy")
