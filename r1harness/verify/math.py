"""Math answers: extract the final answer, compare it with the gold through math-verify, in deadline workers.

Policy choices (each one changes verdicts; bump MATH_VERIFIER_BASE when changing any):
- Which answer: the extraction preset decides (extract.py `PRESETS`; the preset is part of the version
  stamped on every verdict, e.g. "2+mv0.9.0+r1"). `r1` (default): the LAST `\\boxed{}`/`\\fbox{}` outside
  `<think>`, else the `<answer>` tag, else the cold-start summary. `lenient` adds answer phrases, `#### N`
  and the last math span or number; `gsm8k-strict-match` / `gsm8k-flexible-extract` are lm-eval's filters.
- Several boxed answers: the last one counts, except when the gold has several values (`1, 2`,
  `\\{1, 2\\}`, a tuple `(45, 2)`) and the last box holds fewer: then the last m boxes (m = the gold's
  number of values) are joined, in order, into one list (inside parentheses when the gold is a tuple) and
  graded as such (`\\boxed{1}` … `\\boxed{2}` for `1, 2`;
  `\\boxed{k = 45}` … `\\boxed{n = 2}` for `(45, 2)`). Only the last m count, so boxing every candidate
  does not pay. A boxed list `\\boxed{2, 3}` is one answer (a set of solutions).
- Truncated outputs: a `<think>` that never closes has no final answer -> "unparseable" (reason says
  truncated). An output cut at the length limit AFTER its boxed answer is graded on that answer.
- Percent: `50\\%`, `50` and `0.5` are all accepted for a gold of `50\\%` (math-verify's rule; MATH problems
  ask "what percent" and accept the bare number).
- Intervals vs inequalities: `x \\le 1` matches `(-\\infty, 1]` both ways (`allow_set_relation_comp=True`):
  they denote the same set, and benchmarks write either.
- Tuples vs sets: ordered tuples/points must match in order; unordered answer lists (`1, 2` vs `2, 1` or
  `\\{1,2\\}`) match as sets; a set never matches a tuple or an interval (`strict=True`, which also makes
  variable names matter: `y = 2x` is not `z = 2x`; math-verify still accepts `\\{1,2\\}` for `(1,2)`, so the
  worker rejects that pair itself). A list of assignments (`k = 45, n = 2`) names its values and may match
  a tuple.
- Vectors and matrices compare entry by entry and by shape (a column is not a row, nor one of its entries).
- Units and degrees: `5\\text{ cm}` matches `5`; `90^\\circ` matches `90` (math-verify strips units); a
  number followed by plain words (`10 weeks`, `5 square units`) is that number, unless a word changes the
  value (`5 million`, `3 dozen`, `2 pi`: kept as written).
- `x = 2` vs `2`: an assignment matches its value both ways.
- Currency: a leading `\\$` is dropped (`\\$18.90` is 18.90). Scientific notation `3e5`,
  `2.31e-3` is read as the decimal it denotes (exponents up to 50; larger ones stay `a \\times 10^{b}`).
- Thousands separators: `1,000`, `1{,}000`, `1\\,000`, `1 000` and MATH's `10,\\!080` are 1000 / 10080 when
  the whole answer is a grouped number (normalised here before math-verify, which misreads `1\\,000`). A
  first group starting with 0 is not a grouped number: `0,111` stays a list or a decimal comma, never 111.
- Decimal commas: `1000,99` is 1000.99 only when compared with a decimal number (`1000.99`); otherwise a
  comma separates thousands (3-digit groups) or list items, so `1,22` against `122` or `1, 22` stays a list.
- Numbers compare after rounding to 6 decimals (`float_rounding=6`): `0.333333` matches `\\frac13`, `3.14`
  does not match `\\pi`.
- A gold that is a worked solution with a `\\boxed{}` (MATH's `solution` field, a reference output) is
  graded by its last box, or by its trailing run of boxes separated only by commas / "and" / "or" /
  spacing, read as one list.
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
from r1harness.verify.extract import (
    DEFAULT_PRESET,
    Extraction,
    extract,
    extract_with_preset,
    get_preset,
    last_box_run,
)
from r1harness.verify.verdict import Verdict

try:
    _MV_VERSION = metadata.version("math-verify")
except metadata.PackageNotFoundError:  # pragma: no cover - math-verify is a hard dependency
    _MV_VERSION = "missing"

MATH_VERIFIER_BASE = f"2+mv{_MV_VERSION}"  # bump the leading number on any change that can move a verdict


def math_verifier_version(
    preset: str = DEFAULT_PRESET, sources: tuple[str, ...] | None = None, allow_in_think: bool | None = None
) -> str:
    """The version stamped on verdicts: base + extraction preset (+ any override of the preset's sources or
    think rule), so verdicts graded under another policy are told apart (and re-graded) by version."""
    p = get_preset(preset)
    version = f"{MATH_VERIFIER_BASE}+{p.name}"
    if sources is not None and tuple(sources) != p.sources:
        version += "+sources=" + ",".join(sources)
    if allow_in_think is not None and allow_in_think != p.allow_in_think:
        version += "+in_think" if allow_in_think else "+not_in_think"
    return version


MATH_VERIFIER_VERSION = math_verifier_version()  # the default (r1) preset's version
WORKER_FN = "r1harness.verify.math_worker:compare"

_THOUSANDS = re.compile(r"^-?[1-9]\d{0,2}(?:(?:,|\{,\}|\\,|\\ | )\d{3})+(?:\.\d+)?$")
_SEPARATOR = re.compile(r",|\{,\}|\\,|\\ | ")
_SPACING = re.compile(r"\\[!,;:]|\\left(?=[^a-zA-Z])|\\right(?=[^a-zA-Z])")
_SCIENTIFIC = re.compile(r"^(-?\d+(?:\.\d+)?)[eE]([+-]?\d{1,9})$")  # a longer exponent stays text
_CURRENCY = re.compile(r"^\\\$\s*|^\$(?=[\d.,]+$)")  # "\$18.90" or a bare "$18.90"
_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_MAX_SCIENTIFIC_EXPONENT = 50  # written out as a decimal up to here; beyond, a power (no megabyte strings)
# A number followed by plain words is that number with a unit, unless a word scales it or is math.
_NUMBER_WORDS = re.compile(r"^(-?[\d.,]*\d)\s+([a-zA-Z]{2,}(?:\s+[a-zA-Z]+)*)$")
_NOT_UNITS = frozenset(
    "hundred hundreds thousand thousands million millions billion billions trillion dozen dozens percent "
    "and or to plus minus times over divided squared cubed pi sqrt sin cos tan log ln exp mod choose".split()
)
# Short words count as units only when known: `3 xy` is a product, `3 cm` a length.
_SHORT_UNITS = frozenset(
    "cm mm km kg mg ft yd mi hr hrs min mins sec secs ml oz lb lbs mph kph sq in units cents deg".split()
)


def normalize_answer(answer: str) -> str:
    """A canonical spelling used as the cache key and passed to math-verify. Only rewrites that cannot change
    the meaning: outer `$…$`, `\\dfrac`/`\\tfrac`, `\\left`/`\\right`, LaTeX spacing (`\\!` removed, so MATH's
    `10,\\!080` is a grouped number), thousands separators, runs of whitespace, a trailing full stop, a
    leading currency sign, `3e5`-style scientific notation and plain unit words after a number."""
    s = answer.strip()
    for left, right in _DELIMS:
        inner = s[len(left) : -len(right)]
        if s.startswith(left) and s.endswith(right) and inner.strip() and left not in inner:
            s = inner.strip()  # only one math span: "$1$ or $2$" keeps its dollars
            break
    s = _CURRENCY.sub("", s.rstrip(".").strip())
    s = re.sub(r"\\!\s*", "", s)  # `\\!` is a negative thin space (MATH writes `10,\\!080`)
    s = _scientific(s)
    s = _drop_unit_words(s)
    if _THOUSANDS.match(s):
        return _SEPARATOR.sub("", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _SPACING.sub(" ", s)
    return re.sub(r"\s+", " ", s).strip()


def _drop_unit_words(s: str) -> str:
    """`10 weeks` -> `10`: plain words after a number are its unit (math-verify drops `\\text{ weeks}`)."""
    match = _NUMBER_WORDS.match(s)
    if not match:
        return s
    words = match.group(2).lower().split()
    if _NOT_UNITS.intersection(words):
        return s
    if any(len(w) >= 4 for w in words) or all(w in _SHORT_UNITS for w in words):
        return match.group(1)
    return s


def _scientific(s: str) -> str:
    sci = _SCIENTIFIC.match(s)
    if not sci:
        return s
    mantissa, exponent = sci.group(1), int(sci.group(2))
    if abs(exponent) > _MAX_SCIENTIFIC_EXPONENT:
        return f"{mantissa} \\times 10^{{{exponent}}}"
    text = format(Decimal(mantissa).scaleb(exponent), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


_GROUPS = {"(": ")", "[": "]", "{": "}"}


def _outer(s: str) -> tuple[str, str] | None:
    """(kind, inside) when one bracket pair encloses the whole of `s`: kind is "tuple" for `( )`, "set" for
    `\\{ \\}` / `{ }`; None otherwise (`(1,2),(3,4)` is two tuples, not one)."""
    for left, right, kind in (
        ("\\left\\{", "\\right\\}", "set"),
        ("\\{", "\\}", "set"),
        ("(", ")", "tuple"),
        ("{", "}", "set"),
    ):
        if s.startswith(left) and s.endswith(right):
            inside = s[len(left) : -len(right)]
            if _top_level_commas(inside) is not None:
                return kind, inside
    return None


def _top_level_commas(s: str) -> int | None:
    """Commas/semicolons outside any bracket; None when the brackets do not balance."""
    depth, commas = 0, 0
    for ch in s.replace("\\{", "{").replace("\\}", "}"):
        if ch in _GROUPS:
            depth += 1
        elif ch in _GROUPS.values():
            depth -= 1
            if depth < 0:
                return None
        elif ch in ",;" and depth == 0:
            commas += 1
    return commas if depth == 0 else None


def answer_shape(answer: str) -> tuple[int, int]:
    """(items, tuple_length) of an answer: `1, 2` and `\\{1, 2\\}` -> (2, 0); two points `(1,2),(3,4)` ->
    (2, 0); one tuple `(45, 2)` -> (1, 2); an interval-looking `[1, 2]` -> (1, 0); `7` -> (1, 0)."""
    s = normalize_answer(answer)
    outer = _outer(s)
    if outer and outer[0] == "tuple":
        commas = _top_level_commas(outer[1])
        return 1, (commas + 1 if commas else 0)
    commas = _top_level_commas(outer[1] if outer else s)
    return (1 if commas is None else commas + 1), 0


def gold_answer(gold: str | None) -> str | None:
    """The answer in a gold: a gold that is a worked solution with a box (MATH's `solution` field, a
    reference output) is reduced to its boxed answer: the last box, or the trailing run of boxes written as
    one list (`\\boxed{1}, \\boxed{2}` is `1, 2`); others are kept."""
    if gold is None or "\\boxed" not in gold and "\\fbox" not in gold:
        return gold
    run = [b for b in last_box_run(gold) if b]
    return ", ".join(run) if run else gold


def several_boxes(found: Extraction, gold: str | None) -> tuple[str | None, int]:
    """The several-boxes policy (module docstring): the answer to grade and how many boxes it joins."""
    answer = found.answer
    if found.source != "boxed" or len(found.boxes) < 2 or not (gold or "").strip():
        return answer, 1
    items, tuple_len = answer_shape(gold)
    last_items, last_tuple = answer_shape(found.boxes[-1])
    if items >= 2 and last_items < items:  # a list gold, one value per box
        m, wrap = items, False
    elif items == 1 and tuple_len >= 2 and last_tuple < tuple_len and last_items < tuple_len:
        m, wrap = tuple_len, True  # a tuple gold, one component per box, in order
    else:
        return answer, 1
    if len(found.boxes) < m:
        return answer, 1
    joined = ", ".join(found.boxes[-m:])
    return (f"({joined})" if wrap else joined), m


def _verdict(
    status: str, *, extracted: str | None, reason: str, details: dict | None = None, version: str = ""
) -> Verdict:
    score = {"correct": 1.0, "wrong": 0.0, "unparseable": 0.0}.get(status)
    return Verdict(status, score, "math", version or MATH_VERIFIER_VERSION, extracted, reason, details or {})


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
    this process without a deadline (debugging only). `extract` names the extraction preset (extract.py
    PRESETS); `sources`/`allow_in_think` override its parts. `version` is the plain string stamped on this
    verifier's verdicts (preset included). Thread-safe: concurrent calls are serialised."""

    def __init__(
        self,
        workers: int | None = None,
        timeout_s: float = 5.0,
        cache_size: int = 200_000,
        *,
        extract: str = DEFAULT_PRESET,
        sources: tuple[str, ...] | None = None,
        allow_in_think: bool | None = None,
    ):
        self.workers = default_workers() if workers is None else workers
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0 (0 = in-process), got {workers}")
        self.timeout_s, self.cache_size = timeout_s, cache_size
        self.extract = get_preset(extract).name
        self.sources = None if sources is None else tuple(sources)
        self.allow_in_think = allow_in_think
        self.version = math_verifier_version(self.extract, self.sources, self.allow_in_think)
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
        extract: str | None = None,
        sources: tuple[str, ...] | None = None,
        allow_in_think: bool | None = None,
    ) -> list[Verdict]:
        """Grade each completion against its gold; one Verdict per completion, in order. `extract`,
        `sources` and `allow_in_think` override the verifier's extraction settings for this call (and the
        version stamped on its verdicts)."""
        _same_length(completions, golds)
        golds = [gold_answer(g) for g in golds]
        preset = get_preset(extract or self.extract)
        sources = tuple(sources) if sources is not None else self.sources
        in_think = self.allow_in_think if allow_in_think is None else allow_in_think
        version = math_verifier_version(preset.name, sources, in_think)
        if sources is None and in_think is None:
            found = [extract_with_preset(c or "", preset) for c in completions]
        else:
            found = [
                _extract(
                    c or "",
                    sources or preset.sources,
                    preset.allow_in_think if in_think is None else in_think,
                )
                for c in completions
            ]
        answers, details = [], []
        for e, gold in zip(found, golds):
            answer, joined = several_boxes(e, gold)
            answers.append(answer)
            details.append(
                {"source": e.source, "n_boxed": e.n_boxed, **({"joined_boxes": joined} if joined > 1 else {})}
            )
        reasons = [None if e.answer else _no_answer_reason(e, preset.name) for e in found]
        return self._grade(answers, golds, details, reasons, version)

    def grade_answers(self, answers: list[str | None], golds: list[str | None]) -> list[Verdict]:
        """Grade already-extracted answers (no extraction step)."""
        _same_length(answers, golds)
        golds = [gold_answer(g) for g in golds]
        return self._grade(list(answers), golds, [{} for _ in answers], [None] * len(answers), self.version)

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
    def _grade(self, answers, golds, details, reasons, version: str) -> list[Verdict]:
        norm = functools.lru_cache(maxsize=None)(normalize_answer)  # a batch repeats its golds and answers
        keys = [
            None if a is None or not (g or "").strip() else decimal_comma(norm(a), norm(g))
            for a, g in zip(answers, golds)
        ]
        with self._lock:
            wanted = [k for k in keys if k is not None]
            results = self._lookup_or_compute(set(wanted))
            self.hits += len(wanted) - len(set(wanted))  # repeats within the batch were graded once
        out = []
        for answer, key, det, why in zip(answers, keys, details, reasons):
            if answer is None:
                why = why or "no answer"
                out.append(_verdict("unparseable", extracted=None, reason=why, details=det, version=version))
            elif key is None:
                why = "no gold answer for this problem"
                out.append(_verdict("error", extracted=answer, reason=why, details=det, version=version))
            else:
                status, reason = results[key]
                out.append(_verdict(status, extracted=answer, reason=reason, details=det, version=version))
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


