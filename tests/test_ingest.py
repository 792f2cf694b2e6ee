"""Ingest: every manifest from $R1H_DATA_DIR, every input format, and bad input that changes nothing."""

from __future__ import annotations

import json

import pytest

from r1harness.errors import ConfigError, IngestError
from r1harness.ingest import ingest_file, ingest_manifest, list_manifests, load_manifest, read_prompts

EXPECTED_ROWS = {
    "aime24": 30,
    "aime25": 30,
    "amc23": 40,
    "math500": 500,
    "gsm8k": 1319,
    "humaneval": 164,
    "code_contests": 165,
    "codeforces": 408,
    "livecodebench": 279,
    "math_train": 7470,
    "gsm8k_train": 7473,
}


def test_every_manifest_ingests_with_the_right_row_count(store, shared_data):
    names = {m.name for m in list_manifests()}
    assert set(EXPECTED_ROWS) <= names
    for name in EXPECTED_ROWS:
        ingest_manifest(store, name)
    counts = dict(store.sql("SELECT dataset, count(*) AS n FROM prompts GROUP BY 1").iter_rows())
    assert {k: counts[k] for k in EXPECTED_ROWS} == EXPECTED_ROWS
    again = ingest_manifest(store, "aime24")
    assert (again.written, again.skipped_existing) == (0, 30)
    assert (
        store.sql("SELECT count(*) AS n FROM runs WHERE kind = 'ingest' AND status = 'finished'")["n"][0]
        == len(EXPECTED_ROWS) + 1
    )


def test_manifests_normalise_known_defects(shared_data):
    aime = read_prompts("aime24")
    assert all(r["answer"] == str(int(r["answer"])) for r in aime)  # no zero padding
    assert {r["answer"] for r in aime} >= {"25", "73", "23", "45", "33", "80", "55"}
    amc = read_prompts("amc23")
    assert not any(r["answer"].endswith(".0") for r in amc)
    lcb = read_prompts("livecodebench")
    tests = json.loads(lcb[0]["tests"])
    assert isinstance(tests, list) and {"input", "output"} <= set(tests[0])
    cc = read_prompts("code_contests")
    assert sum(len(json.loads(r["tests"])) for r in cc) == 1837
    gsm = read_prompts("gsm8k")
    assert all(r["answer"].lstrip("-").isdigit() for r in gsm)
    he = read_prompts("humaneval")
    assert json.loads(he[0]["metadata"])["entry_point"] == "has_close_elements"


def test_raw_forms_are_normalised_too(store, tmp_path):
    path = tmp_path / "raw.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"problem": "p1", "answer": "025"},
                {"problem": "p2", "answer": 27.0},
                {"problem": "p3", "answer": "#### 1,234", "tests": "[{'input': '1', 'output': '2'}]"},
            ]
        )
        + "\n"
    )
    manifest = tmp_path / "raw.yaml"
    manifest.write_text(f"name: raw\nsource: {{path: {path}}}\nnormalize: {{answer: [gsm8k_final]}}\n")
    ingest_manifest(store, str(manifest))
    rows = store.sql("SELECT problem, answer, tests FROM prompts ORDER BY problem").to_dicts()
    assert [r["answer"] for r in rows] == ["25", "27", "1234"]
    assert json.loads(rows[2]["tests"]) == [{"input": "1", "output": "2"}]


ROWS = [{"question": f"What is {i}+1?", "final": str(i + 1), "extra": i} for i in range(5)]


def _write(tmp_path, fmt: str):
    import pyarrow as pa
    import pyarrow.parquet as pq

    if fmt == "jsonl":
        p = tmp_path / "d.jsonl"
        p.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    elif fmt == "json":
        p = tmp_path / "d.json"
        p.write_text(json.dumps(ROWS))
    elif fmt == "parquet":
        p = tmp_path / "d.parquet"
        pq.write_table(pa.Table.from_pylist(ROWS), p)
    elif fmt == "csv":
        p = tmp_path / "d.csv"
        p.write_text(
            "question,final,extra\n" + "".join(f'"{r["question"]}",{r["final"]},{r["extra"]}\n' for r in ROWS)
        )
    else:
        import datasets

        p = tmp_path / "d_hf"
        datasets.Dataset.from_list(ROWS).save_to_disk(str(p))
    return p


@pytest.mark.parametrize("fmt", ["jsonl", "json", "parquet", "csv", "hf_disk"])
def test_every_input_format(store, tmp_path, fmt):
    path = _write(tmp_path, fmt)
    s = ingest_file(store, str(path), dataset="toy", mapping={"problem": "question", "answer": "final"})
    assert (s.rows_read, s.written) == (5, 5)
    rows = store.sql("SELECT problem, answer, metadata FROM prompts ORDER BY answer").to_dicts()
    assert rows[0]["problem"] == "What is 0+1?" and rows[0]["answer"] == "1"
    assert str(json.loads(rows[0]["metadata"])["extra"]) == "0"


