"""Math answers: extract the final answer, compare it with the gold through math-verify, in deadline workers.

Policy choices (each one changes verdicts; bump MATH_VERIFIER_VERSION when changing any):
- Which answer: the LAST `\\boxed{}`/`\\fbox{}` outside `<think>`, else the `<answer>` tag, else the
  cold-start summary (see extract.py). Several boxed answers: the last one counts. A boxed list
  `\\boxed{2, 3}` is one answer (a set of solutions).
- Truncated outputs: a `<think>` that never closes has no final answer -> "unparseable" (reason says
  truncated). An output cut at the length limit AFTER its boxed answer is graded on that answer.
- Percent: `50\\%`, `50` and `0.5` are all accepted for a gold of `50\\%` (math-verify's rule; MATH problems
  ask "what percent" and accept the bare number).
- Intervals vs inequalities: `x \\le 1` matches `(-\\infty, 1]` both ways (`allow_set_relation_comp=True`):
  they denote the same set, and benchmarks write either.
- Tuples vs sets: ordered tuples/points must match in order; unordered answer lists (`1, 2` vs `2, 1` or
  `\\{1,2\\}`) match as sets; a set never matches a tuple in strict mode (`strict=True`, which also makes
  variable names matter: `y = 2x` is not `z = 2x`).
- Units and degrees: `5\\text{ cm}` matches `5`; `90^\\circ` matches `90` (math-verify strips units).
- `x = 2` vs `2`: an assignment matches its value both ways.
- Currency: a leading `\\$` is dropped (`\\$18.90` is 18.90). Plain `3e5` is read as 3 x 10^5.
- Thousands separators: `1,000`, `1{,}000`, `1\\,000` and `1 000` are 1000 when the whole answer is a
  grouped number (normalised here before math-verify, which misreads `1\\,000`).
- Numbers compare after rounding to 6 decimals (`float_rounding=6`): `0.333333` matches `\\frac13`, `3.14`
  does not match `\\pi`.
- A gold math-verify cannot parse (free text such as a name) is compared as a normalised string.
- No gold answer at all -> "error" (the data is broken, the model is not wrong).
- Infrastructure: a comparison that passes `timeout_s` kills its worker -> "timeout"; a worker crash ->
  "error". Never "wrong".
"""

from __future__ import annotations

import atexit
import collections
import functools
import os
import re
import threading
import zlib
from decimal import Decimal
from importlib import metadata

from r1harness.errors import ConfigError
from r1harness.verify.extract import SOURCES, extract
from r1harness.verify.verdict import Verdict

try:
    _MV_VERSION = metadata.version("math-verify")
except metadata.PackageNotFoundError:  # pragma: no cover - math-verify is a hard dependency
    _MV_VERSION = "missing"

MATH_VERIFIER_VERSION = f"1+mv{_MV_VERSION}"
WORKER_FN = "r1harness.verify.math_worker:compare"

_THOUSANDS = re.compile(r"^-?\d{1,3}(?:(?:,|\{,\}|\\,|\\ | )\d{3})+(?:\.\d+)?$")
_SEPARATOR = re.compile(r",|\{,\}|\\,|\\ | ")
_SPACING = re.compile(r"\\[!,;:]|\\left(?=[^a-zA-Z])|\\right(?=[^a-zA-Z])")
_SCIENTIFIC = re.compile(r"^(-?\d+(?:\.\d+)?)[eE]([+-]?\d+)$")
_CURRENCY = re.compile(r"^\\\$\s*|^\$(?=[\d.,]+$)")  # "\$18.90" or a bare "$18.90"
_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


