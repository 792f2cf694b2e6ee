"""What each page reads: one function per page, each a few paginated SQL queries over the store.

Every list is paginated (LIMIT page size + 1, to know whether there is a next page) and filtered in SQL,
so a page never loads a table whole. Training curves reuse the reports' queries (`r1harness.report.queries`):
the page and the report show the same numbers.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from r1harness.curate.audit import check_condition
from r1harness.errors import ConfigError, StoreError
from r1harness.report.queries import query as report_query
from r1harness.ui.lookup import files_sql
from r1harness.verify.extract import split_think

PAGE_SIZE = 50
ACCURACY_VERIFIERS = ("math", "accuracy", "countdown", "code")
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


CURVE_TABLES = ("rollouts", "rewards", "train_metrics")


def shard_batches(store, table: str) -> list[str]:
    from r1harness.store import shards

    return [str(f) for f in shards.shard_files(store.root, table)] if hasattr(store, "root") else []


class Snapshot:
    """The store as one reader connection: every query of a page sees the same rows, and the views over
    the shards are built once per page instead of once per query (`Store.sql` builds them each time)."""

    def __init__(self, con, root=None, lookup=None):
        self._con = con
        self.root = root
        self.lookup = lookup  # r1harness.ui.lookup.Lookup: point lookups without scanning every shard

    def sql(self, query: str, params: list | None = None):
        import duckdb
        import polars as pl

        try:
            rel = self._con.sql(query, params=params) if params else self._con.sql(query)
            return pl.from_arrow(rel.to_arrow_table())
        except duckdb.Error as exc:
            raise StoreError(f"SQL failed: {exc}") from exc


@contextlib.contextmanager
def reading(store, lookup=None) -> Iterator[Snapshot]:
    if lookup is not None:
        lookup.refresh()  # only batch files that appeared since the last page
    with store.reader() as con:
        yield Snapshot(con, store.root, lookup)


@dataclass
class Page:
    rows: list[dict]
    page: int
    has_next: bool
    filters: dict = field(default_factory=dict)


def _paged(store, sql: str, params: list, page: int) -> Page:
    rows = store.sql(f"{sql} LIMIT {PAGE_SIZE + 1} OFFSET {max(page, 0) * PAGE_SIZE}", params).to_dicts()
    return Page(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)


def runs(store, *, kind: str | None = None, status: str | None = None, page: int = 0) -> Page:
    where, params = ["TRUE"], []
    for column, value in (("kind", kind), ("status", status)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    sql = (
        "SELECT run_id, kind, name, status, parent_run_id, started_at, "
        "round(date_diff('millisecond', started_at, coalesce(finished_at, now())) / 1000.0, 1) AS seconds, "
        "CAST(json_extract(summary, '$.cpu_seconds') AS DOUBLE) AS cpu_seconds "
        f"FROM runs WHERE {' AND '.join(where)} ORDER BY started_at DESC, run_id"
    )
    result = _paged(store, sql, params, page)
    result.filters = {"kind": kind or "", "status": status or ""}
    return result


def run_detail(store, run_id: str) -> dict:
    found = store.sql("SELECT * FROM runs WHERE run_id = ?", [run_id]).to_dicts()
    if not found:
        raise LookupError(f"no run {run_id!r} in the store")
    run = found[0]
    run["config_text"] = json.dumps(json.loads(run["config"]), indent=1) if run.get("config") else ""
    run["summary_text"] = json.dumps(json.loads(run["summary"]), indent=1) if run.get("summary") else ""
    children = store.sql(
        "SELECT run_id, kind, name, status FROM runs WHERE parent_run_id = ? ORDER BY started_at", [run_id]
    ).to_dicts()
    curves = run_curves(store, run_id, cache=run["status"] != "running")
    return {"run": run, "children": children, "curves": curves}


_CURVES: dict[tuple, dict] = {}  # (store, run, the tables' visible batches) -> curves


def run_curves(store, run_id: str, cache: bool = False) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """The report's training-curve queries, scoped to this run and its descendants. They aggregate whole
    tables, so for a run that is not writing (`cache`) the result is kept until a batch is appended or
    compacted; a running run's curves are computed on every refresh."""
    key = (getattr(store, "root", None), run_id, *(tuple(shard_batches(store, t)) for t in CURVE_TABLES))
    if cache and key in _CURVES:
        return _CURVES[key]
    curves = _compute_curves(store, run_id)
    if cache and key[0] is not None:
        if len(_CURVES) > 64:
            _CURVES.clear()
        _CURVES[key] = curves
    return curves


