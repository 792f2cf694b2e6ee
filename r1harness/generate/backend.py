"""The backend interface: a batch of requests in, `n` completions per request out.

A backend is any object with `name`, `version`, `model`, `render(prompt) -> str` and
`generate(requests, sampling) -> list[list[Completion]]`. Backends are registered in `BACKENDS`, a plain
dict of name -> "module:Class", imported only when asked for (torch and vllm stay out of `import r1harness`).
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from r1harness.errors import ConfigError, R1HarnessError

Messages = list[dict[str, str]]
Prompt = str | Messages  # raw text, or chat messages the backend renders with its chat template

FINISH_REASONS = ("stop", "length", "error")


class GenerationError(R1HarnessError):
    """A backend could not produce completions (server down after retries, model failed to load)."""


@dataclass(frozen=True)
class SamplingParams:
    """Decoding parameters. Defaults are the DeepSeek-R1 evaluation protocol (T=0.6, top-p 0.95, 32k)."""

    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 32768
    stop: tuple[str, ...] = ()
    top_k: int | None = None

    def __post_init__(self):
        if self.temperature < 0:
            raise ConfigError(f"sampling.temperature must be >= 0 (0 means greedy), got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"sampling.top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise ConfigError(f"sampling.max_tokens must be >= 1, got {self.max_tokens}")
        if self.top_k is not None and self.top_k < 1:
            raise ConfigError(f"sampling.top_k must be >= 1 or null, got {self.top_k}")
        if isinstance(self.stop, str) or not all(isinstance(s, str) and s for s in self.stop):
            raise ConfigError(f"sampling.stop must be a list of non-empty strings, got {self.stop!r}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SamplingParams:
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown sampling key(s) {unknown}; known keys are {sorted(known)}")
        if "stop" in data:
            stop = data["stop"]
            data["stop"] = (stop,) if isinstance(stop, str) else tuple(stop or ())
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON stored with every rollout (and hashed into its id)."""
        out = asdict(self)
        out["stop"] = list(self.stop)
        return out


@dataclass(frozen=True)
class GenerationRequest:
    """`n` samples of one prompt. `sample_indices` says which of the prompt's k samples these are (a
    resumed run asks only for the missing ones); backends that can seed each sample use seed + index."""

    prompt: Prompt
    n: int = 1
    seed: int | None = None
    sample_indices: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.n < 1:
            raise ConfigError(f"a generation request needs n >= 1, got {self.n}")
        if self.sample_indices is not None and len(self.sample_indices) != self.n:
            raise ConfigError(f"sample_indices has {len(self.sample_indices)} entries for n={self.n}")

    @property
    def indices(self) -> tuple[int, ...]:
        return self.sample_indices if self.sample_indices is not None else tuple(range(self.n))

    def sample_seed(self, index: int) -> int | None:
        return None if self.seed is None else self.seed + index


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"  # stop | length | error
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.finish_reason not in FINISH_REASONS:
            raise ValueError(f"finish_reason must be one of {FINISH_REASONS}, not {self.finish_reason!r}")


class Backend(Protocol):
    name: str
    version: str
    model: str

    def render(self, prompt: Prompt) -> str:
        """The exact text the model sees for `prompt` (chat templates applied)."""

    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[list[Completion]]:
        """`requests[i].n` completions for each request, in order."""


BACKENDS: dict[str, str] = {
    "transformers": "r1harness.generate.hf:TransformersBackend",
    "vllm": "r1harness.generate.vllm_backend:VLLMBackend",
    "openai": "r1harness.generate.openai_backend:OpenAIBackend",
    "fake": "r1harness.generate.fake:FakeBackend",
}


def get_backend(name: str, model: str, **options: Any) -> Backend:
    """Construct backend `name` for `model` (a path, hub id, server model name, or fake script)."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
    module_name, attr = BACKENDS[name].split(":")
    cls = getattr(importlib.import_module(module_name), attr)
    return cls(model, **options)


def render_plain(prompt: Prompt) -> str:
    """A backend-independent text form of a prompt (used where no tokenizer is at hand)."""
    if isinstance(prompt, str):
        return prompt
    return "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in prompt) + "<|assistant|>\n"


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """Cut `text` at the first stop string (excluded, as vLLM and OpenAI do); True when one was found."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
