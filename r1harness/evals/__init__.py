"""Evaluation with the R1 protocol: benchmark specs (`evals/*.yaml`), the runner (generate -> verify ->
aggregate -> `eval_results`), stateless metrics, CodeElo-style Codeforces rating, the lm-eval bridge and
the leaderboard. Modules import polars/numpy; nothing here imports torch.
"""