def _compute_curves(store, run_id: str) -> dict[str, dict[str, list[tuple[float, float]]]]:
    curves = store.sql(report_query("training_curves", run_id)).to_dicts()
    rewards = store.sql(report_query("reward_components", run_id)).to_dicts()
    reflection = store.sql(report_query("reflection_words", run_id)).to_dicts()

    def by(rows, name_of, y):
        out: dict[str, list] = {}
        for r in rows:
            out.setdefault(name_of(r), []).append((r["step"], r[y]))
        return out

    return {
        "accuracy": by(curves, lambda r: f"{r['run']} {r['stage']}", "accuracy"),
        "response length (tokens)": by(
            curves, lambda r: f"{r['run']} {r['stage']}", "mean_completion_tokens"
        ),
        "reward components": by(rewards, lambda r: r["component"], "value"),
        "reflection words (share)": by(reflection, lambda r: r["run"], "reflection_share"),
    }


ROLLOUT_FILTERS = ("run", "step", "dataset", "verdict", "min_reward", "max_reward", "max_tokens", "where")


def rollouts(store, filters: dict, page: int = 0) -> Page:
    """Rollouts matching the filters; `where` is the user's own SQL condition (read-only by construction)."""
    lookup = getattr(store, "lookup", None)
    if lookup is not None and not filters.get("where"):
        result = _rollouts_indexed(store, lookup, filters, page)
    else:
        result = _rollouts_scanned(store, filters, page)
    datasets = _datasets(store, {r["prompt_id"] for r in result.rows})
    for row in result.rows:
        row["dataset"] = datasets.get(row["prompt_id"])
    result.filters = {k: filters.get(k) or "" for k in ROLLOUT_FILTERS}
    return result


LIST_COLUMNS = (
    "r.rollout_id, r.prompt_id, r.run_id, r.stage, r.step, r.model, r.reward, r.completion_tokens, "
    "left(r.completion, 160) AS preview"
)


def _filters(filters: dict, dataset_ids=None) -> tuple[list[str], list]:
    """The explorer's filters as SQL over rollouts r (the same names in the store and the lookup)."""
    where, params = ["TRUE"], []
    for key, clause in (("run", "r.run_id = ?"), ("step", "r.step = ?")):
        if filters.get(key) not in (None, ""):
            where.append(clause)
            params.append(int(filters[key]) if key == "step" else filters[key])
    for key, clause in (("min_reward", "r.reward >= ?"), ("max_reward", "r.reward <= ?")):
        if filters.get(key) not in (None, ""):
            where.append(clause)
            params.append(float(filters[key]))
    if filters.get("max_tokens") not in (None, ""):
        where.append("r.completion_tokens <= ?")
        params.append(int(filters["max_tokens"]))
    if dataset_ids is not None:
        where.append("list_contains(?, r.prompt_id)")
        params.append(dataset_ids)
    return where, params


def _rollouts_indexed(store, lookup, filters: dict, page: int) -> Page:
    dataset_ids = None
    if filters.get("dataset"):
        found = store.sql("SELECT prompt_id FROM prompts WHERE dataset = ?", [filters["dataset"]])
        dataset_ids = found["prompt_id"].to_list()
    where, params = _filters(filters, dataset_ids)
    table = "idx_rollouts"
    if filters.get("verdict"):
        table = lookup.with_verdicts(ACCURACY_VERIFIERS)
        where.append("r.status = ?")
        params.append(filters["verdict"])
    found = lookup.query(
        f"SELECT rollout_id, file FROM {table} r WHERE {' AND '.join(where)} ORDER BY seq "
        f"LIMIT {PAGE_SIZE + 1} OFFSET {max(page, 0) * PAGE_SIZE}",
        params,
    )
    ids, files = found["rollout_id"].to_list(), found["file"].to_list()
    rows = _fetch_rollouts(store, lookup, ids[:PAGE_SIZE], files[:PAGE_SIZE])
    return Page(rows, page, len(ids) > PAGE_SIZE)


def _fetch_rollouts(store, lookup, ids: list[str], files: list[int]) -> list[dict]:
    """These rollouts' list columns, read from the files the lookup names, in the order of `ids`."""
    if not ids:
        return []
    paths = lookup.file_paths("rollouts", files)
    got = store.sql(
        f"SELECT {LIST_COLUMNS} FROM {files_sql(paths, 'rollouts')} r WHERE list_contains(?, r.rollout_id)",
        [ids],
    )
    by_id = {r["rollout_id"]: r for r in got.to_dicts()}
    return [by_id[i] for i in ids if i in by_id]


