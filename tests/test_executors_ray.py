"""The Ray executor on a real local cluster (ray.cluster_utils.Cluster: a head and a second node, real
raylets, shared by the module): verification, tiny-model generation, evaluation (`r1h eval --executor ray`)
and the pipeline's rejection-sampling and evaluation stages through Ray write the same rows and numbers as
the local executor; a worker SIGKILLed mid-run, a node removed mid-run, and a driver killed mid-run all end
with exactly the expected rows; bad setups fail before any work with a clear message. The cluster's session
folder under /tmp/ray is removed at the end."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from r1harness.cli import main  # noqa: E402
from r1harness.executors import ExecutorConfig, ExecutorError, generate_on_ray, verify_on_ray  # noqa: E402
from r1harness.scoring.verify_store import verify_store  # noqa: E402
from r1harness.store import Store  # noqa: E402
from r1harness.store.ids import content_id, prompt_id  # noqa: E402

TESTS = str(Path(__file__).parent)
SLOW = "ray_slow_verifier:slow_math"


@contextlib.contextmanager
def _node_env():
    """Real raylets whose worker processes import r1harness and the test verifier (as a real cluster's
    nodes would have them installed): nodes started inside this get that PYTHONPATH, so every driver,
    this one or a CLI subprocess, gets workers that can import them."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "OMP_NUM_THREADS")}
    os.environ.update(PYTHONPATH=os.pathsep.join([TESTS, str(Path(TESTS).parent)]), OMP_NUM_THREADS="1")
    try:
        yield
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.update({k: v})


def _start(nodes: int = 2) -> Cluster:
    with _node_env():
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    return cluster


def _stop(cluster: Cluster) -> None:
    session = Path(cluster.head_node.get_session_dir_path())
    ray.shutdown()
    cluster.shutdown()
    shutil.rmtree(session, ignore_errors=True)  # this cluster's /tmp/ray/session_* (logs, sockets)


@pytest.fixture(scope="module")
def cluster():
    """One two-node cluster (head + one node, 1 CPU each) for the whole module."""
    c = _start()
    yield c
    _stop(c)


def math_store(root: Path, n: int = 240) -> Store:
    store = Store.open(root)
    prompts = [{"prompt_id": prompt_id("t", f"q{i}"), "dataset": "t", "problem": f"What is {i}?",
                "answer": str(i), "verifier": "math"} for i in range(n)]  # fmt: skip
    store.append("prompts", prompts)
    store.append(
        "rollouts",
        [{"rollout_id": content_id("r", i), "prompt_id": p["prompt_id"], "model": "m",
          "completion": f"\\boxed{{{i if i % 3 else i + 1}}}"} for i, p in enumerate(prompts)],
    )  # fmt: skip
    return store


def _verdicts(store, verifier="math"):
    return sorted(
        store.sql("SELECT rollout_id, status, score FROM rewards WHERE verifier = ?", [verifier]).iter_rows()
    )


def _exact(store, n, verifier):
    counts = store.sql(
        "SELECT count(*) AS rows, count(DISTINCT reward_id) AS ids, count(DISTINCT rollout_id) AS rollouts "
        "FROM rewards WHERE verifier = ?",
        [verifier],
    ).row(0, named=True)
    assert counts == {"rows": n, "ids": n, "rollouts": n}


def test_verification_on_ray_writes_what_the_local_executor_writes(cluster, tmp_path):
    local, remote = math_store(tmp_path / "local"), math_store(tmp_path / "ray")
    verify_store(local, ["math"], options={"math": {"workers": 0}})
    config = ExecutorConfig("ray", address=cluster.address, chunk_size=40)
    out = verify_on_ray(
        remote, ["math"], config, run_id="r", options={"math": {"workers": 1}}, progress=False
    )
    assert out["written"] == 240 and out["chunks"] == 16 and out["workers"] == 2
    assert _verdicts(remote) == _verdicts(local) and len(_verdicts(local)) == 240
    # the CLI, run again: everything is done, nothing is written twice
    assert main(["verify", "--verifier", "math", "--opt", "math:workers=1", "--executor", "ray",
                 "--ray-address", cluster.address, "--store", str(remote.root)]) == 0  # fmt: skip
    _exact(remote, 240, "math")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from r1harness.train.tiny_model import init_tiny_model

    corpus = [f"What is {i}? {i}" for i in range(200)]
    path = tmp_path_factory.mktemp("tiny") / "model"
    return str(init_tiny_model(path, layers=1, hidden=32, heads=2, vocab_size=300, corpus=corpus))


