"""Import general (non-reasoning) chat data with lineage: `r1h ingest-chat FILE --dataset NAME`.

Each record's `messages` (a list of {role, content} ending with an assistant turn) becomes a prompts row
(domain general; problem = the last user turn; the prior turns kept as `metadata.messages`) and a rollouts
row with stage "import" holding the final assistant turn, so general samples in a set point at a rollout
and a prompt like reasoning samples do. Ids are content hashes: importing the same file twice adds nothing.
Every record is checked before anything is written; an error names the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from r1harness.errors import IngestError
from r1harness.ingest.readers import read_records
from r1harness.store.ids import canonical_json, prompt_id, rollout_id
from r1harness.store.runs import recorded_run

ROLES = ("system", "user", "assistant", "tool")


@dataclass(frozen=True)
class ChatImportSummary:
    dataset: str
    records: int
    prompts_written: int
    rollouts_written: int
    run_id: str


def _check_messages(value: Any, where: str, field: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise IngestError(f"{where}: field {field!r} must be a non-empty list of {{role, content}} messages")
    out = []
    for i, msg in enumerate(value):
        if (
            not isinstance(msg, dict)
            or msg.get("role") not in ROLES
            or not isinstance(msg.get("content"), str)
        ):
            raise IngestError(
                f"{where}: {field}[{i}] must be {{role: one of {ROLES}, content: string}}, "
                f"got {str(msg)[:80]!r}"
            )
        out.append({"role": msg["role"], "content": msg["content"]})
    if out[-1]["role"] != "assistant":
        raise IngestError(
            f"{where}: the last message must be the assistant's answer (role assistant), "
            f"got {out[-1]['role']!r}; drop unanswered conversations first"
        )
    if not any(m["role"] == "user" for m in out[:-1]):
        raise IngestError(f"{where}: no user message before the final assistant answer")
    return out


def chat_rows(
    records: list[dict],
    locations: list[str],
    *,
    dataset: str,
    source: str,
    model: str,
    run_id: str,
    field: str = "messages",
) -> tuple[list[dict], list[dict]]:
    """(prompts rows, rollouts rows); raises IngestError naming the first bad record."""
    prompts, rollouts = {}, []
    for i, (rec, where) in enumerate(zip(records, locations)):
        messages = _check_messages(rec.get(field), where, field)
        prior, answer = messages[:-1], messages[-1]["content"]
        problem = next(m["content"] for m in reversed(prior) if m["role"] == "user")
        single = len(prior) == 1
        pid = prompt_id(dataset, problem if single else canonical_json(prior))
        extra = {k: v for k, v in rec.items() if k != field}
        prompts.setdefault(
            pid,
            {
                "prompt_id": pid,
                "dataset": dataset,
                "split": "train",
                "domain": "general",
                "problem": problem,
                "metadata": canonical_json({"messages": prior, **extra}),
                "source": source,
                "source_index": i,
                "run_id": run_id,
            },
        )
        rollouts.append(
            {
                "rollout_id": rollout_id(pid, model, "chat-import", {}, None, 0),
                "prompt_id": pid,
                "run_id": run_id,
                "model": model,
                "template": "chat-import",
                "sampling": "{}",
                "sample_index": 0,
                "stage": "import",
                "prompt_text": canonical_json(prior),
                "completion": answer,
                "finish_reason": "stop",
                "backend": "import",
            }
        )
    return list(prompts.values()), rollouts


def import_chat(
    store,
    source: str,
    *,
    dataset: str,
    model: str | None = None,
    field: str = "messages",
    split: str | None = None,
) -> ChatImportSummary:
    records, locations = read_records(source, split=split)
    model = model or f"import:{dataset}"
    config = {"source": source, "dataset": dataset, "model": model, "field": field}
    with recorded_run(store, "ingest-chat", name=dataset, config=config) as run:
        prompts, rollouts = chat_rows(
            records, locations, dataset=dataset, source=source, model=model, run_id=run.run_id, field=field
        )
        p = store.append("prompts", prompts)
        r = store.append("rollouts", rollouts)
        summary = ChatImportSummary(dataset, len(records), p.written, r.written, run.run_id)
        run.summary = dict(summary.__dict__)
    return summary
