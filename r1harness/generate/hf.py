"""The `transformers` backend: batched `model.generate` on CPU or GPU, with stop strings.

It adds as little as possible around `generate` (the overhead is measured in benchmarks/eval_throughput.py):
left padding, one micro-batch of `batch_size` sequences at a time, decoding and token accounting.
Seeding: `generate` cannot seed each row of a batch, so each micro-batch is seeded with the seed of its
first sample; re-running the same batches reproduces them exactly (greedy decoding is always exact).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from r1harness.errors import ConfigError
from r1harness.generate.backend import (
    Completion,
    GenerationError,
    GenerationRequest,
    Prompt,
    SamplingParams,
    check_model_path,
    default_identity,
    truncate_at_stop,
)


class TransformersBackend:
    name = "transformers"

    def __init__(
        self,
        model: str,
        *,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int = 16,
        trust_remote_code: bool = False,
        model_obj: Any = None,
        tokenizer: Any = None,
    ):
        if batch_size < 1:
            raise ConfigError(f"transformers backend: batch_size must be >= 1, got {batch_size}")
        if model_obj is None:
            check_model_path(str(model), self.name)  # before the hub mistakes a folder for a repo id
        import torch
        import transformers

        self.version = transformers.__version__
        self.model = str(model)
        self.identity = default_identity(self.name, self.model)
        self.batch_size = batch_size
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if dtype and not isinstance(getattr(torch, dtype, None), torch.dtype):
            raise ConfigError(
                f"transformers backend: dtype {dtype!r} is not a torch dtype; use e.g. float32 or bfloat16"
            )
        try:
            self.tokenizer = tokenizer or transformers.AutoTokenizer.from_pretrained(
                self.model, trust_remote_code=trust_remote_code
            )
            torch_dtype = (
                getattr(torch, dtype)
                if dtype
                else (torch.bfloat16 if self.device.startswith("cuda") else torch.float32)
            )
            self.lm = model_obj or transformers.AutoModelForCausalLM.from_pretrained(
                self.model, dtype=torch_dtype, trust_remote_code=trust_remote_code
            )
        except (OSError, ValueError) as exc:
            path = Path(self.model).expanduser()
            local = "" if path.exists() else f" (and there is no local folder {path.absolute()})"
            raise GenerationError(
                f"transformers backend cannot load model {self.model!r}{local}: {exc}"
            ) from exc
        self.lm.to(self.device).eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._eos_ids = _eos_ids(self.lm, self.tokenizer)

    def render(self, prompt: Prompt) -> str:
        if isinstance(prompt, str):
            return prompt
        if not getattr(self.tokenizer, "chat_template", None):
            raise ConfigError(
                f"model {self.model!r} has no chat template; use a raw template "
                "(e.g. --template plain@1 or qa@1) or a model with one"
            )
        return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)

    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[list[Completion]]:
        items = [
            (r, self.render(r.prompt), isinstance(r.prompt, str), i) for r in requests for i in r.indices
        ]
        texts: list[Completion] = []
        for start in range(0, len(items), self.batch_size):
            texts.extend(self._generate_batch(items[start : start + self.batch_size], sampling))
        out, pos = [], 0
        for r in requests:
            out.append(texts[pos : pos + r.n])
            pos += r.n
        return out

    def _generate_batch(self, items: list, sampling: SamplingParams) -> list[Completion]:
        import torch

        req, _, raw, index = items[0]
        if req.seed is not None:
            torch.manual_seed(req.sample_seed(index))
        enc = self.tokenizer(
            [text for _, text, _, _ in items], return_tensors="pt", padding=True, add_special_tokens=raw
        )
        prompt_counts = enc["attention_mask"].sum(dim=1).tolist()  # on the CPU, before the transfer
        enc = enc.to(self.device)
        with torch.inference_mode():
            seqs = self.lm.generate(**enc, **self._generate_kwargs(sampling))
        generated = seqs[:, enc["input_ids"].shape[1] :].cpu().tolist()  # one device->host copy per batch
        lengths = [_generated_length(g, self._eos_ids, self.tokenizer.pad_token_id) for g in generated]
        texts = self.tokenizer.batch_decode(
            [g[:n] for g, (n, _) in zip(generated, lengths)], skip_special_tokens=True
        )
        return [
            self._completion(text, n, eos, prompt_counts[row], sampling)
            for row, (text, (n, eos)) in enumerate(zip(texts, lengths))
        ]

    def _generate_kwargs(self, sampling: SamplingParams) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
            "do_sample": not sampling.greedy,
        }
        if not sampling.greedy:
            # top_k=0 turns off transformers' default top-k of 50, which vLLM and OpenAI do not apply.
            kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k or 0)
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        return kwargs

    @staticmethod
    def _completion(
        text: str, length: int, hit_eos: bool, prompt_tokens: int, sampling: SamplingParams
    ) -> Completion:
        text, hit_stop = truncate_at_stop(text, sampling.stop)
        if hit_eos or hit_stop:
            finish = "stop"
        else:
            finish = "length" if length >= sampling.max_tokens else "stop"
        return Completion(text, int(prompt_tokens), length, finish)


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids = model.generation_config.eos_token_id if model.generation_config is not None else None
    ids = ids if isinstance(ids, list) else [ids]
    return {i for i in [*ids, tokenizer.eos_token_id] if i is not None}


def _generated_length(tokens: list[int], eos_ids: set[int], pad_id: int | None) -> tuple[int, bool]:
    """Tokens actually generated (the EOS counted, as vLLM does); True when generation ended on EOS."""
    for pos, tok in enumerate(tokens):
        if tok in eos_ids:
            return pos + 1, True
    end = len(tokens)
    while end and pad_id is not None and pad_id not in eos_ids and tokens[end - 1] == pad_id:
        end -= 1  # rows stopped by a stop string are padded on the right
    return end, False