def test_generation_on_ray_writes_what_the_local_executor_writes(cluster, tmp_path, tiny_model):
    from r1harness.generate import SamplingParams, get_backend
    from r1harness.generate.runner import generate_rollouts

    model = tiny_model
    local, remote = math_store(tmp_path / "local", 12), math_store(tmp_path / "ray", 12)
    sampling = SamplingParams(temperature=1.0, top_p=1.0, max_tokens=8)
    prompts = local.sql("SELECT prompt_id, problem, metadata FROM prompts ORDER BY prompt_id")
    # batch_size 1: the transformers backend seeds each micro-batch with its first sample's seed, so only
    # one-sample batches make a sample's text a function of its own seed whatever the chunking
    backend = get_backend("transformers", str(model), device="cpu", batch_size=1)
    generate_rollouts(
        local, backend, prompts, template="plain@1", sampling=sampling, n=3, seed=7, progress=False
    )
    spec = {"name": "transformers", "model": str(model), "options": {"device": "cpu", "batch_size": 1}}
    config = ExecutorConfig("ray", address=cluster.address, chunk_size=8)
    out = generate_on_ray(remote, spec, config, prompts_where="p.dataset = 't'", template="plain@1",
                          sampling=sampling.to_dict(), n=3, seed=7, progress=False)  # fmt: skip
    assert out["generated"] == 36 and out["chunks"] > 1
    rows = "SELECT rollout_id, completion FROM rollouts WHERE stage = 'generate' ORDER BY rollout_id"
    got, want = remote.sql(rows).rows(), local.sql(rows).rows()
    assert got == want and len(want) == 36  # same ids, same sampled text: the seeds reached the engine
    assert len({c for _, c in want}) >= 3  # and it really sampled (one text per seed at least)
    # the CLI names the same rollouts: run again through it, nothing is left to generate
    cli = ["generate", "--store", str(remote.root), "--model", str(model), "--dataset", "t", "--n", "3",
           "--seed", "7", "--template", "plain@1", "--temperature", "1.0", "--top-p", "1.0", "--max-tokens",
           "8", "--gen-batch-size", "1", "--device", "cpu", "--no-progress", "--executor", "ray",
           "--ray-address", cluster.address]  # fmt: skip
    assert main(cli) == 0 and remote.sql(rows).rows() == want


def test_bad_setups_fail_before_any_work(cluster, tmp_path):
    store = math_store(tmp_path / "s", 10)
    with pytest.raises(ExecutorError, match="could not start"):
        spec = {"name": "transformers", "model": str(tmp_path / "no-model"), "options": {}}
        generate_on_ray(store, spec, ExecutorConfig("ray", address=cluster.address), prompts_where="TRUE",
                        template="plain@1", sampling={}, n=1, seed=0, progress=False)  # fmt: skip
    from r1harness.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown verifier"):
        verify_on_ray(
            store, ["no_such_verifier"], ExecutorConfig("ray", address=cluster.address), run_id=None
        )
    assert store.count("rewards") == 0 and store.count("rollouts") == 10


