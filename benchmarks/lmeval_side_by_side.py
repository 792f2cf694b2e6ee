"""Side by side: r1harness eval vs lm-evaluation-harness on the same tiny local model, the same first N
GSM8K test problems, greedy decoding, the same prompt ("Question: ...\\nAnswer:"), the same stop strings
and token budget. Compares per problem: the generated text, the extracted answer, the verdict.

The tiny model is random, so it is first fitted for 150 small steps to GSM8K-train targets
"The answer is \\boxed{N}.\\n#### N" (format only: it learns to write a number both harnesses can extract,
and is right by chance on a few problems). Both harnesses run with batch size 1 (no padding effects).

    .venv/bin/python benchmarks/lmeval_side_by_side.py [--problems 100] [--train-steps 300] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TASK = """task: gsm8k_r1h_side_by_side
dataset_path: json
dataset_kwargs: {{data_files: {{test: "{data}"}}}}
output_type: generate_until
test_split: test
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: false
    regexes_to_ignore: [",", "\\\\$", "(?s).*#### ", "\\\\.$"]
generation_kwargs: {{until: ["Question:", "</s>", "<|im_end|>"], do_sample: false, temperature: 0.0,
                    max_gen_toks: {max_tokens}}}
num_fewshot: 0
filter_list:
  - name: strict-match
    filter: [{{function: regex, regex_pattern: "#### (\\\\-?[0-9\\\\.\\\\,]+)"}}, {{function: take_first}}]
  - name: flexible-extract
    filter: [{{function: regex, group_select: -1, regex_pattern: "(-?[$0-9.,]{{2,}})|(-?[0-9]+)"}},
             {{function: take_first}}]