def test_hub_id_goes_through_datasets_load_dataset(store, monkeypatch):
    import datasets

    calls = {}

    def fake_load_dataset(path, name=None, split=None, revision=None, **kw):
        calls.update(path=path, name=name, split=split, revision=revision)
        return datasets.Dataset.from_list(ROWS)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    s = ingest_file(
        store,
        "openai/gsm8k",
        dataset="hub_toy",
        split="test",
        config="main",
        revision="abc",
        mapping={"problem": "question", "answer": "final"},
    )
    assert calls == {"path": "openai/gsm8k", "name": "main", "split": "test", "revision": "abc"}
    assert s.written == 5 and s.source == "openai/gsm8k"


def test_manifest_falls_back_to_the_hub_when_the_file_is_missing(store, tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_list(ROWS))
    m = tmp_path / "h.yaml"
    m.write_text(
        "name: h\nsource: {path: /nonexistent.jsonl, hub: {id: org/h, split: test, revision: v1}}\n"
        "fields: {problem: question, answer: final}\n"
    )
    assert ingest_manifest(store, str(m)).source == "org/h@v1"


def _snapshot(store):
    return store.tables(), sorted(p.name for p in (store.root / "tables" / "prompts").iterdir())


@pytest.mark.parametrize(
    "content,match",
    [
        (b'{"problem": "a"}\n{"problem": "b"\n{"problem": "c"}\n', r"bad\.jsonl:2: malformed JSON"),
        (b'{"problem": "a"}\n{"problem": "\xff\xfe"}\n', r"bad\.jsonl:2: invalid UTF-8"),
        (b"", "empty input"),
        (b'{"problem": "a"}\n[1, 2]\n', r"bad\.jsonl:2: expected a JSON object"),
        (b'{"problem": "a"}\n{"problem": ["not", "text"]}\n', r"bad\.jsonl:2: .*must be text"),
        (b'{"problem": "a", "answer": {"x": 1}}\n', r"bad\.jsonl:1: .*answer.*must be text or a number"),
        (b'{"problem": "a"}\n{"problem": ""}\n', r"bad\.jsonl:2: .*empty or missing"),
    ],
)
def test_bad_input_is_named_and_changes_nothing(store, tmp_path, content, match):
    ingest_file(store, str(_write(tmp_path, "jsonl")), dataset="ok", mapping={"problem": "question"})
    before = _snapshot(store)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content)
    with pytest.raises(IngestError, match=match):
        ingest_file(store, str(bad), dataset="bad")
    assert _snapshot(store) == before


def test_missing_mapped_field_lists_the_columns(store, tmp_path):
    path = _write(tmp_path, "jsonl")
    with pytest.raises(IngestError, match=r"'answer_col'.*columns are \['extra', 'final', 'question'\]"):
        ingest_file(store, str(path), dataset="x", mapping={"problem": "question", "answer": "answer_col"})
    other = tmp_path / "other.jsonl"
    other.write_text('{"q": "1+1", "final": "2"}\n')
    with pytest.raises(IngestError, match=r"no problem column.*\['final', 'q'\]"):
        ingest_file(store, str(other), dataset="x")


def test_duplicates_are_merged_and_counted(store, tmp_path):
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join(json.dumps({"problem": p, "answer": "1"}) for p in ["a", "b", "a", "a"]))
    s = ingest_file(store, str(path), dataset="dup")
    assert (s.rows_read, s.written, s.merged_duplicates) == (4, 2, 2)