def test_no_cluster_is_a_clear_error(tmp_path):
    script = (
        "from r1harness.executors.cluster import connect\n"
        "try:\n    connect('127.0.0.1:1')\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "ExecutorError" in out.stdout and "ray start --head" in out.stdout


def _kill_one_worker_when_busy(pids: Path, done: threading.Event):
    """SIGKILL the first worker process seen verifying, once two are busy (so work is in flight)."""
    while not done.is_set():
        found = sorted(pids.iterdir()) if pids.exists() else []
        if len(found) >= 2:
            os.kill(int(found[0].name), signal.SIGKILL)
            return int(found[0].name)
        time.sleep(0.05)
    return None


def test_a_worker_killed_mid_run_leaves_exact_rows(cluster, tmp_path):
    store = math_store(tmp_path / "s", 200)
    pids = tmp_path / "pids"
    pids.mkdir()
    done, killed = threading.Event(), []
    killer = threading.Thread(target=lambda: killed.append(_kill_one_worker_when_busy(pids, done)))
    killer.start()
    config = ExecutorConfig("ray", address=cluster.address, chunk_size=10)
    try:
        out = verify_on_ray(
            store, [SLOW], config, run_id="r", options={SLOW: {"pids": str(pids)}}, progress=False
        )
    finally:
        done.set()
        killer.join()
    assert killed and killed[0]
    assert out["chunk_retries"] >= 1  # the killed worker's chunk ran again on a live one
    _exact(store, 200, "slow_math")


def test_a_node_removed_mid_run_leaves_exact_rows(cluster, tmp_path):
    with _node_env():
        extra = cluster.add_node(num_cpus=1)  # a third node, removed while its worker is busy
    store = math_store(tmp_path / "s", 160)
    config = ExecutorConfig("ray", address=cluster.address, chunk_size=10)

    def remove_when_started():
        while store.count("rewards") < 10:
            time.sleep(0.05)
        cluster.remove_node(extra)

    remover = threading.Thread(target=remove_when_started)
    remover.start()
    try:
        out = verify_on_ray(store, [SLOW], config, run_id="r", progress=False)
    finally:
        remover.join()
    assert out["workers"] == 3 and len([n for n in ray.nodes() if n["Alive"]]) == 2
    _exact(store, 160, "slow_math")


def test_a_killed_driver_resumes_with_the_same_command(cluster, tmp_path):
    store = math_store(tmp_path / "s", 160)
    cmd = [sys.executable, "-m", "r1harness", "verify", "--verifier", SLOW, "--executor", "ray",
           "--ray-address", cluster.address, "--store", str(store.root), "--format", "json"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([TESTS, str(Path(TESTS).parent)])}
    driver = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while store.count("rewards") < 20 and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.1)
    driver.send_signal(signal.SIGKILL)
    _, err = driver.communicate()
    partial = store.count("rewards")
    assert 0 < partial < 160, err.decode()[-2000:]
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout)["written"] == 160 - partial  # only what the killed run had not done
    _exact(store, 160, "slow_math")


