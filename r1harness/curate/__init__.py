"""Curation: rejection sampling and distillation sets over the store (docs/architecture.md).

    from r1harness.curate import load_recipe, build_set
    result = build_set(store, load_recipe("tiny"))        # -> BuildResult(name, version, n_samples, funnel)

Modules: recipe (YAML -> frozen dataclasses), textstats (vectorised readability measurements), filters
(registry), select (filters, exact dedup, caps, quotas), ngrams/dedup (MinHash + LSH), decontam (n-gram
overlap with registered benchmarks), messages (chat layout, cold start, general-data policy), sets
(versions, readers), build (the pipeline), export, audit (annotations).
General chat data comes in through r1harness/ingest/chat.py (`r1h ingest-chat`).
"""

from r1harness.curate.build import BuildResult, build_set
from r1harness.curate.recipe import Recipe, load_recipe, recipe_from_dict

__all__ = ["BuildResult", "Recipe", "build_set", "load_recipe", "recipe_from_dict"]