def normalize_answer(answer: str) -> str:
    """A canonical spelling used as the cache key and passed to math-verify. Only rewrites that cannot change
    the meaning: outer `$…$`, `\\dfrac`/`\\tfrac`, `\\left`/`\\right`, LaTeX spacing, thousands separators,
    runs of whitespace, a trailing full stop, a leading currency sign and `3e5`-style scientific notation."""
    s = answer.strip()
    for left, right in _DELIMS:
        inner = s[len(left) : -len(right)]
        if s.startswith(left) and s.endswith(right) and inner.strip() and left not in inner:
            s = inner.strip()  # only one math span: "$1$ or $2$" keeps its dollars
            break
    s = _CURRENCY.sub("", s.rstrip(".").strip())
    sci = _SCIENTIFIC.match(s)
    if sci:
        s = f"{sci.group(1)} \\times 10^{{{sci.group(2)}}}"
    if _THOUSANDS.match(s):
        return _SEPARATOR.sub("", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _SPACING.sub(" ", s)
    return re.sub(r"\s+", " ", s).strip()


def _verdict(status: str, *, extracted: str | None, reason: str, details: dict | None = None) -> Verdict:
    score = {"correct": 1.0, "wrong": 0.0, "unparseable": 0.0}.get(status)
    return Verdict(status, score, "math", MATH_VERIFIER_VERSION, extracted, reason, details or {})


def default_workers() -> int:
    """One worker per usable core, at most 8: each costs ~60 MB and ~1 s of start-up, and past a few workers
    the cache, not the pool, does the work."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


class MathVerifier:
    """Batch math grading in worker processes that are killed past `timeout_s`, with a verdict cache keyed
    on (normalised answer, normalised gold). `workers=None` = one per core (at most 8); `workers=0` grades in
    this process without a deadline (debugging only). Thread-safe: concurrent calls are serialised."""

    def __init__(
        self,
        workers: int | None = None,
        timeout_s: float = 5.0,
        cache_size: int = 200_000,
        *,
        sources: tuple[str, ...] = SOURCES,
        allow_in_think: bool = False,
    ):
        self.workers = default_workers() if workers is None else workers
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0 (0 = in-process), got {workers}")
        self.timeout_s, self.cache_size = timeout_s, cache_size
        self.sources, self.allow_in_think = tuple(sources), allow_in_think
        self._cache: collections.OrderedDict[tuple[str, str], tuple[str, str]] = collections.OrderedDict()
        self._lock = threading.RLock()
        self._pool = None
        self.hits = self.misses = 0

    # -- public API ------------------------------------------------------------------------------
    def verify_batch(
        self,
        completions: list[str],
        golds: list[str | None],
        *,
        sources: tuple[str, ...] | None = None,
        allow_in_think: bool | None = None,
    ) -> list[Verdict]:
        """Grade each completion against its gold; one Verdict per completion, in order. `sources` and
        `allow_in_think` override the verifier's extraction settings for this call."""
        _same_length(completions, golds)
        sources = tuple(sources) if sources is not None else self.sources
        in_think = self.allow_in_think if allow_in_think is None else allow_in_think
        found = [extract(c or "", sources=sources, allow_in_think=in_think) for c in completions]
        answers = [e.answer for e in found]
        details = [{"source": e.source, "n_boxed": e.n_boxed} for e in found]
        reasons = [None if e.answer else _no_answer_reason(e) for e in found]
        return self._grade(answers, golds, details, reasons)

    def grade_answers(self, answers: list[str | None], golds: list[str | None]) -> list[Verdict]:
        """Grade already-extracted answers (no extraction step)."""
        _same_length(answers, golds)
        return self._grade(list(answers), golds, [{} for _ in answers], [None] * len(answers))

    def start(self) -> MathVerifier:
        """Start the worker processes now (they also start on first use) and wait until they are warm:
        call it before a timed or latency-sensitive loop, e.g. before GRPO's first step."""
        with self._lock:
            if self.workers and self._pool is None:
                from r1harness.verify.pool import DeadlinePool

                self._pool = DeadlinePool(WORKER_FN, workers=self.workers, timeout_s=self.timeout_s)
            if self._pool is not None:
                self._pool.start()
        return self

    def cache_info(self) -> dict:
        total = self.hits + self.misses
        return {
            "hits": self.hits,
            "misses": self.misses,
            "size": len(self._cache),
            "hit_rate": self.hits / total if total else 0.0,
            "workers_replaced": self._pool.replaced if self._pool else 0,
        }

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def __enter__(self) -> MathVerifier:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------------
    def _grade(self, answers, golds, details, reasons) -> list[Verdict]:
        norm = functools.lru_cache(maxsize=None)(normalize_answer)  # a batch repeats its golds and answers
        keys = [
            None if a is None or not (g or "").strip() else (norm(a), norm(g)) for a, g in zip(answers, golds)
        ]
        with self._lock:
            wanted = [k for k in keys if k is not None]
            results = self._lookup_or_compute(set(wanted))
            self.hits += len(wanted) - len(set(wanted))  # repeats within the batch were graded once
        out = []
        for answer, key, det, why in zip(answers, keys, details, reasons):
            if answer is None:
                out.append(_verdict("unparseable", extracted=None, reason=why or "no answer", details=det))
            elif key is None:
                out.append(
                    _verdict("error", extracted=answer, reason="no gold answer for this problem", details=det)
                )
            else:
                status, reason = results[key]
                out.append(_verdict(status, extracted=answer, reason=reason, details=det))
        return out

    def _lookup_or_compute(self, keys: set) -> dict:
        results, missing = {}, []
        for key in keys:
            if key in self._cache:
                self._cache.move_to_end(key)
                results[key] = self._cache[key]
                self.hits += 1
            elif (fast := plain_number_compare(*key)) is not None:
                results[key] = fast  # decided exactly without sympy; as cheap to redo as to cache
                self.hits += 1
            else:
                missing.append(key)
                self.misses += 1
        missing.sort(key=lambda k: (k[1], k[0]))  # same gold together: each worker parses a gold once
        for key, outcome in zip(missing, self._compare(missing)):
            results[key] = outcome
            if outcome[0] in ("correct", "wrong", "unparseable"):  # deterministic: safe to reuse
                self._remember(key, outcome)
        return results

    def _compare(self, pairs: list) -> list[tuple[str, str]]:
        if not pairs:
            return []
        if self.workers == 0:
            from r1harness.verify.math_worker import compare

            return [_safe_compare(compare, p) for p in pairs]
        if self._pool is None:
            self.start()
        lanes = [zlib.crc32(gold.encode("utf-8")) for _, gold in pairs]  # one gold, one worker: parsed once
        out = []
        for o in self._pool.map(pairs, lanes):
            if o.kind == "ok":
                out.append(tuple(o.value))
            elif o.kind == "timeout":
                out.append(("timeout", f"math-verify passed its {self.timeout_s}s deadline; worker replaced"))
            else:
                out.append(("error", f"verifier failure: {o.value}"))
        return out

    def _remember(self, key, outcome) -> None:
        self._cache[key] = outcome
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)


