"""The executor choice as configuration, checked without Ray, vLLM or a GPU: ExecutorConfig's validation,
chunking arithmetic, pipeline configs' `executor` key and `r1h validate` of the vLLM-on-Ray settings, and
the vLLM backend's per-request seeds (the engine itself: tests/test_vllm_seeds.py, marked gpu)."""

import subprocess
import sys
import types

import pytest

from r1harness.errors import ConfigError
from r1harness.executors import ExecutorConfig
from r1harness.executors.checks import executor_problems
from r1harness.executors.ray_executor import prefix_digits, worker_gpus
from r1harness.pipeline.config import load_pipeline_config
from r1harness.pipeline.validate import config_problems


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "rai"}, "kind must be one of"),
        ({"workers": 0}, "workers must be at least 1"),
        ({"workers": "4"}, "workers must be a number"),
        ({"cpus_per_worker": 0}, "above 0"),
        ({"gpus_per_worker": -1}, "0 or more"),
        ({"address": ""}, "HOST:PORT or auto"),
    ],
)
def test_bad_executor_settings_are_named(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ExecutorConfig(**kwargs)


def test_chunks_are_near_the_asked_size_and_at_least_one_per_worker():
    assert prefix_digits(50_000, 2000, 2) == 1  # 16 chunks of ~3,100: 25 asked, the nearest power of 16
    assert prefix_digits(1_000_000, 2000, 2) == 2  # 256 chunks of ~3,900
    assert prefix_digits(160, 2000, 2) == 1  # fewer items than a chunk, but two workers to feed
    assert prefix_digits(3, 2000, 4) == 0  # too few items to split
    assert prefix_digits(10**12, 1, 1) == 4  # at most 16**4 chunks


def test_a_vllm_worker_holds_its_replicas_gpus():
    spec = {"name": "vllm", "model": "m", "options": {"tensor_parallel_size": 8}}
    assert worker_gpus(spec, ExecutorConfig("ray")) == 8
    assert worker_gpus({**spec, "name": "transformers"}, ExecutorConfig("ray")) == 0
    assert worker_gpus(spec, ExecutorConfig("ray", gpus_per_worker=2)) == 2


def test_pipeline_executor_is_local_by_default_and_ray_when_configured():
    assert load_pipeline_config("tiny").executor == ExecutorConfig()
    r1 = load_pipeline_config("r1")
    assert r1.executor.kind == "ray" and r1.backend == "vllm"
    with pytest.raises(ConfigError, match=r"executor: unknown key\(s\) \['wokers'\]"):
        load_pipeline_config("tiny", {"executor": {"kind": "ray", "wokers": 2}})


def test_validate_checks_vllm_on_ray_settings():
    assert config_problems(load_pipeline_config("r1")) == []
    bad = {"backend_options": {"tensor_parallel_size": 0, "gpu_memory_utilization": 1.5,
                               "max_model_len": 32768, "data_parallel_size": 2, "seed": 1}}  # fmt: skip
    text = "\n".join(config_problems(load_pipeline_config("r1", bad)))
    for expected in ("tensor_parallel_size must be", "gpu_memory_utilization must lie", "leaves no room",
                     "data_parallel_size", "every request carries its own seed"):  # fmt: skip
        assert expected in text
    assert executor_problems(ExecutorConfig("ray", gpus_per_worker=4), "vllm", {"tensor_parallel_size": 8})


def test_validate_imports_neither_ray_nor_vllm():
    script = (
        "import sys\nfrom r1harness.cli import main\n"
        "rc = main(['validate', 'datasets/pipelines/r1.yaml'])\n"
        "print(rc, [m for m in ('ray', 'vllm') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stdout + out.stderr[-2000:]


def test_the_vllm_backend_seeds_every_request(monkeypatch):
    """Each sample is its own vLLM request whose SamplingParams carry seed + sample index: what the engine
    receives, recorded by a stand-in for the `vllm` module (the real engine: tests/test_vllm_seeds.py)."""
    from r1harness.generate.backend import GenerationRequest, SamplingParams
    from r1harness.generate.vllm_backend import VLLMBackend

    sent = []

    class Output:
        def __init__(self):
            sample = types.SimpleNamespace(text="x", token_ids=[2], finish_reason="stop")
            self.prompt_token_ids, self.outputs = [1], [sample]

    class LLM:
        def get_tokenizer(self):
            return None

        def generate(self, prompts, params, use_tqdm=False):
            sent.extend(zip(prompts, params, strict=True))
            return [Output() for _ in prompts]

    stub = types.ModuleType("vllm")
    stub.__version__ = "stub"
    stub.SamplingParams = lambda **kw: kw
    monkeypatch.setitem(sys.modules, "vllm", stub)
    backend = VLLMBackend("m", llm=LLM())
    requests = [
        GenerationRequest("a", n=2, seed=100),
        GenerationRequest("b", n=2, seed=7, sample_indices=(3, 5)),
    ]
    backend.generate(requests, SamplingParams(temperature=0.6, max_tokens=4))
    assert [(p, kw["seed"], kw["n"]) for p, kw in sent] == [
        ("a", 100, 1),
        ("a", 101, 1),
        ("b", 10, 1),
        ("b", 12, 1),
    ]


def test_no_ray_installed_is_a_clear_error():
    script = (
        "import sys\nsys.modules['ray'] = None  # as if not installed\n"
        "from r1harness.executors.cluster import connect\n"
        "try:\n    connect('auto')\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.stdout.startswith("ExecutorError") and "r1harness[ray]" in out.stdout, out.stderr[-2000:]


def test_the_cluster_wide_sandbox_cap_is_shared_out_over_workers():
    from r1harness.executors.ray_executor import capped_options, pool_size

    config = ExecutorConfig("ray", max_in_flight=64)
    assert pool_size({"CPU": 16.0}, config) == 16 and pool_size({"CPU": 16.0, "GPU": 8.0}, config, 4) == 2
    options = capped_options({"code": {"reward": "all"}, "math": {}}, config, 16)
    assert options == {"code": {"reward": "all", "concurrency": 4}, "math": {}}
    assert (
        capped_options({"code": {}}, ExecutorConfig("ray", max_in_flight=3), 16)["code"]["concurrency"] == 1
    )
    assert capped_options({"code": {}}, ExecutorConfig("ray"), 16) == {"code": {}}  # no cap: as configured
