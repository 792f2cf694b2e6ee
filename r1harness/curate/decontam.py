"""N-gram decontamination against registered benchmarks.

A training text is contaminated when it shares any word n-gram (8 by default, as in open-r1 and the
GPT-3/Llama reports) with a benchmark problem; a benchmark problem shorter than n words is matched when a
training text's words equal it. Every hit is reported with the benchmark it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from r1harness.curate.ngrams import WordHashes, ngram_hashes, word_hashes
from r1harness.errors import ConfigError
from r1harness.paths import REPO_ROOT
from r1harness.yaml_files import read_yaml_mapping


@dataclass(frozen=True)
class BenchmarkIndex:
    """Hashes of every benchmark n-gram, with the benchmark each one came from."""

    ngram: int
    table: pl.DataFrame  # columns: gram (u64), benchmark (str); one row per (gram, benchmark)

    @property
    def benchmarks(self) -> list[str]:
        return sorted(self.table["benchmark"].unique().to_list())

    @classmethod
    def build(cls, problems: dict[str, list[str]], ngram: int = 8) -> BenchmarkIndex:
        frames = []
        for name, texts in sorted(problems.items()):
            docs, grams = ngram_hashes(word_hashes(pl.Series(texts, dtype=pl.String)), ngram)
            frames.append(
                pl.DataFrame(
                    {"gram": grams, "benchmark": [name] * len(grams)},
                    schema={"gram": pl.UInt64, "benchmark": pl.String},
                )
            )
        table = (
            pl.concat(frames).unique()
            if frames
            else pl.DataFrame(schema={"gram": pl.UInt64, "benchmark": pl.String})
        )
        return cls(ngram, table)

    def hits(self, texts: pl.Series | list[str] | WordHashes) -> list[str | None]:
        """Per text: the benchmarks it overlaps (comma-joined, sorted), or None when clean. Texts may be
        given as their WordHashes (shared with near-dup signatures)."""
        if isinstance(texts, WordHashes):
            wh = texts
        else:
            wh = word_hashes(texts if isinstance(texts, pl.Series) else pl.Series(texts, dtype=pl.String))
        out: list[str | None] = [None] * len(wh.lengths)
        if not len(out) or not self.table.height:
            return out
        docs, grams = ngram_hashes(wh, self.ngram)
        found = (
            pl.DataFrame({"doc": docs, "gram": grams})
            .join(self.table, on="gram", how="inner")
            .group_by("doc")
            .agg(pl.col("benchmark").unique().sort().str.join(","))
        )
        for doc, bench in found.iter_rows():
            out[doc] = bench
        return out


def registered_benchmarks() -> list[str]:
    """Dataset manifests of the benchmarks registered in evals/ (each spec names one); until evals/ has
    specs, every dataset manifest in datasets/ whose split is test."""
    names = []
    for spec in sorted((REPO_ROOT / "evals").glob("*.yaml")):
        raw = read_yaml_mapping(spec, "a benchmark spec")
        dataset = raw.get("dataset")
        dataset = dataset.get("name") or dataset.get("manifest") if isinstance(dataset, dict) else dataset
        if dataset:
            names.append(str(dataset))
    if names:
        return sorted(set(names))
    for manifest in sorted((REPO_ROOT / "datasets").glob("*.yaml")):
        raw = read_yaml_mapping(manifest, "a manifest")
        if raw.get("split") == "test":
            names.append(raw.get("name") or manifest.stem)
    return sorted(set(names))


def benchmark_problems(names: list[str] | tuple[str, ...] | str, store=None) -> dict[str, list[str]]:
    """Problem texts per benchmark. A name is a dataset manifest (`aime24`), or `store:<dataset>` for
    prompts already in the store (any dataset, e.g. a private test set)."""
    if names == "registered":
        names = registered_benchmarks()
    out: dict[str, list[str]] = {}
    for name in names:
        if name.startswith("store:"):
            dataset = name.split(":", 1)[1]
            if store is None:
                raise ConfigError(f"decontamination benchmark {name!r} needs a store")
            out[name] = store.sql("SELECT problem FROM prompts WHERE dataset = ?", [dataset])[
                "problem"
            ].to_list()
        else:
            out[name] = _manifest_problems(name)
        if not out[name]:
            raise ConfigError(f"decontamination benchmark {name!r} has no problems; ingest it or remove it")
    return out


def _manifest_problems(name: str) -> list[str]:
    from r1harness.ingest import load_manifest, read_prompts

    return [row["problem"] for row in read_prompts(load_manifest(name)) if row.get("problem")]


def contaminated_mask(hits: list[str | None]) -> np.ndarray:
    return np.array([h is not None for h in hits], dtype=bool)
