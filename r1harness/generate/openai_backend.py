"""The `openai` backend: any OpenAI-compatible server (vLLM serve, SGLang, hosted APIs).

Chat prompts go to /chat/completions, raw text to /completions. Each sample is its own request (with
seed + sample_index), so token counts are per sample and a resumed run reproduces the same seeds. Requests
run `concurrency` at a time; 429, 5xx and connection errors are retried with exponential backoff and
jitter (honouring Retry-After); other 4xx errors fail at once with the server's message. Uses only the
standard library, so no client package is needed.

`extra_body` (like the OpenAI client's argument of that name) is merged into every request, for a server's
own fields (`{"chat_template_kwargs": {...}}`, transformers serve's `generation_config`, SGLang's
`separate_reasoning` ...). Fields r1harness sets from the sampling parameters (temperature, top_p, top_k,
max_tokens, stop, seed, n) cannot be overridden there: they are stored with every rollout and hashed into
its id, and would otherwise misdescribe it. The identity hashed into rollout ids is the backend name, the
server's model id, the base URL and `extra_body`, so rollouts from another server, another model or other
request fields are never reused for this one (nor a local transformers run's for a server's).
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from r1harness import __version__
from r1harness.errors import ConfigError
from r1harness.generate.backend import (
    Completion,
    GenerationError,
    GenerationRequest,
    Prompt,
    SamplingParams,
)
from r1harness.store.ids import canonical_json

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
# Request fields r1harness fills in itself; extra_body may not set them (see the module docstring).
OWN_FIELDS = (
    "model",
    "prompt",
    "messages",
    "n",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
)


class OpenAIBackend:
    name = "openai"
    version = __version__
    options_hint = (
        '; other request fields for the server go in extra_body, e.g. {"extra_body": '
        '{"chat_template_kwargs": {"enable_thinking": true}}}'
    )

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        concurrency: int = 16,
        max_retries: int = 6,
        timeout_s: float = 600.0,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        extra_body: dict | None = None,
    ):
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "http://localhost:8000/v1").rstrip(
            "/"
        )
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"openai backend: base_url must start with http:// or https://, got {self.base_url!r} "
                "(from --base-url or $OPENAI_BASE_URL)"
            )
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        for key, value, low in (("concurrency", concurrency, 1), ("max_retries", max_retries, 0)):
            if value < low:
                raise ConfigError(f"openai backend: {key} must be >= {low}, got {value}")
        if timeout_s <= 0:
            raise ConfigError(f"openai backend: timeout_s must be > 0, got {timeout_s}")
        self.concurrency, self.max_retries, self.timeout_s = concurrency, max_retries, timeout_s
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.extra_body = _check_extra_body({} if extra_body is None else extra_body)
        self.identity = f"{self.name}:{self.model}@{self.base_url}"
        if self.extra_body:
            self.identity += f" {canonical_json(self.extra_body)}"

    def render(self, prompt: Prompt) -> str:
        # The server applies its chat template; we record the messages themselves.
        return prompt if isinstance(prompt, str) else canonical_json(prompt)

    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[list[Completion]]:
        jobs = [(req, index) for req in requests for index in req.indices]
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            flat = list(pool.map(lambda job: self._one(job[0], job[1], sampling), jobs))
        out, pos = [], 0
        for req in requests:
            out.append(flat[pos : pos + req.n])
            pos += req.n
        return out

    def _one(self, req: GenerationRequest, index: int, sampling: SamplingParams) -> Completion:
        body: dict[str, Any] = {
            **self.extra_body,
            "model": self.model,
            "n": 1,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.top_k:
            body["top_k"] = sampling.top_k  # vLLM / SGLang extension
        seed = req.sample_seed(index)
        if seed is not None:
            body["seed"] = seed
        if isinstance(req.prompt, str):
            endpoint, body["prompt"] = "/completions", req.prompt
        else:
            endpoint, body["messages"] = "/chat/completions", req.prompt
        reply = self._post(endpoint, body)
        return _completion(reply)

    def _post(self, endpoint: str, body: dict) -> dict:
        url = self.base_url + endpoint
        data = json.dumps(body).encode("utf-8")
        last_error = ""
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(
                url,
                data=data,
                method="POST",
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
            )
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")[:500]
                if exc.code not in RETRY_STATUS:
                    raise GenerationError(f"{url} answered HTTP {exc.code}: {detail}") from exc
                last_error, retry_after = f"HTTP {exc.code}: {detail}", exc.headers.get("Retry-After")
            except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if attempt < self.max_retries:
                time.sleep(self._delay(attempt, retry_after))
        raise GenerationError(
            f"{url} failed after {self.max_retries + 1} attempts; last error: {last_error}. "
            "Is the server up (check --base-url)?"
        )

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_backoff_s)
            except ValueError:
                pass
        return min(self.backoff_s * 2**attempt, self.max_backoff_s) * (0.5 + random.random() / 2)


def _check_extra_body(extra: Any) -> dict:
    if not isinstance(extra, dict) or not all(isinstance(k, str) for k in extra):
        raise ConfigError(
            f"openai backend: extra_body must be a JSON object of request fields, got {extra!r}"
        )
    own = sorted(set(extra) & set(OWN_FIELDS))
    if own:
        raise ConfigError(
            f"openai backend: extra_body sets {own}, which r1harness sends itself from the sampling "
            "parameters (stored with every rollout and part of its id): use r1h generate --temperature/"
            "--top-p/--top-k/--max-tokens/--stop/--seed/--n (a benchmark spec's sampling for r1h eval); "
            f"extra_body is for other fields, not {list(OWN_FIELDS)}"
        )
    try:
        json.dumps(extra, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"openai backend: extra_body is not JSON-serialisable: {exc}") from None
    return dict(extra)


def _completion(reply: dict) -> Completion:
    try:
        choice = reply["choices"][0]
    except (KeyError, IndexError, TypeError) as exc:
        raise GenerationError(f"server reply has no choices: {str(reply)[:300]}") from exc
    text = choice.get("text")
    if text is None:
        text = (choice.get("message") or {}).get("content") or ""
        reasoning = (choice.get("message") or {}).get("reasoning_content")
        if reasoning:  # servers that split R1's <think> block out of the content
            text = f"<think>\n{reasoning}\n</think>\n{text}"
    usage = reply.get("usage") or {}
    finish = choice.get("finish_reason") or "stop"
    finish = finish if finish in ("stop", "length") else ("stop" if finish == "eos" else "error")
    return Completion(text, usage.get("prompt_tokens"), usage.get("completion_tokens"), finish)
