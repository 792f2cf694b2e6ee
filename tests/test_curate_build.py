"""End to end: a set built from planted rollouts — funnel, quotas, dedup, decontamination, determinism,
all-or-nothing builds, general data, cold start, human acceptance."""

from __future__ import annotations

import json
import random

import pytest
from curate_helpers import add_benchmark, add_reasoning, cot, synthetic_reasoning, words

from r1harness.curate import build_set, load_recipe, recipe_from_dict
from r1harness.curate.sets import diff, list_sets, resolve
from r1harness.errors import ConfigError

BENCH = (
    "Every morning Aya goes for a nine kilometer long walk and stops at a coffee shop afterwards and "
    "we ask how long the walk takes her"
)


def recipe(**over):
    raw = load_recipe("tiny").to_dict()
    raw["decontamination"]["benchmarks"] = ["store:bench"]
    raw.update(over)
    return recipe_from_dict(raw)


def planted(store) -> dict[str, list[str]]:
    """30 clean prompts x 3 samples (every 3rd wrong) plus one planted case per filter/dedup/decontam."""
    rnd = random.Random(5)
    ids = {"base": add_reasoning(store, synthetic_reasoning(30, 3, seed=5))}
    bad = {
        "truncated": ("<think>" + words(rnd, 40), "length"),
        "mixed": (
            "<think>" + words(rnd, 30) + " 我们需要计算这个问题的答案然后检查一下</think> \\boxed{1}",
            "stop",
        ),
        "code": ("<think>" + words(rnd, 30) + "\n```python\nprint(1)\n```\n</think> \\boxed{1}", "stop"),
        "long_par": ("<think>" + words(rnd, 700) + "</think> \\boxed{1}", "stop"),
        "repeat": ("<think>" + "we try the same step again . " * 40 + "</think> \\boxed{1}", "stop"),
    }
    for name, (completion, finish) in bad.items():
        ids[name] = add_reasoning(
            store,
            [
                {
                    "problem": f"Planted {name}: {words(rnd, 20)}",
                    "completion": completion,
                    "finish": finish,
                    "correct": True,
                }
            ],
        )
    dup_text = cot(rnd, "7", 80)
    ids["exact_dup"] = add_reasoning(
        store,
        [
            {"problem": f"Dup source {i}: {words(rnd, 20)}", "completion": dup_text, "correct": True}
            for i in range(2)
        ],
    )
    near = cot(rnd, "8", 120)
    near2 = near.replace("</think>", "extra </think>")
    ids["near_dup"] = add_reasoning(
        store,
        [
            {"problem": f"Near source {i}: {words(rnd, 20)}", "completion": c, "correct": True}
            for i, c in enumerate([near, near2])
        ],
    )
    add_benchmark(store, "bench", [BENCH])
    ids["contaminated"] = add_reasoning(
        store, [{"problem": "Please solve: " + BENCH, "completion": cot(rnd, "3"), "correct": True}]
    )
    return ids


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from r1harness.store import Store

    store = Store.open(tmp_path_factory.mktemp("curate") / "store")
    ids = planted(store)
    result = build_set(store, recipe(quotas={"reasoning": {"count": 1000, "domains": ["math"]}}))
    return store, ids, result


def _members(store, ref) -> set[str]:
    row = resolve(store, ref)
    return set(
        store.sql(
            "SELECT rollout_id FROM ready_sft_samples WHERE set_name = ? AND set_version = ?",
            [row["name"], row["version"]],
        )["rollout_id"].to_list()
    )


def _stage(result, stage):
    rows = [s for s in result.funnel["stages"] if s["stage"] == stage]
    return sum(r["dropped"] for r in rows)


def test_funnel_counts_every_planted_drop(built):
    store, ids, result = built
    assert _stage(result, "source") == 0
    assert _stage(result, "filter.correct") == 30  # every 3rd of 90 base rollouts
    for stage in (
        "filter.not_truncated",
        "filter.mixed_language",
        "filter.code_in_cot",
        "filter.long_paragraph",
        "filter.repetition",
        "dedup.exact.completion",
        "dedup.near.completion",
        "decontam.prompt",
    ):
        assert _stage(result, stage) == 1, stage
    members = _members(store, result.ref)
    for name in ("truncated", "mixed", "code", "long_par", "repeat", "contaminated"):
        assert not members & set(ids[name]), name
    assert len(members & set(ids["exact_dup"])) == 1 and len(members & set(ids["near_dup"])) == 1
    hits = result.funnel["decontamination"]["hits"]
    assert hits == [{"field": "prompt", "benchmark": "store:bench", "rows": 1}]


def test_quota_met_exactly_when_supply_allows_and_shortfall_reported(built):
    store, _, everything = built
    supply = everything.n_samples
    sq = everything.funnel["quotas"][0]
    assert sq["supply"] == sq["selected"] == supply and sq["shortfall"] == 1000 - supply
    exact = build_set(store, recipe(name="exact", quotas={"reasoning": {"count": 50, "domains": ["math"]}}))
    q = exact.funnel["quotas"][0]
    assert exact.n_samples == 50 == q["selected"] and q["shortfall"] == 0 and q["supply"] == supply > 50
    assert _members(store, exact.ref) <= _members(store, everything.ref)


