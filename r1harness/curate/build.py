"""`build_set`: rejection sampling over the store into a versioned SFT set. See docs/architecture.md.

Passes over the store (texts are streamed, never all held at once):
  1. measure every candidate (verdict, label, readability measurements, text hashes); keep no texts;
  2. filters, exact dedup, prompt near-dup and prompt decontamination, per-prompt cap (prompts only);
  3. completion near-dup and decontamination over the capped survivors; quotas;
  4. write the selected samples as chat messages, then mark the set ready.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from r1harness.curate import select
from r1harness.curate.decontam import BenchmarkIndex, benchmark_problems
from r1harness.curate.dedup import near_duplicate_clusters, signatures
from r1harness.curate.filters import EXPENSIVE, in_scope, ordered, passes
from r1harness.curate.funnel import Funnel
from r1harness.curate.messages import with_messages
from r1harness.curate.ngrams import word_hashes
from r1harness.curate.recipe import Recipe
from r1harness.curate.sets import allocate_version, samples_query, set_status
from r1harness.curate.source import (
    READABILITY_CHECKS,
    candidates_sql,
    detach,
    stream,
    texts_sql,
    validate_source,
)
from r1harness.curate.textstats import measure_cheap, measure_expensive, on_subset
from r1harness.errors import R1HarnessError
from r1harness.store.ids import sample_id
from r1harness.store.runs import recorded_run

log = logging.getLogger(__name__)
WRITE_BATCH = 50_000


@dataclass(frozen=True)
class BuildResult:
    name: str
    version: int
    n_samples: int
    funnel: dict[str, Any]
    run_id: str
    resumed: bool

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"


def _bar(total: int | None, desc: str, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="rows", disable=not progress, leave=False)


def build_set(
    store, recipe: Recipe, *, name: str | None = None, version: int | None = None, progress: bool = False
) -> BuildResult:
    """Build `name@vN` (default name: the recipe's). All checks run before anything is written; a failure
    after that marks the set 'failed' (readers ignore it) and a rerun of the same recipe resumes it."""
    name = name or recipe.name
    validate_source(store, recipe)
    index = benchmark_index(store, recipe)  # fails early on a missing benchmark
    recipe_dict = recipe.to_dict()
    with recorded_run(store, "curate", name=name, config=recipe_dict) as run:
        version, resumed = allocate_version(store, name, recipe_dict, run.run_id, version)
        funnel = Funnel()
        try:
            selected = _select(store, recipe, index, funnel, progress)
            with funnel.timed("write_samples"):
                n = _write_samples(store, recipe, name, version, selected, progress)
        except BaseException:
            set_status(store, name, version, "failed", funnel=funnel.to_dict())
            raise
        set_status(store, name, version, "ready", funnel=funnel.to_dict(), n_samples=n)
        log.info("built %s@v%d: %d samples (run %s)", name, version, n, run.run_id)
        run.summary = {"set": f"{name}@v{version}", "n_samples": n}
    return BuildResult(name, version, n, funnel.to_dict(), run.run_id, resumed)


def benchmark_index(store, recipe: Recipe) -> BenchmarkIndex | None:
    dc = recipe.decontamination
    if dc is None or not dc.fields:
        return None
    return BenchmarkIndex.build(benchmark_problems(dc.benchmarks, store), dc.ngram)


def _select(
    store, recipe: Recipe, index: BenchmarkIndex | None, funnel: Funnel, progress: bool
) -> pl.DataFrame:
    with funnel.timed("measure"):
        df = measure_candidates(store, recipe, progress)
    funnel.record("source", df, df)
    with funnel.timed("filter_dedup_cap"):
        df = select.apply_filters(df, recipe, funnel)
        df = select.exact_dedup(df, recipe, funnel)
    with funnel.timed("prompts_near_dedup_decontam"):
        df = _prompt_stage(store, df, recipe, index, funnel)
    df = select.cap_per_prompt(df, recipe, funnel)
    with funnel.timed("completions_near_dedup_decontam"):
        df = _completion_stage(store, df, recipe, index, funnel, progress)
    return select.fill_quotas(df, recipe, funnel)


def measure_candidates(store, recipe: Recipe, progress: bool = False) -> pl.DataFrame:
    """Pass 1: one light row per candidate (measurements and hashes, no texts)."""
    query, params = candidates_sql(recipe)
    frames = []
    with _bar(None, "measure", progress) as bar:
        for batch in stream(store, query, params):
            frames.append(measure_batch(batch, recipe))
            bar.update(batch.height)
    if not frames:
        raise R1HarnessError(
            f"recipe {recipe.name}: the source query selected no rollouts with prompts; "
            "check `source` and that prompts were ingested"
        )
    return pl.concat(frames, how="vertical_relaxed")


STORED_TYPES = {
    "truncated": pl.Boolean,
    "mixed_language": pl.Float64,
    "long_paragraph": pl.Int64,
    "code_in_cot": pl.Int64,
    "repetition": pl.Float64,
}


def _stored(check: str) -> pl.Expr:
    raw = pl.col(f"store_{check}")
    if check == "truncated":
        return raw.str.to_lowercase() == "true"
    return raw.cast(pl.Float64).cast(STORED_TYPES[check])


def measure_batch(batch: pl.DataFrame, recipe: Recipe) -> pl.DataFrame:
    """Stored readability values where the store has them, vectorised measurements otherwise. Costly
    measurements (completion hash, mixed language, repetition) run only on rows that pass every cheap filter:
    the others are dropped before those stages, so their values are never read."""
    m = measure_cheap(batch, seed=recipe.seed)
    m = m.with_columns(
        pl.coalesce(_stored(c), pl.col(c)).alias(c) for c in ("truncated", "long_paragraph", "code_in_cot")
    )
    specs = ordered(recipe.filters)
    cheap = [s for s in specs if s.name not in EXPENSIVE]
    m = m.with_columns(_stored(name).alias(name) for name in EXPENSIVE)
    rep = next((s for s in specs if s.name == "repetition"), None)
    alive = pl.all_horizontal([passes(s) for s in cheap] or [pl.lit(True)])

    def expensive(sub: pl.DataFrame) -> pl.DataFrame:
        need_rep = rep is not None and sub.filter(in_scope(rep.scope) & pl.col("repetition").is_null()).height
        out = measure_expensive(
            sub.drop("mixed_language", "repetition"),
            rep.get("ngram") if rep else 10,
            seed=recipe.seed,
            repetition=bool(need_rep),
        )
        if not need_rep:
            out = out.with_columns(repetition=pl.lit(None, pl.Float64))
        return out.with_columns(
            mixed_language=pl.coalesce(sub["mixed_language"], out["mixed_language"]),
            repetition=pl.coalesce(sub["repetition"], out["repetition"]),
        )

    m = on_subset(
        m.with_columns(pl.col(n).alias(f"_stored_{n}") for n in EXPENSIVE),
        alive,
        expensive,
        {"completion_hash": None, "mixed_language": None, "repetition": None},
    )
    m = m.with_columns(pl.coalesce(n, f"_stored_{n}").alias(n) for n in EXPENSIVE)
    scratch = [f"_stored_{n}" for n in EXPENSIVE] + [f"store_{c}" for c in READABILITY_CHECKS]
    return detach(m.drop("problem", "completion", "_cot", "_rest", *scratch))


def _texts(store, ids: pl.DataFrame, columns: str, progress: bool = False, desc: str = "read"):
    keep = ids.select("rollout_id").to_arrow()
    with _bar(ids.height, desc, progress) as bar:
        for batch in stream(store, texts_sql(columns), tables={"keep": keep}):
            bar.update(batch.height)
            yield batch


def _prompt_texts(store, df: pl.DataFrame) -> pl.DataFrame:
    ids = pa.table({"prompt_id": df["prompt_id"].unique().sort().to_arrow()})
    frames = list(
        stream(
            store,
            "SELECT p.prompt_id, p.problem FROM prompts p SEMI JOIN keep USING (prompt_id)",
            tables={"keep": ids},
        )
    )
    return (
        pl.concat(frames) if frames else pl.DataFrame(schema={"prompt_id": pl.String, "problem": pl.String})
    )


def _prompt_stage(store, df, recipe: Recipe, index, funnel: Funnel) -> pl.DataFrame:
    near = recipe.dedup.near
    want_near = near is not None and "prompt" in near.fields
    want_dc = index is not None and "prompt" in recipe.decontamination.fields
    if not (want_near or want_dc) or not df.height:
        return df
    texts = _prompt_texts(store, df)
    if want_dc:  # before near-dup, while `texts` is in prompt_id order
        hits = texts.with_columns(benchmark=pl.Series(index.hits(texts["problem"]), dtype=pl.String))
    if want_near:
        order = (
            df.group_by("prompt_key")
            .agg(pl.col("rank_key").min())
            .sort("rank_key", "prompt_key")
            .join(texts.rename({"prompt_id": "prompt_key"}), on="prompt_key", how="left")
        )
        labels = near_duplicate_clusters(
            signatures(order["problem"], num_perm=near.num_perm, shingle=near.shingle),
            bands=near.bands,
            threshold=near.threshold,
        )
        rep = order.select("prompt_key", rep=pl.Series(order["prompt_key"].to_numpy()[labels]))
        merged = int((labels != np.arange(len(labels))).sum())
        df = df.join(rep, on="prompt_key", how="left").with_columns(prompt_key=pl.col("rep")).drop("rep")
        funnel.notes.setdefault("details", {})["dedup.near.prompt"] = {"prompts_merged": merged}
    if want_dc:
        df = _drop_contaminated(df, hits.select("prompt_id", "benchmark"), "prompt_id", "prompt", funnel)
    return df


def _drop_contaminated(df, hits: pl.DataFrame, key: str, field: str, funnel: Funnel) -> pl.DataFrame:
    flagged = df.join(hits.filter(pl.col("benchmark").is_not_null()), on=key, how="inner")
    kept = df.join(flagged.select("rollout_id"), on="rollout_id", how="anti")
    funnel.record(f"decontam.{field}", df, kept)
    report = funnel.notes.setdefault("decontamination", {"hits": [], "examples": []})
    per_bench = (
        flagged.with_columns(pl.col("benchmark").str.split(","))
        .explode("benchmark")
        .group_by("benchmark")
        .len()
        .sort("benchmark")
    )
    report["hits"] += [{"field": field, "benchmark": b, "rows": n} for b, n in per_bench.iter_rows()]
    report["examples"] += (
        flagged.sort(select.ORDER)
        .head(20)
        .select("rollout_id", "prompt_id", "benchmark", field=pl.lit(field))
        .to_dicts()
    )
    return kept


def _completion_stage(store, df, recipe: Recipe, index, funnel: Funnel, progress: bool) -> pl.DataFrame:
    near = recipe.dedup.near
    want_near = near is not None and "completion" in near.fields
    want_dc = index is not None and "completion" in recipe.decontamination.fields
    if not (want_near or want_dc) or not df.height:
        return df
    df = df.sort(select.ORDER).with_columns(_pos=pl.int_range(pl.len(), dtype=pl.Int64))
    sig = np.empty((df.height, near.num_perm), np.uint64) if want_near else None
    hit_frames = []
    pos = df.select("rollout_id", "_pos")
    for batch in _texts(store, df, "r.rollout_id, r.completion", progress, "completions"):
        batch = batch.join(pos, on="rollout_id", how="left")
        words = word_hashes(batch["completion"])  # shared by near-dup and decontamination
        if want_near:
            sig[batch["_pos"].to_numpy()] = signatures(words, num_perm=near.num_perm, shingle=near.shingle)
        if want_dc:
            hits = batch.select("rollout_id", benchmark=pl.Series(index.hits(words), dtype=pl.String))
            hit_frames.append(detach(hits.filter(pl.col("benchmark").is_not_null())))  # not the batch
    if want_near:
        labels = near_duplicate_clusters(sig, bands=near.bands, threshold=near.threshold)
        kept = df.filter(pl.Series(labels == np.arange(len(labels))))
        funnel.record("dedup.near.completion", df, kept, threshold=near.threshold)
        df = kept
    if want_dc:
        hits = (
            pl.concat(hit_frames)
            if hit_frames
            else pl.DataFrame(schema={"rollout_id": pl.String, "benchmark": pl.String})
        )
        df = _drop_contaminated(df, hits, "rollout_id", "completion", funnel)
    return df.drop("_pos")


SAMPLE_COLUMNS = """r.rollout_id, p.problem, r.completion, p.dataset, r.model, r.run_id AS rollout_run_id,
    CAST(json_extract(p.metadata, '$.messages') AS VARCHAR) AS history,
    (SELECT arg_max(a.edited_text, a.created_at) FROM annotations a
      WHERE a.target_kind = 'rollout' AND a.target_id = r.rollout_id) AS edited_text"""


def _write_samples(
    store, recipe: Recipe, name: str, version: int, selected: pl.DataFrame, progress: bool
) -> int:
    _check_stale(store, name, version, selected)
    light = selected.select("rollout_id", "prompt_id", "domain", "label", "rank_key")
    written = 0
    for batch in _texts(store, light, SAMPLE_COLUMNS, progress, "write"):
        rows = with_messages(batch.join(light, on="rollout_id", how="left"), recipe)
        rows = rows.select(
            sample_id=pl.col("rollout_id").map_elements(lambda r: sample_id(name, version, r), pl.String),
            set_name=pl.lit(name),
            set_version=pl.lit(version, pl.Int32),
            rollout_id="rollout_id",
            prompt_id="prompt_id",
            domain="domain",
            messages="messages",
            source="dataset",
            metadata=pl.struct(model="model", run_id="rollout_run_id").struct.json_encode(),
        )
        for start in range(0, rows.height, WRITE_BATCH):
            store.append("sft_samples", rows.slice(start, WRITE_BATCH))
        written += rows.height
    return written


def _check_stale(store, name: str, version: int, selected: pl.DataFrame) -> None:
    """A resumed build may only add to what an earlier attempt wrote: a sample it no longer selects
    (the store changed in between) would linger in the set, so refuse and ask for a fresh version."""
    q, params = samples_query(name, version, "s.rollout_id")
    q = q.replace("AND t.status = 'ready' ", "")
    earlier = store.sql(q, params)
    if earlier.height:
        stale = earlier.join(selected.select("rollout_id"), on="rollout_id", how="anti")
        if stale.height:
            raise R1HarnessError(
                f"set {name}@v{version}: an earlier unfinished build wrote {stale.height} sample(s) "
                "this build "
                "no longer selects (the store changed). Build a fresh version: `r1h curate ... --version "
                f"{version + 1}` (the unfinished v{version} stays invisible to readers)"
            )
