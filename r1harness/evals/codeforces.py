"""Codeforces-style rating by the CodeElo method (Quan et al. 2025, "CodeElo").

For each contest: score the model like a participant from its attempts, find its rank among the
contest's real participants, then find the rating R whose *expected* rank equals it under the Elo model
Codeforces itself uses,

    expected_rank(R) = 1 + sum_i 1 / (1 + 10 ** ((R - r_i) / 400))     (r_i: the participants' ratings)

and solve expected_rank(R) = rank by bisection (it falls monotonically in R). The model's rating is the
mean over contests. Conventions (documented, since they move the number):
- attempts: the first `attempts` samples of a problem (by sample_index) are its submissions, in order; the
  problem is solved when any passes; the failed ones before the first pass are penalties.
- submission time is taken as 0 (the model's time is not comparable to a human's), as CodeElo does.
- scoring "icpc": rank by solved desc, then penalty asc (penalty = failed attempts x penalty_per_fail).
  scoring "points": score = sum over solved problems of max(0.3 x points, points - penalty_per_fail x fails).
- ties with participants count half (mid-rank), so a model level with everyone sits in the middle.
- ratings are clamped to [RATING_MIN, RATING_MAX].

Standings file format: a directory of JSON files, one per contest:

    {"contest_id": 1971, "name": "...", "scoring": "icpc", "penalty_per_fail": 10,
     "problems": [{"index": "A", "problem_id": "1971A", "points": 500}, ...],
     "participants": [{"handle": "tourist", "rating": 3800, "solved": 7, "penalty": 123}, ...]}
    ("points" contests give each participant "points" instead of solved/penalty.)

Percentiles come from a rating histogram {rating: users} (code_stdio/ in $R1H_DATA_DIR).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1harness.errors import ConfigError
from r1harness.evals.aggregate import MetricValue, _json
from r1harness.paths import data_dir

METHOD = "codeelo@1"
RATING_MIN, RATING_MAX = -1000.0, 5000.0
SCORINGS = ("icpc", "points")


@dataclass(frozen=True)
class Contest:
    contest_id: str
    name: str
    scoring: str
    penalty_per_fail: float
    problems: tuple[dict, ...]
    participants: tuple[dict, ...]
    origin: str = ""


@dataclass(frozen=True)
class ContestResult:
    contest_id: str
    solved: int
    score: float
    penalty: float
    rank: float
    rating: float


def expected_rank(rating: float, opponents: Sequence[float]) -> float:
    return 1.0 + sum(1.0 / (1.0 + 10 ** ((rating - r) / 400.0)) for r in opponents)


def rating_for_rank(rank: float, opponents: Sequence[float], *, tol: float = 1e-6) -> float:
    """The rating whose expected rank among `opponents` equals `rank` (bisection; clamped)."""
    lo, hi = RATING_MIN, RATING_MAX
    if expected_rank(hi, opponents) >= rank:
        return hi
    if expected_rank(lo, opponents) <= rank:
        return lo
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if expected_rank(mid, opponents) > rank:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def model_score(contest: Contest, attempts: dict[str, Sequence[bool]]) -> tuple[int, float, float]:
    """(solved, score, penalty) of the model; `attempts[problem_id]` = pass/fail per submission in order."""
    solved, points, penalty = 0, 0.0, 0.0
    for problem in contest.problems:
        tries = list(attempts.get(problem["problem_id"], ()))
        if True not in tries:
            continue
        fails = tries.index(True)
        solved += 1
        penalty += fails * contest.penalty_per_fail
        full = float(problem.get("points", 1))
        points += max(0.3 * full, full - contest.penalty_per_fail * fails)
    score = float(solved) if contest.scoring == "icpc" else points
    return solved, score, penalty


def model_rank(contest: Contest, score: float, penalty: float) -> float:
    better = ties = 0
    for p in contest.participants:
        if contest.scoring == "icpc":
            key, mine = (p["solved"], -p.get("penalty", 0)), (score, -penalty)
        else:
            key, mine = p["points"], score
        better += key > mine
        ties += key == mine
    return 1.0 + better + ties / 2.0


def contest_result(contest: Contest, attempts: dict[str, Sequence[bool]]) -> ContestResult:
    solved, score, penalty = model_score(contest, attempts)
    rank = model_rank(contest, score, penalty)
    rating = rating_for_rank(rank, [p["rating"] for p in contest.participants])
    return ContestResult(contest.contest_id, solved, score, penalty, rank, rating)


def percentile(rating: float, histogram: dict[Any, int]) -> float:
    """Percent of rated users below `rating` (users exactly at it count half)."""
    total = sum(histogram.values())
    if not total:
        raise ConfigError("rating histogram is empty")
    below = sum(c for r, c in histogram.items() if float(r) < rating)
    equal = sum(c for r, c in histogram.items() if float(r) == rating)
    return 100.0 * (below + equal / 2) / total


def load_histogram(path: str | Path) -> dict[int, int]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {int(k): int(v) for k, v in data.items()}


def load_contest(path: str | Path) -> Contest:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    for key in ("contest_id", "problems", "participants"):
        if key not in raw:
            raise ConfigError(f"{path}: standings need {key!r} (see r1harness/evals/codeforces.py)")
    scoring = raw.get("scoring", "icpc")
    if scoring not in SCORINGS:
        raise ConfigError(f"{path}: scoring must be one of {SCORINGS}, got {scoring!r}")
    need = ("rating", "solved") if scoring == "icpc" else ("rating", "points")
    for i, p in enumerate(raw["participants"]):
        missing = [k for k in need if k not in p]
        if missing:
            raise ConfigError(f"{path}: participants[{i}] lacks {missing}")
    for i, p in enumerate(raw["problems"]):
        if "problem_id" not in p:
            raise ConfigError(f"{path}: problems[{i}] lacks 'problem_id'")
    return Contest(
        str(raw["contest_id"]),
        raw.get("name", ""),
        scoring,
        float(raw.get("penalty_per_fail", 10 if scoring == "icpc" else 50)),
        tuple(raw["problems"]),
        tuple(raw["participants"]),
        str(path),
    )


def load_standings(directory: str | Path) -> list[Contest]:
    directory = Path(directory)
    files = sorted(directory.glob("*.json")) if directory.is_dir() else [directory]
    if not files or not files[0].exists():
        raise ConfigError(f"no standings JSON files at {directory}")
    return [load_contest(f) for f in files]


@dataclass(frozen=True)
class Rating:
    rating: float
    percentile: float | None
    contests: tuple[ContestResult, ...]
    method: str = METHOD

    def label(self) -> dict[str, Any]:
        return {"rating_method": self.method, "contests": [c.contest_id for c in self.contests]}


def rate(
    contests: Sequence[Contest], attempts: dict[str, Sequence[bool]], histogram: dict[int, int] | None = None
) -> Rating:
    """The model's rating: mean over `contests` of the per-contest CodeElo rating."""
    if not contests:
        raise ConfigError("rating needs at least one contest")
    results = tuple(contest_result(c, attempts) for c in contests)
    value = sum(r.rating for r in results) / len(results)
    pct = percentile(value, histogram) if histogram else None
    return Rating(value, pct, results)


