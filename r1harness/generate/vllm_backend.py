"""The `vllm` backend: vLLM's offline engine. Optional: install with the `[vllm]` extra on a GPU machine,
using constraints-vllm.txt (vLLM pins its own torch and transformers; see ../shared/STACK.md).

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
