"""The `vllm` backend: vLLM's offline engine. Optional: install with the `[vllm]` extra on a GPU machine,
using constraints-vllm.txt (vLLM pins its own torch and transformers).

Each sample is its own vLLM request seeded with seed + sample_index, so a sample is the same whether it
was generated in the first run or in a resumed one; prefix caching keeps the shared prompt cheap.
"""

from __future__ import annotations

from typing import Any

from r1harness.errors import ConfigError
from r1harness.generate.backend import (
    Completion,
    GenerationError,
    GenerationRequest,
    Prompt,
    SamplingParams,
    default_identity,
)


class VLLMBackend:
    name = "vllm"

    def __init__(self, model: str, *, llm: Any = None, **engine_kwargs: Any):
        try:
            import vllm
        except ImportError as exc:
            raise ConfigError(
                "the vllm backend needs vLLM: pip install -c constraints-vllm.txt "
                "'r1harness[vllm]' on a GPU machine (or use --backend transformers)"
            ) from exc
        self.version = vllm.__version__
        self.model = str(model)
        self.identity = default_identity(self.name, self.model)
        engine_kwargs.setdefault("enable_prefix_caching", True)
        try:
            self.llm = llm or vllm.LLM(model=self.model, **engine_kwargs)
        except Exception as exc:  # vLLM raises many types on a bad model or too little memory
            raise GenerationError(f"vllm could not load {self.model!r}: {exc}") from exc
        self.tokenizer = self.llm.get_tokenizer()

    def render(self, prompt: Prompt) -> str:
        if isinstance(prompt, str):
            return prompt
        return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)

    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[list[Completion]]:
        from vllm import SamplingParams as VSamplingParams

        prompts, params = [], []
        for req in requests:
            text = self.render(req.prompt)
            for index in req.indices:
                prompts.append(text)
                params.append(
                    VSamplingParams(
                        n=1,
                        temperature=sampling.temperature,
                        top_p=sampling.top_p,
                        top_k=sampling.top_k or -1,
                        max_tokens=sampling.max_tokens,
                        stop=list(sampling.stop),
                        seed=req.sample_seed(index),
                    )
                )
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        flat = [_completion(o) for o in outputs]
        out, pos = [], 0
        for req in requests:
            out.append(flat[pos : pos + req.n])
            pos += req.n
        return out


def _completion(request_output: Any) -> Completion:
    sample = request_output.outputs[0]
    finish = sample.finish_reason if sample.finish_reason in ("stop", "length") else "error"
    return Completion(sample.text, len(request_output.prompt_token_ids or []), len(sample.token_ids), finish)


def engine_option_problems(options: dict, max_tokens: int | None = None) -> list[str]:
    """What is wrong with vLLM engine options, checked without importing vLLM (`r1h validate` runs on
    machines with no GPU and no vLLM): the parallelism and memory settings a run depends on."""
    problems = []
    tp = options.get("tensor_parallel_size", 1)
    if isinstance(tp, bool) or not isinstance(tp, int) or tp < 1:
        problems.append(f"tensor_parallel_size must be a whole number >= 1 (GPUs per engine), got {tp!r}")
    share = options.get("gpu_memory_utilization", 0.9)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        problems.append(f"gpu_memory_utilization must lie in (0, 1], got {share!r}")
    length = options.get("max_model_len")
    if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 1):
        problems.append(f"max_model_len must be a whole number of tokens, got {length!r}")
    elif length is not None and max_tokens is not None and length <= max_tokens:
        problems.append(
            f"max_model_len {length} leaves no room for the prompt with max_tokens {max_tokens}: raise "
            "max_model_len above max_tokens + the longest prompt"
        )
    if "seed" in options:
        problems.append(
            "seed is not an engine option here: every request carries its own seed (the run's seed + "
            "sample index), so samples do not depend on batching; set the run's seed instead"
        )
    return problems