def rating_results(samples, prompts, standings: str, spec) -> list:
    """Rating metrics for an eval run: attempts from the samples' verdicts, matched by problem_id."""
    attempts_n = int(spec.rating.get("attempts", spec.n))
    pid_to_problem = {
        row["prompt_id"]: _json(row["metadata"]).get("problem_id")
        for row in prompts.select("prompt_id", "metadata").to_dicts()
    }
    attempts: dict[str, list[bool]] = {}
    for row in samples.sort("prompt_id", "sample_index").to_dicts():
        problem = pid_to_problem.get(row["prompt_id"])
        if (
            problem is not None
            and row["sample_index"] < attempts_n
            and row["status"] not in ("timeout", "error")
        ):
            attempts.setdefault(str(problem), []).append(row["status"] == "correct")
    contests = [c for c in load_standings(standings) if any(p["problem_id"] in attempts for p in c.problems)]
    if not contests:
        raise ConfigError(f"none of the standings at {standings} cover the evaluated problems")
    hist_path = spec.rating.get("histogram")
    histogram = _histogram(hist_path)
    result = rate(contests, attempts, histogram)
    extra = {**result.label(), "attempts": attempts_n}
    out = [MetricValue("codeforces_rating", result.rating, n_problems=len(attempts), protocol_extra=extra)]
    if result.percentile is not None:
        out.append(
            MetricValue(
                "codeforces_percentile",
                result.percentile,
                n_problems=len(attempts),
                protocol_extra={**extra, "histogram": hist_path},
            )
        )
    return out


def _histogram(path: str | None) -> dict[int, int] | None:
    if not path:
        return None
    full = Path(path) if Path(path).is_absolute() else data_dir() / path
    return load_histogram(full) if full.exists() else None


__all__ = [
    "rate",
    "rating_for_rank",
    "expected_rank",
    "contest_result",
    "percentile",
    "load_standings",
    "load_contest",
    "load_histogram",
    "Rating",
    "Contest",
    "METHOD",
]
