"""Prompt selection of the pipeline's training stages: a reused store never trains on held-out problems."""

from __future__ import annotations

from r1harness.pipeline import config_from_dict
from r1harness.pipeline.context import Context
from r1harness.pipeline.prompts import ingest_prompts, task_rows
from r1harness.store import Store
from r1harness.train.data import load_prompts


def _ctx(store, tmp_path, heldout: int) -> Context:
    cfg = config_from_dict(
        {
            "name": "sel",
            "prompts": {
                "tasks": [{"task": "arithmetic", "train": 30, "heldout": heldout, "params": {"digits": 1}}]
            },
            "work_dir": str(tmp_path / "work"),
        }
    )
    return Context(store, cfg, "run-sel", tmp_path / "work", progress=False)


def test_a_store_reused_after_enlarging_the_heldout_split_trains_on_no_heldout_problem(tmp_path):
    store = Store.open(tmp_path / "store")
    ingest_prompts(_ctx(store, tmp_path, heldout=5))  # an earlier config: 5 held out
    ctx = _ctx(store, tmp_path, heldout=15)  # now 15: 10 of them were train problems of the earlier split
    ingest_prompts(ctx)
    train, heldout = task_rows(ctx.config.prompts.tasks[0])
    stale = store.sql("SELECT count(*) AS n FROM prompts WHERE dataset = 'arithmetic_train'")["n"][0]
    assert stale > len(train)  # the store does hold the earlier split's train prompts

    sel = ctx.train_selection()
    chosen = {r["problem"] for r in load_prompts(store, dataset=sel["dataset"], where=sel.get("where"))}
    held = {r["problem"] for r in heldout}
    assert chosen == {r["problem"] for r in train}  # exactly this config's train split
    assert not chosen & held
