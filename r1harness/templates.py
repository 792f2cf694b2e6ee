"""Prompt templates by name@version: the one registry that training, generation and evaluation read, so a
template name means one text everywhere.

A template turns a problem into chat messages (rendered by the backend's own chat template) or, when `raw`,
into plain text (base models have no chat template; GRPO and the pretraining corpus use raw templates).
Change a template's wording only by adding a new version: the name@version is hashed into every rollout
id, so old and new rollouts never mix. A bare name is refused so the version is always explicit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from r1harness.errors import ConfigError

Prompt = str | list[dict[str, str]]  # raw text, or chat messages


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: int
    user: str  # str.format template; fields: problem, and any key of the row's metadata
    system: str | None = None
    raw: bool = False  # True: send `user` as plain text, no chat template
    doc: str = ""

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, problem: str, metadata: dict[str, Any] | None = None) -> Prompt:
        fields = {**(metadata or {}), "problem": problem}
        try:
            text = self.user.format(**fields)
        except KeyError as exc:
            raise ConfigError(
                f"template {self.key} needs field {exc} that this prompt row lacks (fields: {sorted(fields)})"
            ) from exc
        if self.raw:
            return text
        messages = [{"role": "system", "content": self.system}] if self.system else []
        return messages + [{"role": "user", "content": text}]

    def around(self) -> tuple[str, str]:
        """(text before, text after) the problem: how a chat template renders a user turn as this prompt."""
        require_raw(self)
        prefix, _, suffix = self.user.partition("{problem}")
        return prefix.format(), suffix.format()


_R1_MATH = "{problem}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
_R1_CODE = (
    "{problem}\n\nWrite a complete Python 3 program that reads from standard input and writes to "
    "standard output. Think step by step, then give the final program in one ```python code block."
)
_HUMANEVAL = (
    "Complete the following Python function. Give the whole function, including the signature, in "
    "one ```python code block.\n\n```python\n{problem}```"
)
_R1_ZERO = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves "
    "it. The assistant first thinks about the reasoning process in the mind and then provides the "
    "user with the answer. The reasoning process and answer are enclosed within <think> </think> and "
    "<answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> "
    "answer here </answer>. User: {problem}. Assistant:"
)

TEMPLATES: dict[str, PromptTemplate] = {
    t.key: t
    for t in (
        PromptTemplate("r1-math", 1, _R1_MATH, doc="DeepSeek-R1's math evaluation prompt (chat)"),
        PromptTemplate("r1-code", 1, _R1_CODE, doc="stdin/stdout programming problem (chat)"),
        PromptTemplate("humaneval", 1, _HUMANEVAL, doc="complete a Python function (chat)"),
        PromptTemplate(
            "r1-zero", 1, _R1_ZERO, raw=True, doc="the R1-Zero template, paper Table 1 (raw text)"
        ),
        PromptTemplate("plain", 1, "{problem}", raw=True, doc="the problem as is (raw text)"),
        PromptTemplate("chat", 1, "{problem}", doc="the problem as one user message (chat)"),
        PromptTemplate(
            "user-assistant",
            1,
            "User: {problem}. Assistant:",
            raw=True,
            doc="R1-Zero's layout without its instruction (raw text; the tiny configs)",
        ),
        PromptTemplate(
            "qa",
            1,
            "Question: {problem}\nAnswer:",
            raw=True,
            doc="lm-eval's zero-shot gsm8k layout (raw text), for side-by-side checks",
        ),
    )
}

# Names the training side used before there was one registry: `plain` meant "User: {prompt}. Assistant:"
# there and "{problem}" here, so an old name is refused with its new one rather than silently re-read.
RENAMED = {
    "r1zero": "r1-zero@1",
    "r1zero@1": "r1-zero@1",
    "plain": 'user-assistant@1 (the former training `plain`, "User: {problem}. Assistant:") or plain@1 '
    '(the problem as is, "{problem}")',
}


def get_template(key: str) -> PromptTemplate:
    """Look up `name@version`."""
    if key in TEMPLATES:
        return TEMPLATES[key]
    if key in RENAMED:
        raise ConfigError(f"template {key!r} is now named {RENAMED[key]}")
    if "@" not in str(key):
        versions = [k for k in TEMPLATES if k.split("@")[0] == key]
        if versions:
            raise ConfigError(f"template {key!r} needs a version: use one of {versions}")
    raise ConfigError(f"unknown template {key!r}; known templates are {sorted(TEMPLATES)}")


def require_raw(template: PromptTemplate) -> PromptTemplate:
    if not template.raw:
        raw = sorted(k for k, t in TEMPLATES.items() if t.raw)
        raise ConfigError(
            f"template {template.key} renders chat messages; training prompts and the pretraining corpus "
            f"need a raw-text template: one of {raw}"
        )
    return template


def text_template(key: str) -> PromptTemplate:
    """A raw-text template (what GRPO prompts, the corpus and tiny models' chat templates are built from)."""
    return require_raw(get_template(key))


def render_text(key: str, problem: str) -> str:
    """The raw prompt text of `problem` under template `key`."""
    return text_template(key).render(problem)  # type: ignore[return-value]


__all__ = [
    "TEMPLATES",
    "Prompt",
    "PromptTemplate",
    "get_template",
    "render_text",
    "require_raw",
    "text_template",
]
