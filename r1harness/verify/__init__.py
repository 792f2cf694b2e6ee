"""Verifiers: pure functions from (completion, reference) to a `Verdict`.

Modules (imported lazily; `import r1harness.verify` pulls in nothing heavy):
  verdict      the Verdict every verifier returns (infrastructure failures are never "wrong")
  extract      final answer: last \\boxed{} outside <think>, <answer>, cold-start summary; split_think
  math         MathVerifier (deadline worker pool + cache), verify_math, answers_equivalent, cluster_answers
  math_worker  the math-verify comparison run inside the workers (policy knobs, warm-up)
  pool         DeadlinePool: worker processes killed and replaced past a per-item deadline
  format       R1-Zero / cold-start / R1 layout checks
  language     language consistency (share of CoT words in the target language)
  readability  rejection-sampling filters: mixed language, long paragraph, code in CoT, truncation, repetition
  batch        registry adapters with the uniform batch signature
  registry     VERIFIERS name -> "module:attr", get_verifier, declared identity (stored name, version)
  reference    verifier_reference: the one shape of the reference every verifier receives
  grading      grade a JSONL file (`r1h grade`)
Nothing here touches the store: rollouts -> rewards rows (`r1h verify`, evaluation, GRPO) is
r1harness.scoring.
"""

from r1harness.verify.verdict import STATUSES, Verdict

__all__ = ["Verdict", "STATUSES"]
