"""`r1h model init`, `r1h train grpo` and `r1h train sft` from the command line, as the README shows them."""

import json

import pytest

from r1harness.cli import build_parser, main


def test_help_has_examples_and_stays_torch_free(capsys):
    import subprocess
    import sys

    code = "import sys, r1harness.cli as c; c.build_parser(); print('torch' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    )
    for argv in (
        ["train", "grpo", "--help"],
        ["train", "sft", "--help"],
        ["model", "init", "--help"],
        ["train", "r1zero-tiny", "--help"],
    ):
        with pytest.raises(SystemExit):
            build_parser().parse_args(argv)
        assert "example:" in capsys.readouterr().out


def test_model_init_then_grpo_then_sft_from_the_cli(tmp_path, capsys):
    store, model = tmp_path / "store", tmp_path / "tiny"
    assert (
        main(["model", "init", "--out", str(model), "--layers", "1", "--hidden", "32", "--heads", "2"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["arch"] == "qwen2"

    from r1harness.ingest import ingest_manifest
    from r1harness.store import Store

    s = Store.open(store)
    summary = ingest_manifest(s, "arithmetic")
    assert summary.written == 2000 and s.sql("SELECT DISTINCT verifier FROM prompts")["verifier"][0] == "math"
    cfg = tmp_path / "grpo.yaml"
    cfg.write_text(
        f"model: {model}\ndataset: arithmetic\nmax_prompts: 20\noutput_dir: {tmp_path / 'run'}\n"
        "rewards: [{name: accuracy, verifier: math, options: {workers: 0}},\n"
        "          {name: format, verifier: format}]\n"
        "trl: {per_device_train_batch_size: 4, num_generations: 2, max_completion_length: 6}\n"
    )
    assert (
        main(
            [
                "train",
                "grpo",
                "--store",
                str(store),
                "--config",
                str(cfg),
                "--max-steps",
                "2",
                "--set",
                "trl.learning_rate=1e-4",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["steps"] == 2 and out["rollouts_written"] == 8
    run = s.sql("SELECT config FROM runs WHERE run_id = $1", [out["run_id"]])["config"][0]
    assert json.loads(run)["trl"]["learning_rate"] == 1e-4

    # a typo in the config is a clean error, exit code 1, no traceback
    assert (
        main(["train", "grpo", "--store", str(store), "--config", str(cfg), "--set", "trl.num_generation=2"])
        == 1
    )
    assert "num_generation" in capsys.readouterr().err

    msgs = [
        {"role": "user", "content": "What is 1 + 1?"},
        {"role": "assistant", "content": "<answer> 2 </answer>"},
    ]
    s.append(
        "sft_samples",
        [
            {"sample_id": f"s{i}", "set_name": "cold", "set_version": 1, "messages": json.dumps(msgs)}
            for i in range(4)
        ],
    )
    s.catalog_insert("sets", [{"name": "cold", "version": 1, "status": "ready", "n_samples": 4}])
    assert (
        main(
            [
                "train",
                "sft",
                "cold@v1",
                "--store",
                str(store),
                "--model",
                str(model),
                "--out",
                str(tmp_path / "sft"),
                "--max-steps",
                "2",
                "--set",
                "trl.per_device_train_batch_size=2",
            ]
        )
        == 0
    )
    sft = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sft["set"] == "cold@v1" and sft["steps"] == 2
