"""Evaluation throughput.

(a) Metrics straight from the store: pass@1, pass@k (k = 1, 4, 16, 64), cons@64 with math-verify
    equivalence classes and bootstrap CIs, for 500 problems x 64 samples. Target: under 2 s on 2 cores.
    Baseline in the same run: the same cons@64 with every problem clustered by math-verify (no exact
    majority shortcut), and the `eval_pass_at_k` SQL view.
(b) Generation tokens/s of the transformers backend on a tiny local model against a plain
    `model.generate` loop over the same prompts and batches (target: overhead under 10%).
    With a GPU and vLLM installed, (c) the vllm backend against raw `LLM.generate`.

    .venv/bin/python benchmarks/eval_throughput.py [--problems 500] [--samples 64] [--skip-generation]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path


def synthetic_store(root: Path, problems: int, samples: int, seed: int = 0):
    """Rollouts + math rewards shaped like a real eval: per-problem accuracy spread over [0, 1], wrong
    answers from a few distractors, some answers written in equivalent forms (so classes != strings)."""
    from r1harness.store import Store, ids

    rng = random.Random(seed)
    store = Store.open(root)
    prompts, rollouts, rewards, wanted = [], [], [], []
    symbolic = ["\\frac{\\sqrt{3}}{2}", "2\\sqrt{2}", "\\pi/4", "x^2+1", "(1,2)"]
    for p in range(problems):
        gold = rng.randint(1, 999)
        if p % 5 == 0:  # one problem in five has a symbolic answer: only math-verify can group those
            base = rng.choice(symbolic)
            forms = {
                "\\frac{\\sqrt{3}}{2}": ["\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}", "\\sqrt{3}/2"],
                "2\\sqrt{2}": ["2\\sqrt{2}", "\\sqrt{8}", "2 \\sqrt 2"],
                "\\pi/4": ["\\pi/4", "\\frac{\\pi}{4}", "0.25\\pi"],
                "x^2+1": ["x^2+1", "1+x^2", "x^{2} + 1"],
                "(1,2)": ["(1,2)", "(1, 2)", "\\left(1,2\\right)"],
            }
            gold_forms = forms[base]
        else:
            gold_forms = [str(gold), f"{gold}.0", f"\\frac{{{2 * gold}}}{{2}}"]
        pid = ids.prompt_id("synthetic", f"problem {p}")
        prompts.append(
            {
                "prompt_id": pid,
                "dataset": "synthetic",
                "problem": f"problem {p}",
                "answer": gold_forms[0],
                "source_index": p,
            }
        )
        accuracy = rng.random() ** 2
        distractors = [str(gold + d) for d in rng.sample(range(1, 50), 3)]
        if p % 5 == 0:  # symbolic problems get a symbolic wrong answer too
            distractors.append(f"\\sqrt{{{gold}}}")
        for i in range(samples):
            rid = ids.rollout_id(pid, "m", "r1-math@1", "{}", 0, i)
            wanted.append(rid)
            r = rng.random()
            if r < accuracy:
                answer, status = rng.choice(gold_forms), "correct"
            elif r < accuracy + 0.1:
                answer, status = None, "unparseable"
            else:
                answer, status = rng.choice(distractors), "wrong"
            rollouts.append(
                {
                    "rollout_id": rid,
                    "prompt_id": pid,
                    "model": "m",
                    "template": "r1-math@1",
                    "sampling": "{}",
                    "seed": 0,
                    "sample_index": i,
                    "stage": "eval",
                    "completion": f"\\boxed{{{answer}}}",
                    "completion_tokens": 100,
                    "finish_reason": "stop",
                }
            )
            rewards.append(
                {
                    "reward_id": ids.reward_id(rid, "math", "1"),
                    "rollout_id": rid,
                    "verifier": "math",
                    "verifier_version": "1",
                    "status": status,
                    "score": 1.0 if status == "correct" else 0.0,
                    "extracted": answer,
                }
            )
    store.append("prompts", prompts)
    store.append("rollouts", rollouts)
    store.append("rewards", rewards)
    return store, wanted


def bench_metrics(problems: int, samples: int) -> dict:
    from r1harness.evals import aggregate
    from r1harness.evals.aggregate import compute_results, load_samples
    from r1harness.verify.math import MathVerifier, cluster_answers

    with tempfile.TemporaryDirectory() as tmp:
        store, wanted = synthetic_store(Path(tmp) / "store", problems, samples)
        ks = [k for k in (1, 4, 16, 64) if k <= samples]
        out = {}
        verifier = MathVerifier()
        t0 = time.perf_counter()
        verifier.grade_answers(
            ["\\sqrt{2}"], ["x+1"]
        )  # starts the math-verify worker processes (sympy imports)
        out["math_verify_pool_start_s"] = time.perf_counter() - t0
        for label in ("pool_up_empty_cache", "warm_cache"):
            t0 = time.perf_counter()
            results = compute_results(
                load_samples(store, wanted, "math"), k_values=ks, cons_values=[samples], verifier=verifier
            )
            out[f"{label}_s"] = time.perf_counter() - t0
        out["values"] = {
            r.metric: round(r.value, 4) for r in results if r.metric.startswith(("pass", "cons"))
        }
        # baseline: cluster_answers on every problem's answers, one pool round trip per distinct answer
        fresh = MathVerifier()
        fresh.grade_answers(["\\sqrt{2}"], ["x+1"])
        saved = aggregate._vote
        aggregate._vote = lambda a, c, cl, norm: aggregate.metrics.majority_vote(
            cl([x if x not in (None, "") else None for x in a]), c
        )
        try:
            t0 = time.perf_counter()
            full = compute_results(
                load_samples(store, wanted, "math"),
                k_values=ks,
                cons_values=[samples],
                cluster=lambda a: cluster_answers(a, fresh),
            )
            out["baseline_cluster_every_problem_s"] = time.perf_counter() - t0
        finally:
            aggregate._vote = saved
        cons = f"cons@{samples}"
        out["baseline_cons"] = [round(r.value, 4) for r in full if r.metric == cons][0]
        t0 = time.perf_counter()
        store.sql("SELECT * FROM eval_pass_at_k")
        out["sql_view_pass_at_k_s"] = time.perf_counter() - t0
        verifier.close()
        fresh.close()
    out["cold_total_s"] = out["math_verify_pool_start_s"] + out["pool_up_empty_cache_s"]
    out["ratio_vs_baseline"] = round(
        out["pool_up_empty_cache_s"] / out["baseline_cluster_every_problem_s"], 3
    )
    out["ratio_vs_2s_target"] = round(out["pool_up_empty_cache_s"] / 2.0, 3)
    return out


def bench_generation(prompts: int, max_tokens: int, batch_size: int, device: str = "cpu") -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1harness.generate import GenerationRequest, SamplingParams, get_backend
    from r1harness.train.tiny_model import init_tiny_model

    if device == "cpu":
        torch.set_num_threads(min(2, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory() as tmp:
        path = str(init_tiny_model(Path(tmp) / "tiny", layers=4, hidden=256, heads=4))
        texts = [f"Question: what is {i} + {i * 7}?\nAnswer:" for i in range(prompts)]
        tok = AutoTokenizer.from_pretrained(path, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(path).to(device).eval()
        kwargs = dict(
            max_new_tokens=max_tokens,
            min_new_tokens=max_tokens,
            do_sample=False,
            pad_token_id=tok.pad_token_id,
        )

        def plain_loop():
            n_tokens = 0
            for start in range(0, len(texts), batch_size):
                enc = tok(texts[start : start + batch_size], return_tensors="pt", padding=True).to(device)
                with torch.inference_mode():
                    seqs = model.generate(**enc, **kwargs)
                new = seqs[:, enc["input_ids"].shape[1] :]
                tok.batch_decode(new, skip_special_tokens=True)
                n_tokens += new.numel()
            return n_tokens

        backend = get_backend(
            "transformers", path, batch_size=batch_size, model_obj=model, tokenizer=tok, device=device
        )
        sampling = SamplingParams(temperature=0, max_tokens=max_tokens)
        # same fixed-length work: min_new_tokens keeps both from stopping early on EOS
        model.generation_config.min_new_tokens = max_tokens

        def ours():
            out = backend.generate([GenerationRequest(t) for t in texts], sampling)
            return sum(c[0].completion_tokens for c in out)

        plain_loop(), ours()  # warm-up
        timings = {"plain": [], "backend": []}
        pair = (("plain", plain_loop), ("backend", ours))
        for rep in range(6):  # interleaved ABBA (no side always first), best of 6 per side
            for name, fn in pair if rep % 2 == 0 else pair[::-1]:
                t0 = time.perf_counter()
                n = fn()
                timings[name].append((time.perf_counter() - t0, n))
        best = {k: min(v) for k, v in timings.items()}
        plain_tps = best["plain"][1] / best["plain"][0]
        ours_tps = best["backend"][1] / best["backend"][0]
        return {
            "device": device,
            "prompts": prompts,
            "max_tokens": max_tokens,
            "batch_size": batch_size,
            "plain_tokens_per_s": round(plain_tps, 1),
            "backend_tokens_per_s": round(ours_tps, 1),
            "backend_over_plain": round(ours_tps / plain_tps, 3),
            "overhead_pct": round(100 * (best["backend"][0] / best["plain"][0] - 1), 1),
            "tokens": best["plain"][1],
        }


def bench_vllm(prompts: int, max_tokens: int) -> dict:
    """vllm backend vs raw LLM.generate on the same engine, prompts and sampling (GPU only)."""
    import vllm

    from r1harness.generate import GenerationRequest, SamplingParams, get_backend
    from r1harness.train.tiny_model import init_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        path = str(init_tiny_model(Path(tmp) / "tiny", layers=4, hidden=256, heads=4))
        llm = vllm.LLM(model=path, gpu_memory_utilization=0.3, enforce_eager=True, seed=0)
        texts = [f"Question: what is {i} + {i * 7}?\nAnswer:" for i in range(prompts)]
        raw_params = vllm.SamplingParams(temperature=0, max_tokens=max_tokens, min_tokens=max_tokens)
        backend = get_backend("vllm", path, llm=llm)
        sampling = SamplingParams(temperature=0, max_tokens=max_tokens)

        def raw():
            return sum(len(o.outputs[0].token_ids) for o in llm.generate(texts, raw_params, use_tqdm=False))

        def ours():  # min_tokens is not in SamplingParams; generation may stop early: tokens are counted
            return sum(
                c[0].completion_tokens
                for c in backend.generate([GenerationRequest(t) for t in texts], sampling)
            )

        raw(), ours()
        best = {}
        for name, fn in (("raw", raw), ("backend", ours)) * 3:
            t0 = time.perf_counter()
            n = fn()
            rate = n / (time.perf_counter() - t0)
            best[name] = max(best.get(name, 0.0), rate)
        return {
            "raw_tokens_per_s": round(best["raw"], 1),
            "backend_tokens_per_s": round(best["backend"], 1),
            "backend_over_raw": round(best["backend"] / best["raw"], 3),
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=500)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--skip-generation", action="store_true")
    ap.add_argument("--skip-metrics", action="store_true")
    ap.add_argument("--device", default="cpu", help="generation benchmark device (cpu, cuda)")
    ap.add_argument("--gen-prompts", type=int, default=32)
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--gen-batch", type=int, default=16)
    args = ap.parse_args()
    report = {"load_average": os.getloadavg(), "cpus": os.cpu_count()}
    if not args.skip_metrics:
        report["metrics"] = bench_metrics(args.problems, args.samples)
    if not args.skip_generation:
        report["generation"] = bench_generation(
            args.gen_prompts, args.gen_tokens, args.gen_batch, args.device
        )
        if args.device.startswith("cuda"):
            try:
                report["vllm"] = bench_vllm(args.gen_prompts, args.gen_tokens)
            except ImportError:
                report["vllm"] = "vllm not installed: skipped"
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
