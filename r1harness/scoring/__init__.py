"""Scoring: the one path from rollouts to `rewards` rows (r1h verify, evaluation, GRPO, importers).

Modules (each imported where used; `import r1harness.scoring` pulls in nothing heavy):
  scorer        Scorer: a verifier's batch function, options and stored identity (name, version); the one
                rule for a verifier that crashes (raise, or record `error` verdicts under its real identity)
  rows          the one reward-id rule (retries after timeouts/errors get attempt-numbered ids) and the
                one `rewards` row builder
  pending       Selection of rollouts; the one retry rule (what a verifier still has to score); stale
                verdicts for re-verification
  score         score_rollouts: pending rollouts -> references -> verdicts -> rewards, streamed in batches
  verify_store  verify_store: the `r1h verify` run (and --reverify)
Verifiers themselves live in r1harness.verify and never touch the store; the reference each receives is
built by r1harness.verify.reference.verifier_reference only.
"""
