"""The console: a line or a bar per stage on stderr, results on stdout, and the libraries' own output in the
run's log file.

A tiny pipeline stage used to print hundreds of lines: TRL's and datasets' progress bars ("Loading weights",
"Writing model shards", "Tokenizing train dataset"), the raw log dictionaries transformers' Progress/Printer
callbacks print at every logging step, and deprecation warnings. Here:

- `library_output_to(log_path)`: while active, the loggers of transformers, trl, datasets, accelerate, torch
  and huggingface_hub, Python warnings and the trainers' log dictionaries go to `log_path` (appended); the
  libraries' progress bars are off. With `-v` (`set_verbosity`, called by the CLI) all of it shows on the
  console as well, bars included. Everything is put back on exit.
- `use_training_bar(trainer, desc)`: the trainers r1harness builds show one tqdm bar per training run on
  stderr with loss/reward, instead of transformers' ProgressCallback/PrinterCallback.

The CLI decides (logging is configured there only); nothing here runs at import.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

LIBRARY_LOGGERS = ("transformers", "trl", "datasets", "accelerate", "torch", "huggingface_hub", "py.warnings")
TRAIN_LOG = "r1harness.training_logs"  # the trainers' log dictionaries, one line per logging step
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The figures a training bar shows, in this order, when a logging step has them.
BAR_FIGURES = ("loss", "reward", "mean_token_accuracy")

_settings = {"verbosity": 0, "training_bars": True}


def set_verbosity(level: int) -> None:
    """The CLI's -v count: 0 keeps library output in the log file only, >= 1 shows it on the console too."""
    _settings["verbosity"] = int(level)


def verbosity() -> int:
    return _settings["verbosity"]


@contextlib.contextmanager
def library_output_to(
    log_path: str | Path, verbose: bool | None = None, *, announce: bool = True, training_bars: bool = True
) -> Iterator[Path]:
    """Send the libraries' logging, warnings and training log dictionaries to `log_path` (appended), and
    switch their progress bars off; `verbose` (default: the CLI's -v) keeps all of it on the console too.
    `announce` says where the log is, in one line on stderr; `training_bars=False` (--quiet) hides the
    trainers' bars as well."""
    verbose = verbosity() > 0 if verbose is None else verbose
    path = Path(log_path).resolve()
    if announce:
        shown = "shown here too" if verbose else "-v shows it here"
        print(f"library output (warnings, progress bars, training logs): {path} ({shown})", file=sys.stderr)
    _configure_library_loggers()  # each library adds its own stderr handler on first import: do it first
    handler = _RunLog(path)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    targets: list[logging.Handler] = [handler]
    if verbose:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter(LOG_FORMAT))
        targets.append(console)
    saved = []
    for name in (*LIBRARY_LOGGERS, TRAIN_LOG):
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate, logger.level))
        logger.handlers, logger.propagate = list(targets), False
    logging.getLogger(TRAIN_LOG).setLevel(logging.INFO)
    show = warnings.showwarning
    warnings.showwarning = _warning_to_log
    bars = _progress_bars_off() if not verbose else contextlib.nullcontext()
    bars_before = _settings["training_bars"]
    _settings["training_bars"] = training_bars
    try:
        with bars:
            yield path
    finally:
        _settings["training_bars"] = bars_before
        warnings.showwarning = show
        for logger, handlers, propagate, level in saved:
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)
        handler.close()


class _RunLog(logging.FileHandler):
    """Appends to the run's log, creating it (its folder, and a header line per command) at the first
    record: a command refused before it starts (a bad config) leaves no file behind."""

    def __init__(self, path: Path):
        super().__init__(path, mode="a", encoding="utf-8", delay=True)

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        stream = super()._open()
        stream.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv)}\n")
        return stream


def _warning_to_log(message, category, filename, lineno, file=None, line=None) -> None:
    text = warnings.formatwarning(message, category, filename, lineno, line).rstrip()
    logging.getLogger("py.warnings").warning(text)


def _configure_library_loggers() -> None:
    for module in ("transformers.utils.logging", "datasets.utils.logging", "huggingface_hub.utils.logging"):
        with contextlib.suppress(ImportError):
            __import__(module)
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as hf_logging

        hf_logging.get_logger("transformers")  # configures its root logger lazily


@contextlib.contextmanager
def _progress_bars_off() -> Iterator[None]:
    """transformers' (which also switches huggingface_hub's) and datasets' bars off; back as they were."""
    restore = []
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as hf_logging

        if hf_logging.is_progress_bar_enabled():
            hf_logging.disable_progress_bar()
            restore.append(hf_logging.enable_progress_bar)
    with contextlib.suppress(ImportError):
        import datasets.utils as ds_utils

        if not ds_utils.are_progress_bars_disabled():
            ds_utils.disable_progress_bars()
            restore.append(ds_utils.enable_progress_bars)
    try:
        yield
    finally:
        for enable in restore:
            enable()


def use_training_bar(trainer, desc: str) -> None:
    """Replace transformers' printing callbacks on `trainer` with one compact bar (stderr) whose postfix shows
    the latest loss/reward; every log dictionary goes to the `TRAIN_LOG` logger (the run's log file)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(_bar_callback(desc))


def _bar_callback(desc: str):
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    log = logging.getLogger(TRAIN_LOG)

    class TrainingBar(TrainerCallback):
        bar = None

        def __init__(self):
            self.figures: dict[str, float] = {}

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero and not args.disable_tqdm and _settings["training_bars"]:
                interactive = sys.stderr.isatty()
                self.bar = tqdm(
                    total=state.max_steps,
                    initial=state.global_step,
                    desc=desc,
                    unit="step",
                    file=sys.stderr,
                    dynamic_ncols=interactive,
                    mininterval=0.5 if interactive else 30,  # a log file gets few redraws
                )

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            log.info("%s step %d: %s", desc, state.global_step, json.dumps(logs, default=str))
            figures = {k: logs[k] for k in BAR_FIGURES if isinstance(logs.get(k), (int, float))}
            if "loss" not in self.figures and isinstance(logs.get("train_loss"), (int, float)):
                figures["loss"] = logs["train_loss"]  # the closing summary, when no step was logged
            self.figures.update(figures)
            if self.bar is not None and figures:
                self.bar.set_postfix({k: f"{v:.4g}" for k, v in self.figures.items()}, refresh=False)

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    return TrainingBar()
