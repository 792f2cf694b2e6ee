"""RL prompt sets for training elsewhere, from a SQL condition over prompts or from a set's prompts.

- `verl`: verl's RL dataset Parquet layout (what its `RLHFDataset` and reward manager read): `data_source`
  (the dataset), `prompt` (chat messages), `ability`, `reward_model` {style: "rule", ground_truth},
  `extra_info` {split, index, prompt_id} (verl/examples/data_preprocess/gsm8k.py, volcengine/verl@b178a3cd).
- `trl`: a prompt dataset for TRL's GRPOTrainer: `prompt` (chat messages), `answer`, `dataset`, `prompt_id`
  (extra columns reach TRL's reward functions as keyword arguments).
Both keep the store's lineage id (`prompt_id`) in every row, so rollouts that come back (r1h import) join
to the prompts they were sampled from. Files are written under a temporary name and renamed.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from r1harness.curate.sets import resolve
from r1harness.errors import ConfigError

RL_FORMATS = ("verl", "trl")
_MESSAGES = "[{'role': 'user', 'content': p.problem}]"
_COLUMNS = {
    "verl": f"""p.dataset AS data_source, {_MESSAGES} AS prompt, coalesce(p.domain, 'math') AS ability,
        {{'style': 'rule', 'ground_truth': p.answer}} AS reward_model,
        {{'split': p.split, 'index': row_number() OVER (ORDER BY p.prompt_id) - 1, 'prompt_id': p.prompt_id}}
            AS extra_info""",
    "trl": f"{_MESSAGES} AS prompt, p.answer, p.dataset, p.prompt_id",
}


def rl_prompts_query(store, *, where: str | None = None, set_ref: str | None = None) -> tuple[str, list]:
    """SELECT over prompts p chosen by a condition, or the prompts of a ready set's samples."""
    if (where is None) == (set_ref is None):
        raise ConfigError("choose the prompts with either --where CONDITION or --set NAME@vN")
    if set_ref is not None:
        row = resolve(store, set_ref)
        return (
            "FROM prompts p WHERE p.prompt_id IN (SELECT prompt_id FROM sft_samples "
            "WHERE set_name = ? AND set_version = ?)",
            [row["name"], row["version"]],
        )
    if ";" in where:
        raise ConfigError("--where takes one SQL condition over prompts p (no ';')")
    return f"FROM prompts p WHERE ({where})", []


def export_rl_prompts(
    store, out: str | os.PathLike, *, fmt: str = "verl", where: str | None = None, set_ref: str | None = None
) -> tuple[Path, int]:
    """Write the chosen prompts as a Parquet file in `fmt`; returns (path, rows)."""
    if fmt not in RL_FORMATS:
        raise ConfigError(f"RL export format must be one of {RL_FORMATS}, not {fmt!r}")
    body, params = rl_prompts_query(store, where=where, set_ref=set_ref)
    query = f"SELECT {_COLUMNS[fmt]} {body} ORDER BY p.prompt_id"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with store.reader() as con:
            n = con.sql(f"SELECT count(*) {body}", params=params).fetchall()[0][0]
            if not n:
                raise ConfigError("no prompts match; nothing was written")
            target = str(tmp).replace("'", "''")
            con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)", params)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out, n