def test_per_prompt_cap(built):
    store, _, result = built
    per = store.sql(
        "SELECT prompt_id, count(*) AS n FROM ready_sft_samples WHERE set_name = 'tiny' GROUP BY 1"
    )["n"]
    assert per.max() <= 2


def test_same_recipe_same_store_same_set(built):
    store, _, result = built
    again = build_set(store, recipe(quotas={"reasoning": {"count": 1000, "domains": ["math"]}}))
    assert again.version == result.version + 1
    assert _members(store, again.ref) == _members(store, result.ref)
    d = diff(store, result.ref, again.ref)
    assert (d["common"], d["only_a"], d["only_b"]) == (result.n_samples, 0, 0)
    # One sample per prompt out of two correct ones: 30 choices the seed decides.
    one = build_set(store, recipe(per_prompt=1, quotas={"reasoning": {"count": 1000, "domains": ["math"]}}))
    other_seed = build_set(
        store, recipe(seed=9, per_prompt=1, quotas={"reasoning": {"count": 1000, "domains": ["math"]}})
    )
    assert _members(store, other_seed.ref) != _members(store, one.ref)
    assert {"key": "seed", "a": 0, "b": 9} in diff(store, one.ref, other_seed.ref)["recipe_changes"]


def test_the_same_rollout_texts_under_other_ids_give_the_same_set(tmp_path):
    """Rollout ids embed the run (model, run id); a rerun of a pipeline writes the same texts under new ids
    and must pick the same samples, so selection ranks by content."""
    from r1harness.store import Store

    contents = []
    for i, model in enumerate(("run-a", "run-b")):
        store = Store.open(tmp_path / f"s{i}")
        add_reasoning(store, synthetic_reasoning(20, 3, seed=11), model=model)
        add_benchmark(store, "bench", [BENCH])
        ref = build_set(
            store, recipe(per_prompt=1, quotas={"reasoning": {"count": 1000, "domains": ["math"]}})
        ).ref
        name, version = ref.split("@v")
        rows = store.sql(
            "SELECT messages FROM sft_samples WHERE set_name = ? AND set_version = ?", [name, int(version)]
        )
        contents.append(sorted(rows["messages"].to_list()))
    assert len(contents[0]) == 20 and contents[0] == contents[1]


def test_a_failed_build_is_invisible_and_a_rerun_resumes_it(tmp_path, monkeypatch):
    from r1harness.curate import build as build_mod
    from r1harness.store import Store

    store = Store.open(tmp_path / "s")
    add_reasoning(store, synthetic_reasoning(20, 2, seed=1))
    r = recipe(name="crash", quotas={"reasoning": {"count": 15, "domains": ["math"]}}, decontamination=False)
    original = build_mod._write_samples

    def crash_after_some(store_, recipe_, name, version, selected, progress):
        original(store_, recipe_, name, version, selected.head(5), progress)
        raise KeyboardInterrupt  # killed mid-write

    monkeypatch.setattr(build_mod, "_write_samples", crash_after_some)
    with pytest.raises(KeyboardInterrupt):
        build_set(store, r)
    assert list_sets(store).height == 0
    assert list_sets(store, include_unready=True)["status"].to_list() == ["failed"]
    assert store.count("sft_samples") == 5 and store.count("ready_sft_samples") == 0
    with pytest.raises(Exception, match="failed, not ready"):
        resolve(store, "crash@v1")
    monkeypatch.setattr(build_mod, "_write_samples", original)
    result = build_set(store, r)
    assert (result.version, result.resumed, result.n_samples) == (1, True, 15)
    assert store.count("sft_samples") == 15 and store.count("ready_sft_samples") == 15


def test_bad_source_query_is_rejected_before_any_work(tmp_path):
    from r1harness.store import Store

    store = Store.open(tmp_path / "s")
    add_reasoning(store, synthetic_reasoning(2, 1))
    with pytest.raises(ConfigError, match="source query failed"):
        build_set(store, recipe(source="SELECT * FROM no_such_table"))
    with pytest.raises(ConfigError, match="must return"):
        build_set(store, recipe(source="SELECT prompt_id FROM prompts"))
    with pytest.raises(ConfigError, match="no problems"):
        build_set(store, recipe(decontamination={"benchmarks": ["store:missing"]}))
    assert store.count("sets") == 0 and store.count("runs") == 0


