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
        identity="fake:echo",
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


# -- identical samples at temperature > 0 -----------------------------------------------------------
LONG = " ".join(f"w{i}" for i in range(20))  # 20 "tokens" for the fake backend: above the short-answer bar


def test_identical_samples_at_positive_temperature_warn_once(store, caplog):
    backend = get_backend("fake", "m", script=lambda prompt, i: f"{prompt} {LONG}")
    with caplog.at_level("WARNING", logger="r1harness.generate.runner"):
        s = generate_rollouts(
            store, backend, prompts_rows(3), template="plain@1", n=3, batch_size=1, progress=False
        )
    warnings = [r for r in caplog.records if "identical" in r.getMessage()]
    assert len(warnings) == 1 and "ignore" in warnings[0].getMessage()  # once per run, not per prompt
    assert s.identical == 3 and s.to_dict()["identical_samples"] == 3


@pytest.mark.parametrize(
    "script, sampling",
    [
        (lambda prompt, i: f"{prompt} {LONG}", SamplingParams(temperature=0.0)),  # greedy: expected
        (lambda prompt, i: f"{prompt} {i} {LONG}", SamplingParams()),  # samples differ
        (lambda prompt, i: "\\boxed{4}", SamplingParams()),  # a short answer may repeat
    ],
)
def test_no_identical_warning_when_nothing_is_wrong(store, caplog, script, sampling):
    backend = get_backend("fake", "m", script=script)
    with caplog.at_level("WARNING", logger="r1harness.generate.runner"):
        s = generate_rollouts(
            store, backend, prompts_rows(2), template="plain@1", n=2, sampling=sampling, progress=False
        )
    assert s.identical == 0 and not [r for r in caplog.records if "identical" in r.getMessage()]


# -- the backend is part of a rollout's identity ----------------------------------------------------
def test_two_backends_for_one_model_name_do_not_share_rollouts(store):
    class Other:  # a third-party backend with no `identity`: identified by its name and model
        name, version, model = "other", "1", "m"

        def render(self, prompt):
            return prompt

        def generate(self, requests, sampling):
            return get_backend("fake", "m", script="echo").generate(requests, sampling)

    fake = get_backend("fake", "m", script="echo")
    first = generate_rollouts(store, fake, prompts_rows(2), template="plain@1", n=2, progress=False)
    second = generate_rollouts(store, Other(), prompts_rows(2), template="plain@1", n=2, progress=False)
    assert (first.generated, second.generated) == (4, 4)  # before: the second run reused the first's
    assert not set(first.rollout_ids) & set(second.rollout_ids)
    fresh = get_backend("fake", "m", script="echo")
    again = generate_rollouts(store, fresh, prompts_rows(2), template="plain@1", n=2, progress=False)
    assert (again.generated, again.existing) == (0, 4)  # the same backend still resumes
    backends = store.sql("SELECT backend, count(*) AS n FROM rollouts GROUP BY 1 ORDER BY 1").rows()
    assert backends == [("fake", 4), ("other", 4)]
