"""Generation: backends (transformers, vllm, openai, fake) behind one batch-in/batch-out interface,
prompt templates by name@version, and generation into the store's `rollouts` table (resumable).

    from r1harness.generate import SamplingParams, get_backend, generate_rollouts
    backend = get_backend("transformers", "path/to/model")
    generate_rollouts(store, backend, prompts_df, template="r1-math@1", sampling=SamplingParams(), n=4)

Nothing here imports torch or vllm at import time; backends import them when constructed.
"""

from r1harness.generate.backend import (
    BACKENDS,
    Backend,
    Completion,
    GenerationError,
    GenerationRequest,
    SamplingParams,
    get_backend,
)
from r1harness.templates import TEMPLATES, PromptTemplate, get_template

__all__ = [
    "BACKENDS",
    "Backend",
    "Completion",
    "GenerationError",
    "GenerationRequest",
    "SamplingParams",
    "get_backend",
    "TEMPLATES",
    "PromptTemplate",
    "get_template",
    "generate_rollouts",
]


def __getattr__(name: str):
    if name == "generate_rollouts":  # lazy: the runner pulls in polars/pyarrow
        from r1harness.generate.runner import generate_rollouts

        return generate_rollouts
    raise AttributeError(f"module 'r1harness.generate' has no attribute {name!r}")