_PLAIN_NUMBER = re.compile(r"^-?\d{1,15}(?:\.\d{1,6})?$")
_ASSIGNED_NUMBER = re.compile(r"^[a-zA-Z]\s*=\s*(-?\d{1,15}(?:\.\d{1,6})?)$")


def plain_number_compare(pred: str, gold: str) -> tuple[str, str] | None:
    """Fast path for the commonest pair, two plain numbers (integers or up to 6 decimals; one side may be
    written `x = 5`): exact decimal equality, which is what math-verify concludes for them too (its 6-decimal
    rounding cannot change such values, and it reads a one-letter assignment as its value; tests check the
    agreement). Skips a worker round trip and two sympy parses. None: not such a pair."""
    if not _PLAIN_NUMBER.match(gold):
        gold, pred = pred, gold  # the assignment may be on either side, never on both
    if not _PLAIN_NUMBER.match(gold):
        return None
    assigned = _ASSIGNED_NUMBER.match(pred)
    pred = assigned.group(1) if assigned else pred
    if not _PLAIN_NUMBER.match(pred):
        return None
    same = Decimal(pred) == Decimal(gold)
    return ("correct", "equivalent to gold") if same else ("wrong", "not equivalent to gold")


def _no_answer_reason(found) -> str:
    if not found.think_closed:
        return "truncated: <think> never closed, so there is no final answer"
    return "no final answer outside the reasoning"


