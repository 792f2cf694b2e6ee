"""Generation into the store: ids, batching, resumption after a kill, the `r1h generate` command."""

from __future__ import annotations

import json

import pytest

from r1harness.cli import main
from r1harness.generate import SamplingParams, get_backend
from r1harness.generate.runner import generate_rollouts, plan_rollout_ids
from r1harness.store import ids


def prompts_rows(k=5):
    return [{"prompt_id": ids.prompt_id("toy", f"p{i}"), "problem": f"p{i}"} for i in range(k)]


def test_generate_writes_rollouts_with_lineage(store):
    backend = get_backend("fake", "echo")
    s = generate_rollouts(
        store,
        backend,
        prompts_rows(3),
        template="plain@1",
        n=2,
        seed=7,
        progress=False,
        sampling=SamplingParams(temperature=1.0, max_tokens=5),
    )
    assert (s.wanted, s.generated, s.existing) == (6, 6, 0)
    rows = store.sql("SELECT * FROM rollouts ORDER BY prompt_id, sample_index").to_dicts()
    assert sorted(r["completion"] for r in rows) == ["p0", "p0", "p1", "p1", "p2", "p2"]  # echo backend
    assert {r["stage"] for r in rows} == {"generate"} and {r["backend"] for r in rows} == {"fake"}
    assert {r["seed"] for r in rows} == {7} and {r["template"] for r in rows} == {"plain@1"}
    assert json.loads(rows[0]["sampling"]) == SamplingParams(temperature=1.0, max_tokens=5).to_dict()
    expected = plan_rollout_ids(
        [rows[0]["prompt_id"]],
        model="echo",
        template="plain@1",
        sampling=SamplingParams(temperature=1.0, max_tokens=5),
        seed=7,
        n=2,
    )
    assert [r["rollout_id"] for r in rows[:2]] == expected[rows[0]["prompt_id"]]


def test_generate_resumes_after_kill_with_no_duplicates(store):
    class Killed(Exception):
        pass

    calls = {"n": 0}

    def script(prompt, index):
        calls["n"] += 1
        if calls["n"] > 6:  # dies in the 4th batch (batches are 1 prompt x 2 samples)
            raise Killed()
        return f"out {prompt} {index}"

    backend = get_backend("fake", "m", script=script)
    with pytest.raises(Killed):
        generate_rollouts(
            store, backend, prompts_rows(5), template="plain@1", n=2, batch_size=1, progress=False
        )
    assert store.count("rollouts") == 6  # three whole batches of 1 prompt x 2 samples made it
    calls["n"] = -100
    s = generate_rollouts(
        store, backend, prompts_rows(5), template="plain@1", n=2, batch_size=1, progress=False
    )
    assert (s.existing, s.generated) == (6, 4)
    assert store.sql("SELECT count(DISTINCT rollout_id) AS d, count(*) AS n FROM rollouts").row(0) == (10, 10)


def test_changing_the_protocol_makes_new_rollouts(store):
    backend = get_backend("fake", "echo")
    generate_rollouts(store, backend, prompts_rows(2), template="plain@1", n=1, progress=False)
    s = generate_rollouts(store, backend, prompts_rows(2), template="chat@1", n=1, progress=False)
    t = generate_rollouts(
        store,
        backend,
        prompts_rows(2),
        template="plain@1",
        n=1,
        progress=False,
        sampling=SamplingParams(temperature=0.0),
    )
    assert (s.generated, t.generated, store.count("rollouts")) == (2, 2, 6)


def test_r1h_generate_cli(store, tmp_path, capsys):
    store.append(
        "prompts",
        [
            {
                "prompt_id": ids.prompt_id("toy", f"Problem {i}"),
                "dataset": "toy",
                "problem": f"Problem {i}",
                "source_index": i,
                "metadata": json.dumps({"level": i % 2}),
            }
            for i in range(4)
        ],
    )
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"responses": {"Problem": ["\\boxed{1}", "\\boxed{2}"]}}))
    argv = [
        "generate",
        "--store",
        str(store.root),
        "--backend",
        "fake",
        "--model",
        str(script),
        "--dataset",
        "toy",
        "--n",
        "2",
        "--where",
        "json_extract_string(metadata, '$.level') = '1'",
        "--no-progress",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["prompts"], out["generated"]) == (2, 4)
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["generated"] == 0
    runs = store.sql("SELECT kind, status FROM runs WHERE kind = 'generate'").rows()
    assert runs == [("generate", "finished")] * 2
    assert (
        main(
            [
                "generate",
                "--store",
                str(store.root),
                "--backend",
                "fake",
                "--model",
                "echo",
                "--dataset",
                "nope",
                "--no-progress",
            ]
        )
        == 1
    )
    assert "ingest it first" in capsys.readouterr().err