def _rollouts_scanned(store, filters: dict, page: int) -> Page:
    """The explorer over the store itself: what a user's own SQL condition needs (it may read any column)."""
    where, params = _filters(filters)
    if filters.get("dataset"):
        where.append("r.prompt_id IN (SELECT prompt_id FROM prompts WHERE dataset = ?)")
        params.append(filters["dataset"])
    if filters.get("verdict"):
        where.append(  # each rollout's latest verdict (a retry after a timeout supersedes it)
            f"r.rollout_id IN (SELECT rollout_id FROM rewards WHERE verifier IN {ACCURACY_VERIFIERS} "
            "GROUP BY rollout_id HAVING arg_max(status, created_at) = ?)"
        )
        params.append(filters["verdict"])
    if filters.get("where"):
        where.append(f"({check_condition(filters['where'])})")
    # In the order the rows were written (no sort: a page of a 4M-row table stops reading early)
    return _paged(store, f"SELECT {LIST_COLUMNS} FROM rollouts r WHERE {' AND '.join(where)}", params, page)


def _datasets(store, prompt_ids: set[str]) -> dict[str, str]:
    if not prompt_ids:
        return {}
    found = store.sql(
        "SELECT prompt_id, dataset FROM prompts WHERE list_contains(?, prompt_id)", [sorted(prompt_ids)]
    )
    return dict(zip(found["prompt_id"].to_list(), found["dataset"].to_list()))


def completion_sections(text: str) -> dict[str, str]:
    """The reasoning, the answer and what follows the reasoning (R1's summary), shown apart."""
    cot, rest = split_think(text or "")
    answer = _ANSWER.search(rest)
    return {
        "reasoning": cot,
        "answer": answer.group(1).strip() if answer else "",
        "after reasoning": _ANSWER.sub("", rest).strip(),
    }


def _source(store, table: str, column: str, value) -> str:
    """The table, or with a lookup only the shard files that hold `column = value`."""
    lookup = getattr(store, "lookup", None)
    return table if lookup is None else files_sql(lookup.files_of(table, column, value), table)


def rollout_detail(store, rollout_id: str) -> dict:
    found = store.sql(
        "SELECT r.*, p.problem, p.answer AS gold, p.dataset "
        f"FROM {_source(store, 'rollouts', 'rollout_id', rollout_id)} r LEFT JOIN prompts p "
        "USING (prompt_id) WHERE r.rollout_id = ?",
        [rollout_id],
    ).to_dicts()
    if not found:
        raise LookupError(f"no rollout {rollout_id!r} in the store")
    rollout = found[0]
    rewards = store.sql(
        "SELECT verifier, verifier_version, status, score, extracted, reason, details, run_id "
        f"FROM {_source(store, 'rewards', 'rollout_id', rollout_id)} w "
        "WHERE rollout_id = ? ORDER BY verifier, verifier_version",
        [rollout_id],
    ).to_dicts()
    samples = store.sql(
        "SELECT s.sample_id, s.set_name, s.set_version, t.status AS set_status FROM sft_samples s "
        "LEFT JOIN sets t ON t.name = s.set_name AND t.version = s.set_version WHERE s.rollout_id = ? "
        "ORDER BY s.set_name, s.set_version",
        [rollout_id],
    ).to_dicts()
    labels = store.sql(
        "SELECT label, reason, annotator, queue, created_at FROM annotations WHERE target_id = ? "
        "ORDER BY created_at",
        [rollout_id],
    ).to_dicts()
    return {
        "rollout": rollout,
        "sections": completion_sections(rollout["completion"]),
        "rewards": rewards,
        "samples": samples,
        "labels": labels,
    }


def prompt_detail(store, prompt_id: str, page: int = 0) -> dict:
    found = store.sql("SELECT * FROM prompts WHERE prompt_id = ?", [prompt_id]).to_dicts()
    if not found:
        raise LookupError(f"no prompt {prompt_id!r} in the store")
    listed = _paged(
        store,
        "SELECT rollout_id, run_id, stage, step, model, reward, left(completion, 160) AS preview "
        f"FROM {_source(store, 'rollouts', 'prompt_id', prompt_id)} r WHERE prompt_id = ? "
        "ORDER BY run_id, step NULLS FIRST, rollout_id",
        [prompt_id],
        page,
    )
    return {"prompt": found[0], "rollouts": listed}


