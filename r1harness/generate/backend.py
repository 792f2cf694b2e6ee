"""The backend interface: a batch of requests in, `n` completions per request out.

A backend is any object with `name`, `version`, `model`, `identity`, `render(prompt) -> str` and
`generate(requests, sampling) -> list[list[Completion]]`. Backends are registered in `BACKENDS`, a plain
dict of name -> "module:Class", imported only when asked for (torch and vllm stay out of `import r1harness`).
`get_backend` checks the options against the class's constructor, so a bad key is named, not a TypeError.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from r1harness.configs import check_keys, field_names, unknown_keys_error
from r1harness.errors import ConfigError, R1HarnessError
from r1harness.resolve import resolve

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
        check_keys(data, field_names(cls), "", noun="sampling key(s)", label="known keys are")
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
    model: str  # what the rollouts' `model` column says (a path, hub id or server model name)
    # What made the completions, hashed into every rollout id in place of `model` (backend_identity()):
    # default_identity (the transformers backend keeps the bare model, so stores made before still
    # resume; others prefix their name); the openai backend adds its base URL and extra_body.
    identity: str

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
    return check_backend_options(name, options)(model, **options)


def default_identity(name: str, model: str) -> str:
    """`name:model`; the bare model for the transformers backend (its ids from before identities)."""
    return str(model) if name == "transformers" else f"{name}:{model}"


def backend_identity(backend: Backend) -> str:
    """The string hashed into rollout ids: the backend's `identity`, else (a wrapper or third-party
    backend without one) default_identity of its name and model."""
    return str(getattr(backend, "identity", None) or default_identity(backend.name, backend.model))


# Sampling belongs to SamplingParams: it is stored with every rollout and hashed into its id.
SAMPLING_HINT = (
    "; sampling settings are not backend options: use r1h generate --temperature/--top-p/--top-k/"
    "--max-tokens/--stop (SamplingParams in Python, a benchmark spec's sampling for r1h eval)"
)


def check_backend_options(name: str, options: Mapping[str, Any]) -> Callable:
    """Backend `name`'s class, once `options` fit its constructor: else a ConfigError naming the unknown
    option (listing the valid ones) or the one of the wrong type. Builds nothing (no model is loaded)."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
    cls = resolve(BACKENDS[name], what=f"backend {name!r}")
    if not isinstance(options, Mapping):
        raise ConfigError(f"backend {name!r}: options must be a mapping (a JSON object), got {options!r}")
    params = list(inspect.signature(cls).parameters.values())[1:]  # [0] is the model
    valid = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params)  # e.g. vLLM's engine kwargs
    unknown = set(options) - valid
    if unknown and not takes_any:
        sampling = unknown & field_names(SamplingParams)
        hint = (SAMPLING_HINT if sampling else "") + getattr(cls, "options_hint", "")
        raise unknown_keys_error(
            f"backend {name!r}", unknown, valid, noun="option(s)", label="valid options are", hint=hint
        )
    try:
        hints = typing.get_type_hints(cls.__init__)
    except (NameError, TypeError):  # an annotation that does not resolve: nothing to check against
        return cls
    for key, value in options.items():
        if key in hints and not _is_instance(value, hints[key]):
            raise ConfigError(
                f"backend {name!r} option {key!r} must be {_type_name(hints[key])}, got {value!r}"
            )
    return cls


def _arms(hint: Any) -> tuple:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def _is_instance(value: Any, hint: Any) -> bool:
    for arm in _arms(hint):
        kind = typing.get_origin(arm) or arm
        if arm is Any or (arm is type(None) and value is None):
            return True
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if kind is int and isinstance(value, bool):
            continue
        if not isinstance(kind, type) or isinstance(value, kind):
            return True
    return False


def _type_name(hint: Any) -> str:
    names = [getattr(typing.get_origin(a) or a, "__name__", str(a)) for a in _arms(hint)]
    return " or ".join("null" if n == "NoneType" else n for n in names)


def check_model_path(model: str, backend: str) -> None:
    """ConfigError when `model` names a local folder that does not exist.

    A hub id is `name` or `org/name`; anything else with a path separator, a leading `.`, `/` or `~`, or
    whose first folder exists here is meant as a local path, and the hub's "Repo id must be in the form"
    would only confuse."""
    path = Path(model).expanduser()
    if path.exists():
        return
    parts = model.replace("\\", "/").split("/")
    looks_local = (
        model.startswith((".", "/", "~"))
        or "\\" in model
        or len(parts) > 2
        or (len(parts) == 2 and Path(parts[0]).expanduser().is_dir())
    )
    if looks_local:
        raise ConfigError(
            f"{backend} backend: model folder {model!r} does not exist (looked in {path.absolute()}); "
            "pass an existing model folder, or a hub id such as org/name"
        )


def render_plain(prompt: Prompt) -> str:
    """A backend-independent text form of a prompt (used where no tokenizer is at hand)."""
    if isinstance(prompt, str):
        return prompt
    return "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in prompt) + "<|assistant|>\n"


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """Cut `text` at the first stop string (excluded, as vLLM and OpenAI do); True when one was found."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