def test_manifest_errors_name_the_key(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("name: m\nsource: {path: x.jsonl}\nfeilds: {problem: q}\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['feilds'\]"):
        load_manifest(str(m))
    m.write_text("name: m\ndomain: poetry\nsource: {path: x.jsonl}\n")
    with pytest.raises(ConfigError, match="domain must be one of"):
        load_manifest(str(m))
    with pytest.raises(ConfigError, match="known manifests"):
        load_manifest("no_such_manifest")


# --- issue 14: input the old ingest accepted silently, or answered with a traceback ----------------
def _jsonl(tmp_path, name: str, lines: list[str]):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    return path


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinite_answers_are_rejected_with_the_line(store, tmp_path, literal):
    """Old code stored the gold answers 'nan' and 'inf'."""
    path = _jsonl(
        tmp_path, "n.jsonl", ['{"problem": "a", "answer": 1}', f'{{"problem": "b", "answer": {literal}}}']
    )
    with pytest.raises(IngestError, match=rf"n\.jsonl:2: {literal} is not a JSON value"):
        ingest_file(store, str(path), dataset="n")
    assert store.count("prompts") == 0


def test_a_nan_answer_in_parquet_is_rejected_with_the_row(store, tmp_path):
    import polars as pl

    path = tmp_path / "n.parquet"
    pl.DataFrame({"problem": ["a", "b"], "answer": [1.0, float("nan")]}).write_parquet(path)
    with pytest.raises(IngestError, match=r"n\.parquet row 1: field 'answer' \(answer\) is nan"):
        ingest_file(store, str(path), dataset="n")


def test_conflicting_answers_name_both_lines_or_follow_on_conflict(store, tmp_path):
    """Old code kept the first answer silently."""
    lines = [
        '{"problem": "a", "answer": "1"}',
        '{"problem": "b", "answer": "2"}',
        '{"problem": "a", "answer": "7"}',
    ]
    path = _jsonl(tmp_path, "c.jsonl", lines)
    with pytest.raises(
        IngestError, match=r"c\.jsonl:3: the same problem as .*c\.jsonl:1 with a different answer"
    ):
        ingest_file(store, str(path), dataset="c")
    assert store.count("prompts") == 0
    s = ingest_file(store, str(path), dataset="c", on_conflict="last")
    assert s.written == 2
    assert store.sql("SELECT answer FROM prompts WHERE problem = 'a'")["answer"].to_list() == ["7"]


def test_a_corrected_answer_against_the_store_is_an_error_naming_the_stored_row(store, tmp_path):
    """Old code answered 'already present' and kept the wrong gold answer without a word."""
    ingest_file(store, str(_jsonl(tmp_path, "v1.jsonl", ['{"problem": "a", "answer": "1"}'])), dataset="c")
    fixed = _jsonl(tmp_path, "v2.jsonl", ['{"problem": "a", "answer": "2"}'])
    with pytest.raises(
        IngestError, match=r"v2\.jsonl:1: the store already holds .*'1', ingested from .*v1\.jsonl"
    ):
        ingest_file(store, str(fixed), dataset="c")
    kept = ingest_file(store, str(fixed), dataset="c", on_conflict="first")
    assert (kept.written, kept.skipped_existing) == (0, 1)
    same = ingest_file(
        store, str(_jsonl(tmp_path, "v3.jsonl", ['{"problem": "a", "answer": "1"}'])), dataset="c"
    )
    assert same.skipped_existing == 1  # the same gold again is not a conflict


def test_a_lone_surrogate_is_an_error_naming_the_line(store, tmp_path):
    """Old code: a traceback from the Arrow conversion."""
    path = _jsonl(tmp_path, "s.jsonl", ['{"problem": "a"}', '{"problem": "b \\ud800 c"}'])
    with pytest.raises(IngestError, match=r"s\.jsonl:2: field 'problem' holds a lone surrogate \\ud800"):
        ingest_file(store, str(path), dataset="s")


def test_a_missing_local_path_never_goes_to_the_hub(store, tmp_path, monkeypatch):
    """Old code tried `in/missing.jsonl` as a hub id for 27 s."""
    import r1harness.ingest.readers as readers

    monkeypatch.setattr(readers, "read_hub", lambda *a, **k: pytest.fail("went to the hub"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    for source in ("in/missing.jsonl", "missing/data.parquet", "in/missing"):
        with pytest.raises(IngestError, match="no such file or directory"):
            ingest_file(store, source, dataset="x")
    assert readers.looks_like_hub_id("HuggingFaceH4/MATH-500")


def _cli(argv, capsys):
    from r1harness.cli import main

    rc = main(argv)
    return rc, capsys.readouterr().err


def test_a_failed_ingest_into_a_new_store_leaves_no_store(tmp_path, capsys):
    bad = _jsonl(tmp_path, "bad.jsonl", ['{"problem": "a", "answer": NaN}'])
    new = tmp_path / "new-store"
    rc, err = _cli(["ingest", str(bad), "--dataset", "x", "--store", str(new)], capsys)
    assert rc == 1 and err.startswith("r1h ingest: error:") and "bad.jsonl:1" in err
    assert not new.exists()


def test_a_full_disk_is_one_error_line(tmp_path, capsys, monkeypatch):
    """Old code printed a raw traceback."""
    import errno

    from r1harness.store import shards

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "s" / "_staging"))

    good = _jsonl(tmp_path, "ok.jsonl", ['{"problem": "a", "answer": "1"}'])
    monkeypatch.setattr(shards.pq, "write_table", full)
    rc, err = _cli(["ingest", str(good), "--dataset", "x", "--store", str(tmp_path / "s")], capsys)
    assert rc == 1
    assert err.splitlines()[-1].startswith("r1h ingest: error: No space left on device")
    assert "Traceback" not in err
