"""Prompt templates by name.

`r1zero` is the DeepSeek-R1-Zero template (paper, Table 1) used on base models.
"""

from __future__ import annotations

from r1harness.errors import ConfigError

R1ZERO = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with "
    "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
    "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
    "</answer>. User: {prompt}. Assistant:"
)

# name@version -> text with a {prompt} slot. Plain-text templates: base models have no chat template.
TEMPLATES: dict[str, str] = {
    "r1zero@1": R1ZERO,
    "plain@1": "User: {prompt}. Assistant:",
}


def render(template: str, problem: str) -> str:
    return resolve(template).format(prompt=problem)


def resolve(template: str) -> str:
    """Template text for a name (`r1zero` means its latest version, `r1zero@1` pins one)."""
    name = template if "@" in template else _latest(template)
    if name not in TEMPLATES:
        raise ConfigError(f"unknown template {template!r}; templates are {sorted(TEMPLATES)}")
    return TEMPLATES[name]


def _latest(name: str) -> str:
    versions = [k for k in TEMPLATES if k.split("@")[0] == name]
    return max(versions, key=lambda k: int(k.split("@")[1])) if versions else name