def leaderboard(store, metric_prefixes: tuple[str, ...] = ("pass@1", "cons@")) -> list[dict]:
    """Model x benchmark rows of the store's one leaderboard, with CIs, protocol and the runs behind them."""
    board = store.sql("SELECT * FROM leaderboard ORDER BY benchmark, model, metric").to_dicts()
    return [r for r in board if r["metric"].startswith(metric_prefixes)]


def problem_samples(store, run_id: str, prompt_id: str) -> dict:
    """One evaluated problem: its samples, their extracted answers, and the vote classes they form."""
    rollouts_from = _source(store, "rollouts", "prompt_id", prompt_id)
    lookup = getattr(store, "lookup", None)
    rewards_from = "rewards"
    if lookup is not None:
        ids = lookup.query("SELECT rollout_id FROM idx_rollouts WHERE prompt_id = ?", [prompt_id])[
            "rollout_id"
        ]
        rewards_from = files_sql(lookup.files_of("rewards", "rollout_id", ids.to_list()), "rewards")
    rows = store.sql(
        "SELECT r.rollout_id, r.sample_index, left(r.completion, 200) AS preview, w.status, w.extracted "
        f"FROM {rollouts_from} r LEFT JOIN {rewards_from} w ON w.rollout_id = r.rollout_id AND w.verifier IN "
        f"{ACCURACY_VERIFIERS} WHERE r.run_id = ? AND r.prompt_id = ? ORDER BY r.sample_index",
        [run_id, prompt_id],
    ).to_dicts()
    if not rows:
        raise LookupError(f"run {run_id!r} has no samples of prompt {prompt_id!r}")
    votes: dict[str, dict] = {}
    for r in rows:
        key = r["extracted"] if r["extracted"] is not None else "(no answer: abstains)"
        cls = votes.setdefault(key, {"answer": key, "n": 0, "correct": r["status"] == "correct"})
        cls["n"] += 1
    prompt = store.sql("SELECT problem, answer FROM prompts WHERE prompt_id = ?", [prompt_id]).to_dicts()
    return {
        "samples": rows,
        "votes": sorted(votes.values(), key=lambda v: -v["n"]),
        "prompt": prompt[0] if prompt else {},
        "run_id": run_id,
        "prompt_id": prompt_id,
    }


def eval_problems(store, run_id: str, page: int = 0) -> Page:
    """Problems of one evaluation run with their pass rate, hardest first: the way to a problem's samples."""
    lookup = getattr(store, "lookup", None)
    if lookup is not None:
        # per problem over the whole run, kept until a batch lands (a run's problems are few; its rows many)
        key = ("problems", run_id, lookup.version)
        if key not in lookup.cache:
            lookup.cache[key] = lookup.query(
                "SELECT r.prompt_id, count(*) AS n, avg(CASE w.status WHEN 'correct' THEN 1.0 ELSE 0.0 END) "
                "AS pass_rate FROM idx_rollouts r LEFT JOIN idx_rewards w ON w.rollout_id = r.rollout_id "
                f"AND w.verifier IN {ACCURACY_VERIFIERS} WHERE r.run_id = ? GROUP BY r.prompt_id "
                "ORDER BY pass_rate, r.prompt_id",
                [run_id],
            ).to_dicts()
        start = max(page, 0) * PAGE_SIZE
        found = lookup.cache[key][start : start + PAGE_SIZE + 1]
        about = store.sql(
            "SELECT prompt_id, dataset, left(problem, 120) AS problem FROM prompts "
            "WHERE list_contains(?, prompt_id)",
            [[r["prompt_id"] for r in found]],
        ).to_dicts()
        info = {a["prompt_id"]: a for a in about}
        rows = [{**info.get(r["prompt_id"], {}), **r} for r in found]
        return Page(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)
    return _paged(
        store,
        "SELECT r.prompt_id, any_value(p.dataset) AS dataset, left(any_value(p.problem), 120) AS problem, "
        "count(*) AS n, avg(CASE w.status WHEN 'correct' THEN 1.0 ELSE 0.0 END) AS pass_rate "
        "FROM rollouts r LEFT JOIN prompts p USING (prompt_id) LEFT JOIN rewards w "
        f"ON w.rollout_id = r.rollout_id AND w.verifier IN {ACCURACY_VERIFIERS} "
        "WHERE r.run_id = ? GROUP BY r.prompt_id ORDER BY pass_rate, r.prompt_id",
        [run_id],
        page,
    )


def int_or_none(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
