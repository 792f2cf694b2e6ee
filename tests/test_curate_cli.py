"""The curation commands end to end: ingest-chat, curate, sets, export (round trip through datasets),
audit."""

from __future__ import annotations

import json

import pytest
from curate_helpers import add_benchmark, add_reasoning, synthetic_reasoning

from r1harness.cli import main


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory):
    from r1harness.store import Store

    root = tmp_path_factory.mktemp("cli")
    path = root / "store"
    store = Store.open(path)
    add_reasoning(store, synthetic_reasoning(12, 2, seed=3))
    add_benchmark(store, "bench", ["What is the sum of the first ten positive odd integers when squared"])
    chats = root / "chat.jsonl"
    chats.write_text(
        "\n".join(
            json.dumps(
                {
                    "messages": [
                        {
                            "role": "user",
                            "content": f"Tell me a fact number {i} about rivers and stones please",
                        },
                        {"role": "assistant", "content": f"Rivers carry stones downstream, fact {i}."},
                    ]
                }
            )
            for i in range(4)
        )
        + "\n"
    )
    recipe = root / "r.yaml"
    recipe.write_text(_recipe_yaml())
    assert main(["ingest-chat", str(chats), "--dataset", "chat", "--store", str(path)]) == 0
    assert main(["curate", "--store", str(path), "--recipe", str(recipe), "--no-progress"]) == 0
    return path, root, recipe


def _recipe_yaml() -> str:
    from r1harness.curate.recipe import RECIPE_DIR

    text = (RECIPE_DIR / "tiny.yaml").read_text()
    return (
        text.replace("benchmarks: registered", 'benchmarks: ["store:bench"]')
        .replace("count: 60", "count: 10")
        .replace("count: 20", "count: 3")
    )


def test_curate_builds_and_sets_list_shows_it(cli_store, capsys):
    path, _, _ = cli_store
    capsys.readouterr()
    assert main(["sets", "list", "--store", str(path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["version"], r["status"], r["n_samples"]) for r in rows] == [
        ("tiny", 1, "ready", 13)
    ]
    assert (
        main(["sets", "show", "tiny@v1", "--part", "composition", "--store", str(path), "--format", "json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out) == [{"domain": "general", "n": 3}, {"domain": "math", "n": 10}]
    assert main(["sets", "show", "tiny@v1", "--part", "funnel", "--store", str(path), "--format", "csv"]) == 0
    funnel = capsys.readouterr().out
    assert (
        funnel.startswith("stage,domain,rows_in,rows_out,dropped") and "filter.correct,math,24,16,8" in funnel
    )


def test_rebuild_from_stored_recipe_reproduces_the_set(cli_store, capsys):
    path, _, _ = cli_store
    capsys.readouterr()
    assert (
        main(["curate", "--store", str(path), "--from-set", "tiny@v1", "--no-progress", "--format", "json"])
        == 0
    )
    captured = capsys.readouterr()
    assert json.loads(captured.out)["set"] == "tiny@v2"
    assert "identical membership (13 common, 0 only in tiny@v1, 0 only in tiny@v2)" in captured.err
    assert main(["sets", "diff", "tiny@v1", "tiny@v2", "--store", str(path)]) == 0
    assert "common 13" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "hf"])
def test_export_round_trips_through_datasets(cli_store, fmt, tmp_path, monkeypatch):
    import datasets

    path, _, _ = cli_store
    out = tmp_path / f"set.{fmt}"
    assert main(["export", "tiny@v1", "--format", fmt, "--out", str(out), "--store", str(path)]) == 0
    if fmt == "hf":
        ds = datasets.load_from_disk(str(out))
    else:
        ds = datasets.load_dataset(
            "json" if fmt == "jsonl" else "parquet",
            data_files=str(out),
            split="train",
            cache_dir=str(tmp_path / "cache"),
        )
    assert ds.num_rows == 13
    assert {"messages", "sample_id", "rollout_id", "prompt_id", "domain"} <= set(ds.column_names)
    roles = [[m["role"] for m in row] for row in ds["messages"]]
    assert all(r == ["user", "assistant"] for r in roles)
    assert all(isinstance(m["content"], str) and m["content"] for row in ds["messages"] for m in row)
    assert not list(out.parent.glob(".*tmp*"))  # no temp leftovers


def test_export_is_usable_by_trl_sft_formatting(cli_store, tmp_path):
    """SFTTrainer's conversational path applies the tokenizer's chat template to `messages` as is."""
    import datasets

    path, _, _ = cli_store
    out = tmp_path / "set.parquet"
    assert main(["export", "tiny", "--format", "parquet", "--out", str(out), "--store", str(path)]) == 0
    from trl.data_utils import is_conversational

    ds = datasets.load_dataset("parquet", data_files=str(out), split="train", cache_dir=str(tmp_path / "c"))
    assert is_conversational(ds[0])


def test_audit_sample_and_label(cli_store, capsys, tmp_path):
    path, _, _ = cli_store
    capsys.readouterr()
    assert main(["audit", "sample", "tiny@v1", "--n", "3", "--store", str(path), "--format", "json"]) == 0
    drawn = json.loads(capsys.readouterr().out)
    assert len(drawn) == 3 and all(d["prompt"] and d["completion"] for d in drawn)
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "\n".join(
            json.dumps(x)
            for x in [
                {"sample_id": drawn[0]["sample_id"], "label": "accept"},
                {"sample_id": drawn[1]["sample_id"], "label": "reject", "reason": "sloppy"},
            ]
        )
        + "\n"
    )
    assert main(["audit", "label", "--file", str(labels), "--store", str(path)]) == 0
    assert (
        main(
            [
                "audit",
                "label",
                "--sample",
                drawn[2]["sample_id"],
                "--label",
                "edit",
                "--reason",
                "x",
                "--store",
                str(path),
            ]
        )
        == 1
    )
    assert "needs the corrected text" in capsys.readouterr().err
    assert (
        main(
            [
                "sql",
                "SELECT label, count(*) AS n FROM annotations GROUP BY 1 ORDER BY 1",
                "--store",
                str(path),
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == [{"label": "accept", "n": 1}, {"label": "reject", "n": 1}]


def test_bad_recipe_fails_cleanly_before_work(cli_store, tmp_path, capsys):
    path, _, recipe = cli_store
    bad = tmp_path / "bad.yaml"
    bad.write_text(recipe.read_text().replace("source: ", 'source: "SELECT * FROM nowhere"\n#'))
    assert main(["curate", "--store", str(path), "--recipe", str(bad), "--check"]) == 1
    assert "source query failed" in capsys.readouterr().err
    bad.write_text(recipe.read_text() + "\nsparkle: true\n")
    assert main(["curate", "--store", str(path), "--recipe", str(bad)]) == 1
    assert "unknown key(s) ['sparkle']" in capsys.readouterr().err
    assert main(["curate", "--store", str(path), "--recipe", str(recipe), "--check"]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["curate"],
        ["sets", "list"],
        ["sets", "show"],
        ["sets", "diff"],
        ["export"],
        ["audit", "sample"],
        ["audit", "label"],
        ["ingest-chat"],
    ],
)
def test_every_command_has_help_with_an_example(argv, capsys):
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    assert "example:" in capsys.readouterr().out
