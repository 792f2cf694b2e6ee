"""Other systems' rollouts into the store: a verl dump, a TRL completion log (written by a real
trl.GRPOTrainer), lighteval details and an OpenR1-Math-style dataset, each imported with one command,
queried together in SQL, re-verified with r1harness's math verifier (the imported_vs_verified view shows
where the sources' own labels disagree), curated into a set and exported for SFT and for RL.

Fixture formats follow their writers:
- verl: verl/trainer/ppo/ray_trainer.py `RayPPOTrainer._dump_generations` (volcengine/verl@b178a3cd56f5):
  one `{global_steps}.jsonl` per step, keys input, output, gts, score, step + reward extra-info keys.
- TRL: written by trl.GRPOTrainer itself (GRPOConfig(log_completions=True), trl 1.16 `GRPOTrainer.log`).
- lighteval: src/lighteval/logging/evaluation_tracker.py `EvaluationTracker.save` and info_loggers.py
  `DetailsLogger.Detail` (huggingface/lighteval@3fd15266bc84): `Dataset.from_list(asdict(detail))`,
  columns doc / model_response / metric, file `details_{task}_{date}.parquet`.
- OpenR1-Math-220k's columns (problem, answer, generations, correctness_math_verify, correctness_llama,
  finish_reasons, uuid, source), as on its dataset card.
"""

import json
import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from r1harness.cli import main  # noqa: E402
from r1harness.importers.records import ProblemIndex  # noqa: E402
from r1harness.store.ids import prompt_id  # noqa: E402

PROBLEMS = [(f"Tom has {a} apples and buys {b} more. How many apples does he have?", a + b) for a, b in
            [(3, 4), (10, 5), (7, 8), (12, 30)]]  # fmt: skip
QWEN_CHAT = 'system\nYou are a helpful assistant.\nuser\n{q} Let\'s think step by step and output the final answer after "####".\nassistant\n'  # noqa: E501


def write_verl_dump(folder: Path) -> None:
    """What `_dump_generations` writes for 2 steps x 4 problems (scores by verl's gsm8k rule); one sample
    of step 2 is labelled correct by the source although its answer is wrong (a buggy reward)."""
    folder.mkdir(parents=True)
    for step in (1, 2):
        inputs, outputs, gts, scores = [], [], [], []
        for i, (q, a) in enumerate(PROBLEMS):
            said = a if i < step + 1 else a + 1
            inputs.append(QWEN_CHAT.format(q=q))
            outputs.append(f"Adding them: the total is \\boxed{{{said}}}.\n#### {said}")
            gts.append(str(a))
            scores.append(1.0 if said == a else 0.0)
        if step == 2:
            scores[3] = 1.0  # a buggy reward: the last answer is wrong, the dump says it scored 1
        extra = {"acc": [bool(s) for s in scores], "pred": [o.split("#### ")[-1] for o in outputs]}
        base = {"input": inputs, "output": outputs, "gts": gts, "score": scores, "step": [step] * 4}
        base.update({k: v for k, v in extra.items() if len(v) == 4})
        lines = [json.dumps({k: v[i] for k, v in base.items()}, ensure_ascii=False) for i in range(4)]
        (folder / f"{step}.jsonl").write_text("\n".join(lines) + "\n")


def write_lighteval_details(folder: Path) -> Path:
    import datasets

    date = "2026-12-01T10-00-00.000000"
    rows = []
    for q, a in PROBLEMS[:3]:
        doc = {"query": f"Problem: {q}\nAnswer:", "original_query": q, "choices": [str(a)], "gold_index": 0,
               "task_name": "lighteval|gsm8k_toy|0", "instruction": None, "specific": None}  # fmt: skip
        response = {"text": [f"The answer is \\boxed{{{a}}}", f"The answer is \\boxed{{{a + 2}}}"],
                    "input": doc["query"], "output_tokens": [[1, 2], [3]]}  # fmt: skip
        rows.append({"doc": doc, "model_response": response, "metric": {"extractive_match": 0.5}})
    out = folder / "details" / "toy-model" / date
    out.mkdir(parents=True)
    dataset = datasets.Dataset.from_list(rows)
    dataset = dataset.select_columns(sorted(dataset.column_names))
    path = out / f"details_lighteval|gsm8k_toy|0_{date}.parquet"
    dataset.to_parquet(str(path))
    return folder / "details"


def write_openr1(path: Path) -> None:
    rows = []
    for k, (q, a) in enumerate(PROBLEMS):
        rows.append(
            {"problem": q, "answer": str(a), "uuid": f"u{k}", "source": "toy",
             "generations": [f"<think>add</think> \\boxed{{{a}}}", f"<think>add</think> \\boxed{{{a * 10}}}"],
             # the second generation's label is wrong on purpose for the first problem: the dataset says
             # correct, math-verify says 10x the answer is wrong
             "correctness_math_verify": [True, k == 0], "correctness_llama": [True, None],
             "finish_reasons": ["stop", "length"]}
        )  # fmt: skip
    pl.DataFrame(rows).write_ndjson(path)


