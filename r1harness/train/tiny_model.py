"""Tiny-model kit: a locally trained byte-level BPE tokenizer and a small causal LM from config.

Nothing is downloaded: the tokenizer is trained on a corpus (by default the synthetic pretraining corpus)
and the model is randomly initialised from a Qwen2 or Llama config, then both are saved with
`save_pretrained`, so `AutoTokenizer/AutoModelForCausalLM.from_pretrained(dir)` load them like any hub model.

Tokenizer choices: digits are split one per token (arithmetic is learnable), and
`<think>`, `</think>`, `<answer>`, `</answer>` are added as NON-special tokens, because TRL decodes
completions with `skip_special_tokens=True` and special ones would vanish before the rewards see them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from r1harness.errors import ConfigError

EOS, PAD, IM_START, IM_END = "<|endoftext|>", "<|pad|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = (EOS, PAD, IM_START, IM_END)
FORMAT_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")

# Qwen-style ChatML; {% generation %} marks assistant text so SFTTrainer can train on completions only.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}"
    "{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

ARCHS = ("qwen2", "llama")


@dataclass(frozen=True)
class TinyModelConfig:
    arch: str = "qwen2"
    layers: int = 4
    hidden: int = 128
    heads: int = 4
    kv_heads: int | None = None
    intermediate: int | None = None  # default 4 * hidden
    vocab_size: int = 512
    max_positions: int = 1024
    seed: int = 0

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ConfigError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if self.hidden % self.heads:
            raise ConfigError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        if self.kv_heads is not None and self.heads % self.kv_heads:
            raise ConfigError(f"heads ({self.heads}) must be divisible by kv_heads ({self.kv_heads})")
        if self.vocab_size < 300:
            raise ConfigError(
                f"vocab_size must be >= 300 (256 bytes + special tokens), got {self.vocab_size}"
            )
        if self.layers < 1:
            raise ConfigError(f"layers must be >= 1, got {self.layers}")


def init_tiny_model(
    out_dir,
    *,
    arch: str = "qwen2",
    layers: int = 4,
    hidden: int = 128,
    heads: int = 4,
    vocab_size: int = 512,
    corpus: list[str] | None = None,
    seed: int = 0,
    **extra,
) -> Path:
    """Build and save a tokenizer + randomly initialised causal LM in `out_dir`; returns the path."""
    cfg = TinyModelConfig(
        arch=arch, layers=layers, hidden=hidden, heads=heads, vocab_size=vocab_size, seed=seed, **extra
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if corpus is None:
        from r1harness.tasks.corpus import pretraining_corpus

        corpus = pretraining_corpus(2000, seed, tasks={"arithmetic": {"digits": 3}, "countdown": {}})
    tokenizer = build_tokenizer(corpus, cfg.vocab_size)
    model = build_model(cfg, tokenizer)
    tokenizer.save_pretrained(out)
    model.save_pretrained(out)
    (out / "r1h_tiny_model.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")
    return out


def build_tokenizer(corpus: list[str], vocab_size: int):
    """Byte-level BPE trained on `corpus`, digits split individually, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if not corpus:
        raise ConfigError("the tokenizer corpus is empty; pass some text (or corpus=None for the default)")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(FORMAT_TOKENS),
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=None,
        model_max_length=1024,
        padding_side="left",
    )
    fast.add_tokens(list(FORMAT_TOKENS), special_tokens=False)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(cfg: TinyModelConfig, tokenizer):
    """A randomly initialised causal LM sized by `cfg`, with the tokenizer's vocabulary and ids."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        num_key_value_heads=cfg.kv_heads or cfg.heads,
        intermediate_size=cfg.intermediate or 4 * cfg.hidden,
        max_position_embeddings=cfg.max_positions,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    config = Qwen2Config(**common) if cfg.arch == "qwen2" else LlamaConfig(**common)
    torch.manual_seed(cfg.seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
