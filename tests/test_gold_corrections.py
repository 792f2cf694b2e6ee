"""A corrected gold answer is re-ingested as the next version of the prompt's gold, with lineage, and never
rewrites the stored row: readers (r1harness's and plain DuckDB's) see the latest gold; verdicts graded
against the old one are re-graded, the old rows kept beside the new."""

import json

import duckdb

from r1harness.cli import main
from r1harness.store import Store
from r1harness.store.ids import content_id, prompt_id


def _write(path, answer):
    rows = [{"problem": "What is 2+4?", "answer": answer}, {"problem": "What is 1+1?", "answer": "2"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_a_corrected_gold_is_a_new_version_and_rollouts_are_regraded(tmp_path, capsys):
    s = str(tmp_path / "store")
    first, fixed = tmp_path / "v1.jsonl", tmp_path / "v2.jsonl"
    _write(first, "5")  # a wrong gold
    _write(fixed, "6")
    assert main(["ingest", str(first), "--dataset", "toy", "--store", s]) == 0
    store = Store.open(s)
    pid = prompt_id("toy", "What is 2+4?")
    store.append("rollouts", [{"rollout_id": content_id("r", 1), "prompt_id": pid, "model": "m",
                               "completion": "so \\boxed{6}"}])  # fmt: skip
    verify = ["verify", "--verifier", "math", "--opt", "math:workers=0", "--store", s]
    assert main(verify) == 0
    assert store.sql("SELECT status FROM rewards")["status"].to_list() == ["wrong"]

    capsys.readouterr()
    assert main(["ingest", str(fixed), "--dataset", "toy", "--store", s]) == 1
    assert "--on-conflict correct" in capsys.readouterr().err
    assert main(["ingest", str(fixed), "--dataset", "toy", "--on-conflict", "correct", "--store", s]) == 0
    row = store.sql("SELECT answer, gold_version FROM prompts WHERE prompt_id = ?", [pid]).row(0, named=True)
    assert row == {"answer": "6", "gold_version": 2}
    stored = store.lazy("prompts").filter(prompt_id=pid).collect()
    assert stored["answer"].to_list() == ["5"]  # the stored row itself is never rewritten
    lineage = store.sql("SELECT * FROM gold_corrections").to_dicts()
    assert len(lineage) == 1 and lineage[0]["version"] == 2 and lineage[0]["previous_answer"] == "5"
    assert lineage[0]["source"].endswith("v2.jsonl") and lineage[0]["source_index"] == 0
    ingest_run = store.sql("SELECT kind FROM runs WHERE run_id = ?", [lineage[0]["run_id"]])["kind"]
    assert ingest_run.to_list() == ["ingest"]

    # re-grading: the old verdict stays, the new one is graded against the corrected gold
    assert main(verify) == 0
    verdicts = store.sql("SELECT status FROM rewards ORDER BY created_at")["status"].to_list()
    assert verdicts == ["wrong", "correct"]
    assert main(verify) == 0 and store.count("rewards") == 2  # nothing pending now
    # idempotent: the same corrected file again records nothing
    assert main(["ingest", str(fixed), "--dataset", "toy", "--on-conflict", "correct", "--store", s]) == 0
    assert store.sql("SELECT count(*) AS n FROM gold_corrections")["n"][0] == 1
    # a second correction is version 3
    _write(first, "7")
    assert main(["ingest", str(first), "--dataset", "toy", "--on-conflict", "correct", "--store", s]) == 0
    assert store.sql("SELECT answer, gold_version FROM prompts WHERE prompt_id = ?", [pid]).row(0) == ("7", 3)

    # plain DuckDB through views.sql sees the same gold
    con = duckdb.connect()
    con.execute(f"SET file_search_path = '{s}'")
    con.execute((tmp_path / "store" / "views.sql").read_text())
    assert con.sql(f"SELECT answer, gold_version FROM prompts WHERE prompt_id = '{pid}'").fetchall() == [
        ("7", 3)
    ]