_DECIMAL_POINT = re.compile(r"^-?\d*\.\d+$")
_DECIMAL_COMMA = re.compile(r"^-?\d*,\d+$")


def decimal_comma(pred: str, gold: str) -> tuple[str, str]:
    """A decimal comma (`1000,99`, `2,74`) is read as a decimal point only when the other side is a decimal
    number: against `1000.99` it can only mean 1000.99, while on its own `1,22` may be the list 1, 22 (and
    `0,111` never becomes 111: thousands groups are resolved before this)."""
    if _DECIMAL_POINT.match(gold) and _DECIMAL_COMMA.match(pred):
        return pred.replace(",", "."), gold
    if _DECIMAL_POINT.match(pred) and _DECIMAL_COMMA.match(gold):
        return pred, gold.replace(",", ".")
    return pred, gold


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


def _extract(text: str, sources: tuple[str, ...], allow_in_think: bool) -> Extraction:
    return extract(text, sources=sources, allow_in_think=allow_in_think)


def _no_answer_reason(found, preset: str = DEFAULT_PRESET) -> str:
    if not found.think_closed:
        return "truncated: <think> never closed, so there is no final answer"
    if preset.startswith("gsm8k-"):
        return f"no match for lm-eval's {preset} pattern"
    return "no final answer outside the reasoning" + (
        "" if preset == DEFAULT_PRESET else f" ({preset} extraction)"
    )


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
    extract: str = DEFAULT_PRESET,
    sources: tuple[str, ...] | None = None,
    allow_in_think: bool | None = None,
    timeout_s: float = 5.0,
    workers: int | None = None,
) -> Verdict:
    """Grade one completion (uses a shared worker pool, so its deadline works from any thread)."""
    verifier = shared_verifier(workers, timeout_s)
    return verifier.verify_batch(
        [completion], [gold], extract=extract, sources=sources, allow_in_think=allow_in_think
    )[0]


