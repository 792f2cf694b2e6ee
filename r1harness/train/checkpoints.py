"""Checkpoints and final weights that are either whole or absent.

Trainers write a checkpoint or a model folder file by file; a kill in between used to leave a
`checkpoint-N` that every `--resume` then choked on, or a `final/` holding only config.json that the next
pipeline stage loaded. Here every folder is written under a staging name beside its destination and
renamed into place (one atomic rename on a POSIX filesystem), and resuming sets aside, with a message,
whatever an older version or a foreign tool left incomplete.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

from r1harness.store.shards import fsync_path

log = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint-"
STAGING_DIR = ".checkpoint-staging"
SET_ASIDE_DIR = "incomplete-checkpoints"
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


class AtomicCheckpointMixin:
    """For a `transformers.Trainer` subclass: each `checkpoint-N` is written under a staging folder and
    renamed into place, so a kill mid-save leaves the previous checkpoints untouched and no partial one."""

    _r1h_staging: str | None = None

    def _get_output_dir(self, trial):
        # The Trainer builds the checkpoint path from this; during a save it points at the staging folder.
        return self._r1h_staging or super()._get_output_dir(trial)

    def _save_checkpoint(self, model, trial):
        run_dir = Path(super()._get_output_dir(trial))
        staging = run_dir / STAGING_DIR
        shutil.rmtree(staging, ignore_errors=True)
        self._r1h_staging = str(staging)
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._r1h_staging = None
        name = f"{CHECKPOINT_PREFIX}{self.state.global_step}"
        if self.args.should_save:
            _move_into_place(staging / name, run_dir / name)
            shutil.rmtree(staging, ignore_errors=True)
            # rotation ran inside the staging folder (nothing to rotate there): run it where checkpoints live
            from transformers.trainer_utils import rotate_checkpoints

            rotate_checkpoints(
                output_dir=str(run_dir),
                save_total_limit=self.args.save_total_limit,
                best_model_checkpoint=self.state.best_model_checkpoint,
                use_mtime=False,
            )


def save_final(save_model, tokenizer, dest: Path) -> Path:
    """Save a model (`save_model(folder)`: a Trainer's save_model or a model's save_pretrained) and the
    tokenizer to `dest` all-or-nothing; returns dest."""
    dest = Path(dest)
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    save_model(str(partial))
    tokenizer.save_pretrained(str(partial))
    if not model_dir_complete(partial):
        raise RuntimeError(f"saving the model to {partial} left no weights file; nothing was moved to {dest}")
    _move_into_place(partial, dest)
    return dest


def model_dir_complete(path: str | Path) -> bool:
    """A model folder that `from_pretrained` can load: a readable config.json and a weights file."""
    path = Path(path)
    try:
        json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any((path / name).is_file() for name in WEIGHT_FILES)


def checkpoint_complete(path: Path) -> bool:
    """The Trainer writes trainer_state.json last: with it readable and the weights present, it is whole."""
    try:
        json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return model_dir_complete(path)


def checkpoint_step(path: str | Path) -> int:
    return int(Path(path).name.removeprefix(CHECKPOINT_PREFIX))


def newest_complete_checkpoint(out_dir: Path) -> str | None:
    """The newest whole `checkpoint-N` in out_dir. Incomplete ones are moved to `incomplete-checkpoints/`
    (kept for inspection, out of the Trainer's sight) with a message saying so; staging leftovers go."""
    out_dir = Path(out_dir)
    shutil.rmtree(out_dir / STAGING_DIR, ignore_errors=True)
    found = [p for p in out_dir.glob(f"{CHECKPOINT_PREFIX}*") if p.is_dir() and _numbered(p)]
    for path in sorted(found, key=checkpoint_step, reverse=True):
        if checkpoint_complete(path):
            return str(path)
        aside = out_dir / SET_ASIDE_DIR / f"{path.name}-{time.strftime('%Y%m%dT%H%M%S')}"
        aside.parent.mkdir(exist_ok=True)
        path.rename(aside)
        message = (
            f"{path.name} is incomplete (a save was interrupted); moved to {aside} and resuming before it"
        )
        log.warning(message)
        print(f"r1h: warning: {message}", file=sys.stderr)
    return None


def _numbered(path: Path) -> bool:
    return path.name.removeprefix(CHECKPOINT_PREFIX).isdigit()


def _move_into_place(src: Path, dest: Path) -> None:
    """Rename src to dest; an existing dest is first renamed away, then removed (never half-replaced)."""
    _fsync_tree(src)
    old = None
    if dest.exists():
        old = dest.with_name(f"{dest.name}.old-{os.getpid()}")
        dest.rename(old)
    os.replace(src, dest)
    fsync_path(dest.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            fsync_path(path)
    fsync_path(root)
