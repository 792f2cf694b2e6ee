"""On a GPU: the per-request seeds reach vLLM's engine. A sample's text depends on its own seed only, not
on which other requests share its batch (the failure other harnesses have: one seed per batch, or none).

Needs vLLM (`pip install -c constraints-vllm.txt 'r1harness[vllm]'`) and a local model folder named by
R1H_VLLM_TEST_MODEL (nothing is downloaded), e.g. a Qwen2.5-0.5B-Instruct checkout:
  R1H_VLLM_TEST_MODEL=/models/Qwen2.5-0.5B-Instruct pytest -m gpu tests/test_vllm_seeds.py
"""

import os

import pytest

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def backend():
    pytest.importorskip("vllm")
    model = os.environ.get("R1H_VLLM_TEST_MODEL")
    if not model:
        pytest.skip("set R1H_VLLM_TEST_MODEL to a local model folder")
    from r1harness.generate import get_backend

    return get_backend("vllm", model, gpu_memory_utilization=0.5, max_model_len=1024)


def test_a_samples_text_depends_on_its_seed_not_its_batch(backend):
    from r1harness.generate.backend import GenerationRequest, SamplingParams

    sampling = SamplingParams(temperature=1.0, top_p=1.0, max_tokens=32)
    alone = backend.generate([GenerationRequest("Tell me a story.", n=4, seed=11)], sampling)[0]
    crowd = [GenerationRequest(f"Other prompt {i}.", n=3, seed=i) for i in range(6)]
    mixed = backend.generate(
        [*crowd[:3], GenerationRequest("Tell me a story.", n=4, seed=11), *crowd[3:]], sampling
    )
    assert [c.text for c in mixed[3]] == [c.text for c in alone]  # same seeds, other batch: same texts
    resumed = backend.generate(
        [GenerationRequest("Tell me a story.", n=2, seed=11, sample_indices=(2, 3))], sampling
    )[0]
    assert [c.text for c in resumed] == [c.text for c in alone[2:]]  # a resumed sample is the same sample
    assert len({c.text for c in alone}) > 1  # and the seeds differ per sample: it really sampled