@pytest.mark.usefixtures("shared_data")  # AIME 2024 from the benchmark data folder
def test_eval_on_ray_gives_the_local_numbers(cluster, tmp_path):
    """`run_eval` / `r1h eval --executor ray`: generation and verification on the workers (the backend is
    built there from its spec), aggregation in the driver: the same rollouts, verdicts and metrics."""
    from test_evals_e2e import GOLDEN, SCRIPT, fake, overall, spec

    raw_spec = {"name": "aime24_mini", "version": 1, "dataset": "aime24", "template": "r1-math@1",
                "verifier": "math", "n": 8, "k": [1, 4, 8], "cons": [8],
                "sampling": {"temperature": 0.6, "top_p": 0.95, "max_tokens": 4096}}  # fmt: skip

    from r1harness.evals.runner import run_eval

    local, remote = Store.open(tmp_path / "local"), Store.open(tmp_path / "ray")
    want = run_eval(local, fake(), spec(), limit=5, progress=False)
    backend = {"name": "fake", "model": "fake-r1", "options": {"script": SCRIPT, "default": "no idea"}}
    config = ExecutorConfig("ray", address=cluster.address, chunk_size=4)
    got = run_eval(remote, backend, spec(), limit=5, progress=False, executor=config)
    assert (got.generated, got.verified) == (40, 40)
    assert overall(got) == overall(want) and overall(got)["pass@1"] == pytest.approx(GOLDEN["pass@1"])
    rows = "SELECT rollout_id, completion, stage FROM rollouts ORDER BY rollout_id"
    assert remote.sql(rows).rows() == local.sql(rows).rows()
    verdicts = "SELECT rollout_id, status, score FROM rewards ORDER BY rollout_id"
    assert remote.sql(verdicts).rows() == local.sql(verdicts).rows()
    # the CLI: the same numbers on a fresh store
    script, bench = tmp_path / "script.json", tmp_path / "aime24_mini.yaml"
    script.write_text(json.dumps({"responses": SCRIPT, "default": "no idea"}))
    bench.write_text(json.dumps(raw_spec))  # JSON is YAML
    out = tmp_path / "results.json"
    assert main(["eval", "--store", str(tmp_path / "cli"), "--backend", "fake", "--model", str(script),
                 "--bench", str(bench), "--limit", "5", "--no-progress", "--executor", "ray",
                 "--ray-address", cluster.address, "--format", "json", "--out", str(out)]) == 0  # fmt: skip
    values = {r["metric"]: r["value"] for r in json.loads(out.read_text()) if r["breakdown"] is None}
    assert values["pass@1"] == pytest.approx(GOLDEN["pass@1"]) and values["cons@8"] == GOLDEN["cons@8"]


@pytest.mark.slow  # the longest here (~30 s): two pipelines' rejection sampling and evaluation
def test_pipeline_rejection_and_eval_stages_take_the_executor_from_config(cluster, tmp_path, tiny_model):
    """`executor: {kind: ray, ...}` in a pipeline config sends rejection sampling and evaluation to the
    cluster; rollouts, verdicts and metrics are those of the local default."""
    from r1harness.pipeline.config import load_pipeline_config
    from r1harness.pipeline.context import Context
    from r1harness.pipeline.curation import sample_and_verify
    from r1harness.pipeline.evaluation import evaluate_models
    from r1harness.pipeline.prompts import ingest_prompts

    over = {"prompts.tasks": [{"task": "arithmetic", "train": 30, "heldout": 4}], "rejection.samples": 2,
            "rejection.max_prompts": 6, "rejection.max_tokens": 4, "eval.n": 2, "eval.k": [1, 2],
            "eval.cons": [2], "eval.max_tokens": 4,
            "backend_options": {"device": "cpu", "batch_size": 1}}  # fmt: skip
    seen = {}
    for kind in ("local", "ray"):
        config = load_pipeline_config(
            "tiny", {**over, "executor": {"kind": kind, "address": cluster.address}}
        )
        store = Store.open(tmp_path / kind / "store")
        ctx = Context(store, config, run_id="p", work=tmp_path / kind, stage_run_id="p-rejection",
                      outputs={"reasoning_rl": {"model": tiny_model}}, progress=False)  # fmt: skip
        ingest_prompts(ctx)
        sampled = sample_and_verify(ctx)
        ctx.stage_run_id = "p-eval"
        evaluated = evaluate_models(ctx)
        runs = store.sql("SELECT kind, json_extract_string(config, '$.executor') AS ex FROM runs").rows()
        seen[kind] = {
            "sampled": (sampled["generated"], sampled["wanted"]),
            "rollouts": store.sql("SELECT rollout_id, stage, completion FROM rollouts ORDER BY 1").rows(),
            "rewards": store.sql("SELECT rollout_id, verifier, status FROM rewards ORDER BY 1, 2").rows(),
            "results": evaluated["results"],
            "ray_runs": sorted(k for k, ex in runs if ex == "ray"),
        }
    assert seen["ray"]["sampled"] == seen["local"]["sampled"] == (12, 12)
    for key in ("rollouts", "rewards", "results"):
        assert seen["ray"][key] == seen["local"][key], key
    assert len(seen["local"]["rollouts"]) == 12 + 8  # 6 prompts x 2 samples, 4 held-out x 2
    assert seen["local"]["ray_runs"] == [] and {"generate", "verify", "eval"} <= set(seen["ray"]["ray_runs"])