metadata: {{version: 1.0}}
"""


def fit_format(model_dir: Path, steps: int, data: Path) -> None:
    """A few hundred steps of next-token training on
    "Question: q\\nAnswer: The answer is \\boxed{a}.\\n#### a"."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    rows = [json.loads(line) for line in open(data)][:2000]
    texts = [
        f"Question: {r['question']}\nAnswer: The answer is \\boxed{{{r['answer']}}}.\n#### {r['answer']}"
        f"{tok.eos_token}"
        for r in rows
    ]
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    torch.manual_seed(0)
    # keep the END of long examples (the answer format is what is being learnt)
    tok.padding_side, tok.truncation_side = "right", "left"
    model.train()
    for step in range(steps):
        batch = [texts[(step * 8 + i) % len(texts)] for i in range(8)]
        enc = tok(batch, return_tensors="pt", padding=True, truncation=True, max_length=128)
        labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
        loss = model(**enc, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.save_pretrained(model_dir)
    print(f"fitted {steps} steps, last loss {loss.item():.3f}", file=sys.stderr)


def run_lmeval(model_dir: Path, work: Path, problems: int, max_tokens: int, data: Path) -> Path:
    tasks = work / "tasks"
    tasks.mkdir()
    (tasks / "gsm8k_side.yaml").write_text(TASK.format(data=data, max_tokens=max_tokens))
    env = {**os.environ, "HF_HOME": str(work / "hf"), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [
        str(Path(sys.executable).parent / "lm_eval"),
        "--model",
        "hf",
        "--model_args",
        f"pretrained={model_dir},dtype=float32",
        "--tasks",
        "gsm8k_r1h_side_by_side",
        "--include_path",
        str(tasks),
        "--limit",
        str(problems),
        "--log_samples",
        "--output_path",
        str(work / "lmeval"),
        "--batch_size",
        "1",
        "--device",
        "cpu",
    ]
    subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
    return work / "lmeval"


def run_r1harness(store, model_dir: Path, problems: int, max_tokens: int):
    from r1harness.evals.runner import run_eval
    from r1harness.evals.spec import spec_from_dict
    from r1harness.generate import get_backend

    spec = spec_from_dict(
        {
            "name": "gsm8k_side_by_side",
            "version": 1,
            "dataset": "gsm8k",
            "template": "qa@1",
            "verifier": "math",
            "n": 1,
            "k": [1],
            "sampling": {
                "temperature": 0,
                "max_tokens": max_tokens,
                "stop": ["Question:", "</s>", "<|im_end|>"],
            },
        }
    )
    backend = get_backend("transformers", str(model_dir), batch_size=1)
    return run_eval(store, backend, spec, limit=problems, progress=False)


def compare(store, model_dir: str) -> dict:
    """Join both harnesses' rollouts per prompt and compare text, extraction and verdict."""
    rows = store.sql("""
        WITH ours AS (
            SELECT r.prompt_id, r.completion, w.extracted, w.status FROM rollouts r
            JOIN rewards w USING (rollout_id) WHERE r.stage = 'eval' AND w.verifier = 'math'),
        theirs AS (
            SELECT r.prompt_id, r.completion,
                   max(CASE WHEN w.verifier LIKE '%strict-match' THEN w.score END) AS strict,
                   max(CASE WHEN w.verifier LIKE '%flexible-extract' THEN w.score END) AS flexible,
                   max(CASE WHEN w.verifier LIKE '%flexible-extract' THEN w.extracted END) AS flex_answer
            FROM rollouts r JOIN rewards w USING (rollout_id) WHERE r.stage = 'import' GROUP BY ALL)
        SELECT p.source_index, p.answer AS gold, o.completion AS ours, t.completion AS theirs,
               o.extracted, o.status, t.strict, t.flexible, t.flex_answer
        FROM ours o JOIN theirs t USING (prompt_id) JOIN prompts p USING (prompt_id)
        ORDER BY p.source_index""").to_dicts()
    n = len(rows)
    same_text = sum(r["ours"].strip() == r["theirs"].strip() for r in rows)
    ours_acc = sum(r["status"] == "correct" for r in rows) / n
    strict = sum(r["strict"] for r in rows) / n
    flexible = sum(r["flexible"] for r in rows) / n
    # Our extracted answer against lm-eval's: the same number after lm-eval's own cleanup?
    clean = lambda s: re.sub(r"[,$]|\.$", "", s or "")  # noqa: E731
    same_answer = sum(clean(r["extracted"]) == clean(r["flex_answer"]) for r in rows)
    verdict_agree = sum((r["status"] == "correct") == bool(r["strict"]) for r in rows)
    disagreements = [
        {
            k: r[k]
            for k in ("source_index", "gold", "extracted", "flex_answer", "status", "strict", "flexible")
        }
        | {"ours": r["ours"][:120], "theirs": r["theirs"][:120]}
        for r in rows
        if (r["status"] == "correct") != bool(r["strict"]) or r["ours"].strip() != r["theirs"].strip()
    ]
    return {
        "model": model_dir,
        "problems": n,
        "identical_completions": same_text,
        "r1harness_accuracy": ours_acc,
        "lmeval_exact_match_strict": strict,
        "lmeval_exact_match_flexible": flexible,
        "same_extracted_answer": same_answer,
        "verdict_agreement_vs_strict": verdict_agree,
        "disagreements": disagreements[:20],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=100)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--train-steps", type=int, default=150)
    ap.add_argument("--json", default=None, help="write the report here too")
    args = ap.parse_args()
    from r1harness.evals.lmeval import import_lmeval
    from r1harness.paths import data_dir
    from r1harness.store import Store
    from r1harness.train.tiny_model import init_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        test_file = data_dir() / "gsm8k" / "gsm8k_test.jsonl"
        model_dir = init_tiny_model(work / "tiny")
        t0 = time.perf_counter()
        if args.train_steps:
            fit_format(model_dir, args.train_steps, data_dir() / "train_prompts" / "gsm8k_train.jsonl")
        t1 = time.perf_counter()
        out = run_lmeval(model_dir, work, args.problems, args.max_tokens, test_file)
        t2 = time.perf_counter()
        store = Store.open(work / "store")
        run_r1harness(store, model_dir, args.problems, args.max_tokens)
        t3 = time.perf_counter()
        import_lmeval(store, out, dataset="gsm8k", model=str(model_dir))
        report = compare(store, str(model_dir))
        report["seconds"] = {
            "fit": round(t1 - t0, 1),
            "lm_eval": round(t2 - t1, 1),
            "r1harness": round(t3 - t2, 1),
        }
    text = json.dumps(report, indent=1, ensure_ascii=False)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