def run_trl_grpo_with_completion_logs(tmp_path: Path, tiny) -> Path:
    """A real TRL GRPO run (2 steps) writing its own completions_{step}.parquet files."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from datasets import Dataset

    def accuracy(completions, **kwargs):
        return [1.0 if any(ch.isdigit() for ch in c) else 0.0 for c in completions]

    out = tmp_path / "trl_run"
    args = GRPOConfig(
        output_dir=str(out), max_steps=2, per_device_train_batch_size=4, num_generations=2,
        max_completion_length=6, logging_steps=1, log_completions=True, report_to=[], save_strategy="no",
        use_cpu=True, bf16=False, seed=0,
    )  # fmt: skip
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny),
        reward_funcs=[accuracy],
        args=args,
        train_dataset=Dataset.from_dict({"prompt": [q for q, _ in PROBLEMS] * 2}),
        processing_class=AutoTokenizer.from_pretrained(tiny),
    )
    trainer.train()
    return out / "completions"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from r1harness.train.tiny_model import init_tiny_model

    corpus = [f"{q} {a}" for q, a in PROBLEMS] * 20
    folder = tmp_path_factory.mktemp("tiny") / "m"
    return init_tiny_model(folder, layers=1, hidden=32, heads=2, vocab_size=300, corpus=corpus)


def _ingest_gold(store):
    store.append(
        "prompts",
        [{"prompt_id": prompt_id("gsm8k_toy", q), "dataset": "gsm8k_toy", "problem": q, "answer": str(a),
          "verifier": "math", "domain": "math"} for q, a in PROBLEMS],
    )  # fmt: skip


def test_problem_index_finds_a_stored_problem_inside_a_rendered_prompt():
    index = ProblemIndex([q for q, _ in PROBLEMS] + ["2+2?"])
    rendered = QWEN_CHAT.format(q=PROBLEMS[2][0])
    assert index.find(rendered) == PROBLEMS[2][0]
    assert index.find("what is 2+2? quickly") == "2+2?"
    assert index.find(PROBLEMS[0][0]) == PROBLEMS[0][0]
    assert index.find("something else entirely, long enough to be indexed") is None


def test_import_everything_verify_curate_and_export(store, tmp_path, tiny):
    _ingest_gold(store)
    write_verl_dump(tmp_path / "verl")
    details = write_lighteval_details(tmp_path / "lighteval")
    write_openr1(tmp_path / "openr1.jsonl")
    completions = run_trl_grpo_with_completion_logs(tmp_path, tiny)
    assert sorted(p.name for p in completions.iterdir()) == [
        "completions_00001.parquet",
        "completions_00002.parquet",
    ]

    s = str(store.root)
    assert (
        main(
            [
                "import",
                "verl",
                str(tmp_path / "verl"),
                "--dataset",
                "gsm8k_toy",
                "--model",
                "q7",
                "--store",
                s,
            ]
        )
        == 0
    )
    assert main(["import", "trl", str(completions), "--dataset", "gsm8k_toy", "--store", s]) == 0
    assert (
        main(["import", "lighteval", str(details), "--dataset", "gsm8k_toy", "--model", "le", "--store", s])
        == 0
    )
    assert (
        main(["import", "hub", str(tmp_path / "openr1.jsonl"), "--dataset", "gsm8k_toy", "--store", s]) == 0
    )

    # every source's prompts matched the 4 stored problems: no new prompt was filed
    assert store.count("prompts") == 4
    by_backend = dict(store.sql("SELECT backend, count(*) AS n FROM rollouts GROUP BY 1").iter_rows())
    assert by_backend == {"verl": 8, "trl": 8, "lighteval": 6, "hub": 8}
    runs = store.sql(
        "SELECT kind, status, json_extract_string(summary, '$.records') AS n FROM runs ORDER BY 3"
    )
    assert runs["kind"].to_list() == ["import"] * 4 and set(runs["status"]) == {"finished"}
    # the same views as r1harness's own runs: per-step curves of the verl and TRL imports
    curve = store.sql(
        "SELECT s.step, s.n_rollouts FROM rollout_stats_by_step s JOIN runs USING (run_id) "
        "WHERE runs.name LIKE 'verl%' ORDER BY step"
    )
    assert curve.to_dicts() == [{"step": 1, "n_rollouts": 4}, {"step": 2, "n_rollouts": 4}]
    scores = dict(store.sql("SELECT verifier, count(*) FROM rewards GROUP BY 1").iter_rows())
    assert scores["verl.score"] == 8 and scores["verl.acc"] == 8 and scores["trl.accuracy"] == 8
    assert scores["lighteval.extractive_match"] == 6 and scores["hub.correctness_math_verify"] == 8
    assert scores["hub.correctness_llama"] == 4  # None labels are no verdict

    # idempotent: importing the same files again writes nothing
    n = (store.count("rollouts"), store.count("rewards"))
    assert (
        main(
            [
                "import",
                "verl",
                str(tmp_path / "verl"),
                "--dataset",
                "gsm8k_toy",
                "--model",
                "q7",
                "--store",
                s,
            ]
        )
        == 0
    )
    assert (store.count("rollouts"), store.count("rewards")) == n

    # r1harness re-grades the imports; the view shows where the sources' labels disagree with math-verify
    assert main(["verify", "--where", "r.stage = 'import'", "--verifier", "math", "--store", s,
                 "--opt", "math:workers=0"]) == 0  # fmt: skip
    disagree = store.sql(
        "SELECT imported_verifier, count(*) AS n FROM imported_vs_verified WHERE disagree "
        "GROUP BY 1 ORDER BY 1"
    ).to_dicts()
    assert {"imported_verifier": "hub.correctness_math_verify", "n": 1} in disagree
    assert {"imported_verifier": "verl.score", "n": 1} in disagree

    # a set curated from the imported rollouts, exported for SFT and as an RL prompt set
    from r1harness.curate.build import build_set
    from r1harness.curate.recipe import recipe_from_dict

    recipe = recipe_from_dict(
        {"name": "imported", "source": "SELECT rollout_id FROM rollouts WHERE stage = 'import'",
         "filters": {"correct": {"verifiers": ["math"], "min_score": 1.0}}, "per_prompt": 2,
         "quotas": {"reasoning": {"count": 100, "domains": ["math"]}}, "output": {"layout": "plain"},
         "decontamination": None}
    )  # fmt: skip
    built = build_set(store, recipe)
    assert 4 <= built.n_samples <= 8
    assert (
        main(
            ["export", "imported@v1", "--format", "jsonl", "--out", str(tmp_path / "sft.jsonl"), "--store", s]
        )
        == 0
    )
    assert len((tmp_path / "sft.jsonl").read_text().splitlines()) == built.n_samples
    assert (
        main(
            ["export", "imported@v1", "--format", "verl", "--out", str(tmp_path / "rl.parquet"), "--store", s]
        )
        == 0
    )
    rl = pl.read_parquet(tmp_path / "rl.parquet")
    assert rl.columns == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    in_set = store.sql("SELECT DISTINCT prompt_id FROM sft_samples WHERE set_name = 'imported'")["prompt_id"]
    assert rl.height == len(in_set) >= 3 and set(rl["reward_model"].struct.field("style")) == {"rule"}
    first = rl.row(0, named=True)
    assert first["prompt"][0]["role"] == "user" and first["extra_info"]["prompt_id"] in set(in_set)
    gold = {prompt_id("gsm8k_toy", q): str(a) for q, a in PROBLEMS}
    for row in rl.iter_rows(named=True):
        assert row["reward_model"]["ground_truth"] == gold[row["extra_info"]["prompt_id"]]
        assert row["prompt"][0]["content"] in {q for q, _ in PROBLEMS}


def test_export_trl_prompts_from_a_condition(store, tmp_path):
    _ingest_gold(store)
    out = tmp_path / "grpo.parquet"
    s = str(store.root)
    assert (
        main(["export", "--where", "p.answer::INT > 10", "--format", "trl", "--out", str(out), "--store", s])
        == 0
    )
    df = pl.read_parquet(out)
    assert df.columns == ["prompt", "answer", "dataset", "prompt_id"] and df.height == 3
    from datasets import Dataset

    assert Dataset.from_parquet(str(out))[0]["prompt"][0]["role"] == "user"  # what TRL loads


def test_bad_inputs_name_the_file_and_line(store, tmp_path, capsys):
    bad = tmp_path / "verl"
    bad.mkdir()
    (bad / "3.jsonl").write_text('{"input": "q", "output": "a", "score": 1}\n{"input": "q"\n')
    assert main(["import", "verl", str(bad), "--dataset", "x", "--store", str(store.root)]) == 1
    assert f"{bad / '3.jsonl'}:2: malformed JSON" in capsys.readouterr().err
    (bad / "3.jsonl").write_text('{"prompt": "q"}\n')
    assert main(["import", "verl", str(bad), "--dataset", "x", "--store", str(store.root)]) == 1
    assert "not a verl dump record" in capsys.readouterr().err
    assert store.count("rollouts") == 0
    assert (
        main(["import", "trl", str(tmp_path / "nothing"), "--dataset", "x", "--store", str(store.root)]) == 1
    )
    assert "no completions_*.parquet" in capsys.readouterr().err


def test_the_export_command_offers_exactly_the_library_formats():
    from r1harness.commands import export as command
    from r1harness.curate.export import EXPORT_FORMATS
    from r1harness.curate.rl_export import RL_FORMATS

    assert (command.EXPORT_FORMATS, command.RL_FORMATS) == (EXPORT_FORMATS, RL_FORMATS)