@pytest.mark.sandbox
@pytest.mark.usefixtures("shared_data")
def test_code_verification_on_ray_uses_the_configured_sandbox_under_a_cluster_wide_cap(
    cluster, tmp_path, shared_data
):
    """Code verdicts through Ray workers, each a client of the sandbox service at the configured address
    with its share of the cluster-wide cap on requests in flight: the same verdicts as the local run."""
    from r1harness.sandbox.client import LocalService

    rows = [json.loads(line) for line in (shared_data / "humaneval" / "HumanEval.jsonl").open()][:6]
    meta = [
        json.dumps({"entry_point": r["entry_point"], "test": r["test"], "prompt": r["prompt"]}) for r in rows
    ]
    stores = {}
    for kind in ("local", "ray"):
        store = stores[kind] = Store.open(tmp_path / kind)
        prompts = [{"prompt_id": prompt_id("he", r["task_id"]), "dataset": "he", "problem": r["prompt"],
                    "metadata": m, "verifier": "code"} for r, m in zip(rows, meta, strict=True)]  # fmt: skip
        store.append("prompts", prompts)
        body = {True: lambda r: r["canonical_solution"], False: lambda r: "    return None"}
        store.append("rollouts", [
            {"rollout_id": content_id("r", p["prompt_id"], ok), "prompt_id": p["prompt_id"], "model": "m",
             "completion": f"```python\n{r['prompt']}{body[ok](r)}\n```"}
            for p, r in zip(prompts, rows, strict=True) for ok in (True, False)
        ])  # fmt: skip
    service = LocalService(slots=2)
    try:
        options = {"code": {"url": service.url}}
        verify_store(stores["local"], ["code"], options=options)
        config = ExecutorConfig("ray", address=cluster.address, max_in_flight=2)
        out = verify_on_ray(stores["ray"], ["code"], config, run_id="r", options=options, progress=False)
    finally:
        service.close()
    assert out["written"] == 12 and out["workers"] == 2
    assert _verdicts(stores["ray"], "code") == _verdicts(stores["local"], "code")
    assert [s for _, s, _ in _verdicts(stores["ray"], "code")].count("correct") == 6


def test_a_node_that_cannot_see_the_store_fails_before_any_work(cluster, tmp_path):
    """A third node joins from its own mount namespace, where an empty tmpfs hides the store's folder:
    the probe names it and nothing is written."""
    hidden = tmp_path / "shared"
    store = math_store(hidden / "s", 20)
    ray_bin = str(Path(sys.executable).with_name("ray"))
    script = (f"mount -t tmpfs tmpfs {hidden} && exec {ray_bin} start --address {cluster.address} "
              "--num-cpus 1 --block --disable-usage-stats")  # fmt: skip
    if subprocess.run(["unshare", "--mount", "--propagation", "private", "true"]).returncode:
        pytest.skip("needs unshare --mount (root)")
    before = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    node = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len({n["NodeID"] for n in ray.nodes() if n["Alive"]} - before) < 1:
            assert time.monotonic() < deadline and node.poll() is None, "the third node did not join"
            time.sleep(0.5)
        config = ExecutorConfig("ray", address=cluster.address)
        with pytest.raises(ExecutorError, match="is not shared by every Ray node") as err:
            verify_on_ray(store, ["math"], config, run_id="r", progress=False)
        assert "FileNotFoundError" in str(err.value) and "Lustre" in str(err.value)
    finally:
        node.terminate()
        node.wait(timeout=60)
    assert store.count("rewards") == 0
    deadline = time.monotonic() + 60
    while {n["NodeID"] for n in ray.nodes() if n["Alive"]} - before and time.monotonic() < deadline:
        time.sleep(0.5)  # the node has left: the next test sees the module's two nodes