def test_general_chat_data_with_r1_simple_prompt_policy(tmp_path):
    from r1harness.ingest.chat import import_chat
    from r1harness.store import Store

    store = Store.open(tmp_path / "s")
    add_reasoning(store, synthetic_reasoning(5, 1, correct_every=99))
    add_benchmark(store, "bench", [BENCH])
    chats = tmp_path / "chat.jsonl"
    long_q = (
        "Could you please explain in a few sentences why the sky looks blue during the day and red at dusk?"
    )
    chats.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "messages": [
                        {"role": "user", "content": "hello"},
                        {"role": "assistant", "content": "<think>greeting</think>Hi! How can I help?"},
                    ]
                },
                {
                    "messages": [
                        {"role": "system", "content": "Be brief."},
                        {"role": "user", "content": long_q},
                        {
                            "role": "assistant",
                            "content": "<think>Rayleigh scattering</think>Because of scattering.",
                        },
                    ],
                    "source_id": 7,
                },
            ]
        )
        + "\n"
    )
    summary = import_chat(store, str(chats), dataset="chat")
    assert (summary.records, summary.prompts_written, summary.rollouts_written) == (2, 2, 2)
    assert import_chat(store, str(chats), dataset="chat").rollouts_written == 0  # idempotent
    result = build_set(
        store,
        recipe(
            quotas={
                "reasoning": {"count": 5, "domains": ["math"]},
                "general": {"count": 2, "domains": ["general"]},
            }
        ),
    )
    rows = store.sql(
        "SELECT s.messages, r.stage, p.domain FROM ready_sft_samples s JOIN rollouts r "
        "USING (rollout_id) JOIN prompts p ON p.prompt_id = s.prompt_id WHERE s.domain = 'general' "
        "ORDER BY length(s.messages)"
    ).to_dicts()
    assert result.n_samples == 7 and [r["stage"] for r in rows] == ["import", "import"]
    simple, full = (json.loads(r["messages"]) for r in rows)
    assert simple == [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Hi! How can I help?"},
    ]
    assert full[0] == {"role": "system", "content": "Be brief."} and full[1]["content"] == long_q
    assert full[2]["content"] == "<think>Rayleigh scattering</think>Because of scattering."


def test_bad_chat_file_names_the_line_and_writes_nothing(tmp_path):
    from r1harness.errors import IngestError
    from r1harness.ingest.chat import import_chat
    from r1harness.store import Store

    store = Store.open(tmp_path / "s")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})
        + "\n"
        + json.dumps({"messages": [{"role": "user", "content": "only a question"}]})
        + "\n"
    )
    with pytest.raises(IngestError, match=r"bad.jsonl:2: the last message must be the assistant"):
        import_chat(store, str(bad), dataset="chat")
    assert store.count("prompts") == 0 and store.count("rollouts") == 0


def test_cold_start_layout_and_human_acceptance(tmp_path):
    from r1harness.curate.audit import draw, label
    from r1harness.store import Store

    store = Store.open(tmp_path / "s")
    add_reasoning(store, synthetic_reasoning(6, 1, correct_every=99))
    add_benchmark(store, "bench", [BENCH])
    first = build_set(
        store,
        recipe(
            name="cold",
            output={"layout": "cold_start"},
            quotas={"reasoning": {"count": 6, "domains": ["math"]}},
        ),
    )
    msgs = [json.loads(m) for m in store.sql("SELECT messages FROM ready_sft_samples")["messages"]]
    answer = msgs[0][1]["content"]
    assert answer.startswith("|special_token|") and answer.count("|special_token|") == 2
    assert answer.endswith("|special_token|The answer is \\boxed{" + answer.split("{")[-1])
    drawn = draw(store, first.ref, n=4, seed=1)
    assert drawn.height == 4 and drawn.equals(draw(store, first.ref, n=4, seed=1))
    a, b, c = drawn["sample_id"][:3]
    label(store, sample_id=a, label="accept")
    label(
        store,
        sample_id=b,
        label="edit",
        reason="clearer summary",
        edited_text="<think>edited reasoning</think>The answer is \\boxed{0}.",
    )
    label(store, sample_id=c, label="reject", reason="wrong units")
    with pytest.raises(ConfigError, match="needs a --reason"):
        label(store, sample_id=c, label="reject")
    reviewed = build_set(
        store,
        recipe(
            name="cold",
            output={"layout": "cold_start"},
            filters={"correct": {}, "accepted": {}},
            quotas={"reasoning": {"count": 6, "domains": ["math"]}},
        ),
    )
    assert reviewed.n_samples == 2
    contents = {
        json.loads(m)[1]["content"]
        for m in store.sql("SELECT messages FROM ready_sft_samples WHERE set_version = 2")["messages"]
    }
    assert "|special_token|edited reasoning|special_token|The answer is \\boxed{0}." in contents


def test_think_layout_drops_the_template_space_before_the_completion():
    # generated completions start with the space after "Assistant:"; the chat template adds its own
    import polars as pl

    from r1harness.curate.messages import with_messages

    rows = pl.DataFrame(
        {
            "problem": ["What is 2 + 2?"],
            "completion": ["  <think>2 + 2 = 4.</think> 4 "],
            "domain": ["math"],
            "history": [None],
            "label": [None],
            "edited_text": [None],
        },
        schema_overrides={"history": pl.String, "label": pl.String, "edited_text": pl.String},
    )
    messages = json.loads(with_messages(rows, recipe())["messages"][0])
    assert messages[-1] == {"role": "assistant", "content": "<think>2 + 2 = 4.</think> 4 "}