def _safe_compare(compare, pair) -> tuple[str, str]:
    try:
        return compare(pair)
    except Exception as exc:
        return "error", f"verifier failure: {type(exc).__name__}: {str(exc)[:200]}"


def _same_length(a: list, b: list) -> None:
    if len(a) != len(b):
        raise ValueError(f"got {len(a)} completions/answers but {len(b)} golds; pass one gold per completion")


# -- shared verifiers for the function API -----------------------------------------------------------
_SHARED: dict[tuple, MathVerifier] = {}
_SHARED_LOCK = threading.Lock()


def shared_verifier(workers: int | None = None, timeout_s: float = 5.0) -> MathVerifier:
    """A process-wide MathVerifier per (workers, timeout_s), closed at exit."""
    with _SHARED_LOCK:
        key = (workers, timeout_s)
        if key not in _SHARED:
            if not _SHARED:
                atexit.register(_close_shared)
            _SHARED[key] = MathVerifier(workers=workers, timeout_s=timeout_s)
        return _SHARED[key]


def _close_shared() -> None:
    for v in _SHARED.values():
        v.close()
    _SHARED.clear()


def verify_math(
    completion: str,
    gold: str,
    *,
    sources: tuple[str, ...] = SOURCES,
    allow_in_think: bool = False,
    timeout_s: float = 5.0,
    workers: int | None = None,
) -> Verdict:
    """Grade one completion (uses a shared worker pool, so its deadline works from any thread)."""
    verifier = shared_verifier(workers, timeout_s)
    found = extract(completion or "", sources=sources, allow_in_think=allow_in_think)
    details = {"source": found.source, "n_boxed": found.n_boxed}
    if found.answer is None:
        return _verdict("unparseable", extracted=None, reason=_no_answer_reason(found), details=details)
    verdict = verifier.grade_answers([found.answer], [gold])[0]
    return Verdict(
        verdict.status,
        verdict.score,
        verdict.verifier,
        verdict.version,
        verdict.extracted,
        verdict.reason,
        details,
    )


def verify_math_batch(completions: list[str], references: list[dict], **options) -> list[Verdict]:
    """Registry entry: `references` are prompts rows; the gold is their "answer". Options: workers,
    timeout_s, sources, allow_in_think."""
    unknown = sorted(set(options) - {"workers", "timeout_s", "sources", "allow_in_think"})
    if unknown:
        raise ConfigError(
            f"unknown math verifier options {unknown}; known: workers, timeout_s, sources, allow_in_think"
        )
    verifier = shared_verifier(options.get("workers"), options.get("timeout_s", 5.0))
    golds = [r.get("answer") for r in references]
    return verifier.verify_batch(
        completions, golds, sources=options.get("sources"), allow_in_think=options.get("allow_in_think")
    )


def answers_equivalent(a: str, b: str, *, verifier: MathVerifier | None = None) -> bool:
    """True when math-verify finds `b` equivalent to `a` (a is taken as the reference)."""
    return (verifier or shared_verifier()).grade_answers([b], [a])[0].status == "correct"


def cluster_answers(answers: list[str | None], verifier: MathVerifier | None = None) -> list[int | None]:
    """Equivalence-class label per answer (cons@k votes over classes, not strings). Class ids follow order of
    first appearance; None stays None. Each new distinct answer is compared with every class representative
    in one batch; the first class it matches wins."""
    verifier = verifier or shared_verifier()
    labels: list[int | None] = [None] * len(answers)
    by_key: dict[str, int] = {}
    reps: list[str] = []
    for i, answer in enumerate(answers):
        if answer is None:
            continue
        key = normalize_answer(answer)
        if key not in by_key:
            verdicts = verifier.grade_answers([answer] * len(reps), reps) if reps else []
            match = next((j for j, v in enumerate(verdicts) if v.status == "correct"), None)
            if match is None:
                reps.append(answer)
                match = len(reps) - 1
            by_key[key] = match
        labels[i] = by_key[key]
    return labels


verify_math_batch.version = MATH_VERIFIER_VERSION
verify_math_batch.stored_name = lambda options: "math"
