"""Grade a JSONL file of model outputs (a user's own or another harness's): the API behind `r1h grade`.

Every line is checked before anything is graded, so bad input fails fast with the file, line and field,
and the output file is written to a temporary name and renamed: it is never left half-written.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from r1harness.errors import R1HarnessError
from r1harness.verify.verdict import STATUSES, Verdict

KINDS = {
    "math": "math",
    "format": "format",
    "language": "language",
    "readability": "readability",
    "code": "code",
    "countdown": "countdown",
}
NEEDS_GOLD = {"math"}


class GradeInputError(R1HarnessError, ValueError):
    """A grade input file is malformed; the message names the file, line and field."""


@dataclass
class GradeSummary:
    kind: str
    rows: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def accuracy(self) -> float | None:
        """Correct / rows that got a score (timeouts and errors are not counted as wrong)."""
        scored = sum(self.counts.get(s, 0) for s in ("correct", "wrong", "unparseable"))
        return self.counts.get("correct", 0) / scored if scored else None

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "counts": {s: self.counts.get(s, 0) for s in STATUSES},
            "accuracy": self.accuracy,
            "infra_failures": self.counts.get("timeout", 0) + self.counts.get("error", 0),
            "seconds": round(self.seconds, 3),
            "verdicts_per_s": round(self.rows / self.seconds, 1) if self.seconds else None,
        }


def read_rows(path: str | Path, *, completion_field: str, gold_field: str | None) -> list[dict]:
    """Parse and validate a JSONL file ("-" = stdin). Raises GradeInputError naming file:line."""
    name = "<stdin>" if str(path) == "-" else str(path)
    if name != "<stdin>" and not Path(path).is_file():
        raise GradeInputError(f"{name}: no such file")
    handle = sys.stdin if name == "<stdin>" else open(path, encoding="utf-8")
    rows = []
    with handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            rows.append(_parse_line(name, lineno, line, completion_field, gold_field))
    if not rows:
        raise GradeInputError(f"{name}: no rows to grade (empty file)")
    return rows


def _parse_line(name: str, lineno: int, line: str, completion_field: str, gold_field: str | None) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise GradeInputError(f"{name}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(row, dict):
        raise GradeInputError(f"{name}:{lineno}: expected a JSON object per line, got {type(row).__name__}")
    for key in [completion_field] + ([gold_field] if gold_field else []):
        if key not in row:
            raise GradeInputError(
                f"{name}:{lineno}: no field {key!r} (fields: {sorted(row)}); "
                f"pick the right one with --{'completion' if key == completion_field else 'gold'}-field"
            )
    if not isinstance(row[completion_field], str):
        raise GradeInputError(
            f"{name}:{lineno}: field {completion_field!r} must be a string, "
            f"got {type(row[completion_field]).__name__}"
        )
    if gold_field and not isinstance(row[gold_field], (str, int, float)):
        raise GradeInputError(
            f"{name}:{lineno}: gold field {gold_field!r} must be a string or number, got {row[gold_field]!r}"
        )
    return row


def _reference(row: dict, gold_field: str | None) -> dict:
    ref = dict(row)
    if gold_field:
        ref["answer"] = str(row[gold_field])
    return ref


def grade_rows(
    rows: list[dict],
    kind: str,
    *,
    completion_field: str = "completion",
    gold_field: str | None = "gold",
    batch_size: int = 1024,
    options: dict | None = None,
    progress: bool = False,
) -> tuple[list[dict], GradeSummary]:
    """Grade rows through the registry verifier `kind`; returns the rows with status, score, extracted,
    reason, verifier, verifier_version and details added, and a summary."""
    from r1harness.verify.registry import get_verifier

    fn = get_verifier(KINDS.get(kind, kind))
    started = time.perf_counter()
    bar = _bar(len(rows), progress, kind)
    out: list[dict] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        verdicts = fn(
            [r[completion_field] for r in chunk],
            [_reference(r, gold_field) for r in chunk],
            **(options or {}),
        )
        out.extend(_with_verdict(r, v) for r, v in zip(chunk, verdicts, strict=True))
        if bar:
            bar.update(len(chunk))
    if bar:
        bar.close()
    counts = Counter(r["status"] for r in out)
    return out, GradeSummary(kind, len(out), dict(counts), time.perf_counter() - started)


def _with_verdict(row: dict, verdict: Verdict) -> dict:
    return {
        **row,
        "status": verdict.status,
        "score": verdict.score,
        "extracted": verdict.extracted,
        "reason": verdict.reason,
        "verifier": verdict.verifier,
        "verifier_version": verdict.version,
        "details": verdict.details,
    }


def write_rows(rows: list[dict], out: str | Path) -> None:
    """Write JSONL atomically (temp file + rename)."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def grade_file(
    path: str | Path,
    kind: str,
    *,
    out: str | Path | None = None,
    completion_field: str = "completion",
    gold_field: str | None = None,
    options: dict | None = None,
    progress: bool = False,
) -> tuple[list[dict], GradeSummary]:
    """Read, validate, grade and (with `out`) write a JSONL file. Math needs a gold field (default "gold")."""
    if kind not in KINDS:
        raise GradeInputError(f"unknown --kind {kind!r}; choose from {sorted(KINDS)}")
    if gold_field is None and kind in NEEDS_GOLD:
        gold_field = "gold"
    rows = read_rows(path, completion_field=completion_field, gold_field=gold_field)
    graded, summary = grade_rows(
        rows,
        kind,
        completion_field=completion_field,
        gold_field=gold_field,
        options=options,
        progress=progress,
    )
    if out is not None:
        write_rows(graded, out)
    return graded, summary


def _bar(total: int, enabled: bool, kind: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"grade {kind}", unit="row", file=sys.stderr)
