"""The openai backend against a real OpenAI-compatible server nobody here wrote: `transformers serve`
(transformers >= 5, with its `serving` extra: fastapi, uvicorn, openai), serving tiny local models offline.

The server is started on a free loopback port and stopped at the end, even when a test fails. It serves
two copies of one tiny model: one whose generation_config.json enables sampling and one whose does not
(transformers serve samples only when the model's generation config says so, whatever the temperature).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from r1harness.cli import main
from r1harness.generate import SamplingParams
from r1harness.generate.runner import plan_rollout_ids
from r1harness.store import ids

pytestmark = pytest.mark.slow
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("openai")  # transformers serve's own dependency (the [serving] extra)

CORPUS = [f"{a} + {b} = {a + b}. The answer is {a + b}." for a in range(30) for b in range(10)]
PROMPTS = ["Question: 2 + 3 =", "Question: 7 + 8 ="]
SERVER_START_S = 180  # loading torch + the model on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _model(root: Path, name: str, do_sample: bool) -> str:
    """A copy of the tiny model whose generation config does or does not sample; min_new_tokens keeps every
    completion long enough (20 tokens) for the identical-samples check, whatever the random weights say."""
    out = root / name
    shutil.copytree(root / "base", out)
    config_path = out / "generation_config.json"
    config = json.loads(config_path.read_text())
    config.update(do_sample=do_sample, min_new_tokens=20)
    config_path.write_text(json.dumps(config))
    return str(out)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from r1harness.train.tiny_model import init_tiny_model

    root = tmp_path_factory.mktemp("served")
    init_tiny_model(root / "base", layers=1, hidden=32, heads=2, vocab_size=320, corpus=CORPUS)
    models = {"sampling": _model(root, "sampling", True), "greedy": _model(root, "greedy", False)}
    port = _free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "HF_HOME": str(root / "hf_home"),
        "OMP_NUM_THREADS": "1",
    }
    log_path = root / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from transformers.cli.transformers import app; app()",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--device",
                "cpu",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"transformers serve exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"transformers serve not up after {SERVER_START_S}s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield {"url": f"{url}/v1", **models}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture
def toy_store(store):
    store.append(
        "prompts",
        [
            {"prompt_id": ids.prompt_id("toy", p), "dataset": "toy", "problem": p, "source_index": i}
            for i, p in enumerate(PROMPTS)
        ],
    )
    return store


def _generate(store, capsys, *extra: str) -> dict:
    argv = ["generate", "--store", str(store.root), "--dataset", "toy", "--template", "plain@1"]
    argv += ["--n", "2", "--temperature", "1.0", "--max-tokens", "24", "--no-progress", *extra]
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _rollouts(store, backend: str) -> list[dict]:
    return store.sql(
        "SELECT * FROM rollouts WHERE backend = ? ORDER BY prompt_id, sample_index", [backend]
    ).to_dicts()


def test_server_rollouts_carry_its_identity_and_are_not_reused_locally(server, toy_store, capsys):
    store, url, model = toy_store, server["url"], server["sampling"]
    remote = ["--backend", "openai", "--base-url", url, "--model", model, "--concurrency", "2"]
    out = _generate(store, capsys, *remote)
    assert (out["generated"], out["identical_samples"]) == (4, 0)
    rows = _rollouts(store, "openai")
    assert {r["model"] for r in rows} == {model} and all(r["completion_tokens"] >= 20 for r in rows)
    planned = plan_rollout_ids(
        [ids.prompt_id("toy", p) for p in PROMPTS],
        identity=f"openai:{model}@{url}",
        template="plain@1",
        sampling=SamplingParams(temperature=1.0, max_tokens=24),
        seed=0,
        n=2,
    )
    assert {r["rollout_id"] for r in rows} == {i for v in planned.values() for i in v}
    config = json.loads(store.sql("SELECT config FROM runs WHERE kind = 'generate'").rows()[0][0])
    assert config["backend_identity"] == f"openai:{model}@{url}"
    assert rows[0]["completion"] != rows[1]["completion"]  # this model's generation config samples

    assert _generate(store, capsys, *remote)["generated"] == 0  # the same server resumes

    # the same model run locally is other rollouts (before: "generated 0", the server's reused)
    local = _generate(store, capsys, "--backend", "transformers", "--model", model)
    assert local["generated"] == 4
    assert len(_rollouts(store, "transformers")) == 4 and store.count("rollouts") == 8


def test_extra_body_reaches_the_server(server, toy_store, capsys):
    store, url, model = toy_store, server["url"], server["sampling"]
    remote = ["--backend", "openai", "--base-url", url, "--model", model, "--concurrency", "2"]
    _generate(store, capsys, *remote)
    # `suffix` is a /completions request field transformers serve honours (appended to each completion)
    with_suffix = _generate(
        store, capsys, *remote, "--backend-options", '{"extra_body": {"suffix": " <END>"}}'
    )
    assert with_suffix["generated"] == 4  # other request fields, other rollouts
    texts = [r["completion"] for r in _rollouts(store, "openai")]
    assert sum(t.endswith(" <END>") for t in texts) == 4 and len(texts) == 8
    # a field the server rejects comes back as its own message, not a traceback
    argv = [
        "generate",
        "--store",
        str(store.root),
        "--dataset",
        "toy",
        "--template",
        "plain@1",
        "--no-progress",
    ]
    bad = '{"extra_body": {"no_such_field": 1}}'
    assert main([*argv, *remote, "--max-tokens", "4", "--backend-options", bad]) == 1
    assert "HTTP 422" in capsys.readouterr().err


def test_identical_samples_warn_when_the_server_ignores_sampling(server, toy_store):
    store, url, model = toy_store, server["url"], server["greedy"]  # generation_config: do_sample false
    argv = [sys.executable, "-m", "r1harness", "generate", "--store", str(store.root), "--dataset", "toy"]
    argv += ["--template", "plain@1", "--n", "3", "--temperature", "1.0", "--max-tokens", "24"]
    argv += [
        "--backend",
        "openai",
        "--base-url",
        url,
        "--model",
        model,
        "--concurrency",
        "2",
        "--no-progress",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["identical_samples"] == 2
    warnings = [line for line in done.stderr.splitlines() if "identical at temperature 1.0" in line]
    assert len(warnings) == 1 and "generation_config" in warnings[0]  # once per run, on the console