_BATCH_OPTIONS = ("workers", "timeout_s", "extract", "sources", "allow_in_think")


def verify_math_batch(completions: list[str], references: list[dict], **options) -> list[Verdict]:
    """Registry entry: `references` are prompts rows; the gold is their "answer". Options: workers,
    timeout_s, extract (preset name), sources, allow_in_think."""
    unknown = sorted(set(options) - set(_BATCH_OPTIONS))
    if unknown:
        raise ConfigError(f"unknown math verifier options {unknown}; known: {', '.join(_BATCH_OPTIONS)}")
    try:
        get_preset(options.get("extract") or DEFAULT_PRESET)
    except ValueError as exc:
        raise ConfigError(f"math verifier option extract: {exc}") from None
    verifier = shared_verifier(options.get("workers"), options.get("timeout_s", 5.0))
    golds = [r.get("answer") for r in references]
    return verifier.verify_batch(
        completions,
        golds,
        extract=options.get("extract"),
        sources=options.get("sources"),
        allow_in_think=options.get("allow_in_think"),
    )


def version_for(options: dict | None) -> str:
    """The version verify_math_batch stamps for these options (the preset is part of it)."""
    options = options or {}
    sources = options.get("sources")
    return math_verifier_version(
        options.get("extract") or DEFAULT_PRESET,
        None if sources is None else tuple(sources),
        options.get("allow_in_think"),
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


verify_math_batch.version = MATH_VERIFIER_VERSION  # with the default options; version_for(options) in general
verify_math_batch.version_for = version_for
verify_math_batch.stored_name = lambda options: "math"
