"""A scripted backend for tests and dry runs: no model, deterministic output.

The script is one of:
- a callable `(rendered_prompt, sample_index) -> str`;
- a dict `{substring: [completions...]}`: the first key found in the rendered prompt picks the list, and
  sample i gets item i modulo its length; `default` answers prompts no key matches;
- a path to a JSON file `{"responses": {substring: [...]}, "default": "..."}` (what `r1h --backend fake
  --model script.json` reads);
- "echo": answers every prompt with its own last line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from r1harness import __version__
from r1harness.errors import ConfigError
from r1harness.generate.backend import (
    Completion,
    GenerationRequest,
    Prompt,
    SamplingParams,
    default_identity,
    render_plain,
)

Script = Callable[[str, int], str] | dict | str


class FakeBackend:
    name = "fake"
    version = __version__

    def __init__(self, model: Script = "echo", *, default: str | None = None, script: Script | None = None):
        script = script if script is not None else model
        self.model = model if isinstance(model, str) else "fake"
        self.identity = default_identity(self.name, self.model)
        self.calls: list[int] = []  # batch sizes seen, for tests of batching and resumption
        self._fn = _compile(script, default)

    def render(self, prompt: Prompt) -> str:
        return render_plain(prompt)

    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[list[Completion]]:
        self.calls.append(len(requests))
        out = []
        for req in requests:
            text = self.render(req.prompt)
            out.append([self._complete(text, i, sampling) for i in req.indices])
        return out

    def _complete(self, prompt_text: str, index: int, sampling: SamplingParams) -> Completion:
        text = self._fn(prompt_text, index)
        words = text.split()
        finish = "stop"
        if len(words) > sampling.max_tokens:  # a "token" is a word here
            text, finish = " ".join(words[: sampling.max_tokens]), "length"
        return Completion(text, len(prompt_text.split()), min(len(words), sampling.max_tokens), finish)


def _compile(script: Script, default: str | None) -> Callable[[str, int], str]:
    if callable(script):
        return script
    if isinstance(script, str) and script == "echo":
        return lambda prompt, i: prompt.strip().splitlines()[-1] if prompt.strip() else ""
    if isinstance(script, str):
        path = Path(script)
        if not path.is_file():
            raise ConfigError(f"fake backend: {script!r} is neither 'echo' nor a JSON script file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"fake backend script {path}: invalid JSON at line {exc.lineno}: {exc.msg}"
            ) from exc
        return _compile(data.get("responses", {}), data.get("default", default))
    if isinstance(script, dict):
        return _lookup_table(script, default)
    raise ConfigError(f"fake backend script must be a callable, dict, JSON path or 'echo', not {script!r}")


def _lookup_table(script: dict, default: str | None) -> Callable[[str, int], str]:
    """First response list whose key occurs in the prompt; the index-th item, cycling."""
    table = {k: [v] if isinstance(v, str) else list(v) for k, v in script.items()}
    for key, items in table.items():
        if not items:
            raise ConfigError(f"fake backend script: responses for {key!r} are empty")

    def lookup(prompt: str, index: int) -> str:
        for key, items in table.items():
            if key in prompt:
                return items[index % len(items)]
        if default is None:
            raise ConfigError(
                f"fake backend script has no response for prompt {prompt[:80]!r} and no default"
            )
        return default

    return lookup
