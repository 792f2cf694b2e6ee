"""The console stays clean: one line or bar per pipeline stage, the libraries' own output (progress bars, raw
log dictionaries, warnings) in the run's log file, all of it on the console as well with -v; and `r1h demo`
writes its report beside its store, never over a clone's committed reports/<name>."""

from __future__ import annotations

import json
import logging
import re
import sys
import warnings
from pathlib import Path

import pytest
import yaml

from r1harness import console
from r1harness.cli import main

REPO = Path(__file__).resolve().parents[1]
SHORT = REPO / "tests" / "fixtures" / "pipeline_short.yaml"
RECIPE = REPO / "tests" / "fixtures" / "pipeline_short_recipe.yaml"
# What the libraries print on their own: the log dicts of transformers' Progress/Printer callbacks, and bars.
RAW_DICT = re.compile(r"\{'(loss|train_runtime|grad_norm)'")
LIBRARY_BARS = ("Loading weights", "Writing model shards", "Tokenizing train dataset", "Adding EOS")
LIBRARY_LINE = re.compile(
    r" (WARNING|INFO|ERROR) (transformers|trl|datasets|accelerate|torch|py\.warnings)\b"
)


@pytest.fixture(autouse=True)
def _quiet_again():
    yield
    console.set_verbosity(0)  # cli.main sets it from -v


def _short_config(tmp_path: Path, stages: list[str], name: str = "short") -> Path:
    """pipeline_short.yaml with a stage subset, its work dir under tmp_path and absolute recipe paths."""
    raw = yaml.safe_load(SHORT.read_text())
    raw.update(name=name, stages=stages, work_dir=str(tmp_path / "work"))
    for stage in ("cold_start", "rejection"):
        raw[stage]["recipe"] = str(RECIPE)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _stage_lines(err: str, stage: str) -> list[str]:
    lines = err.split("\n")
    start = next(i for i, line in enumerate(lines) if re.search(rf"\] {stage}: running$", line))
    end = next(i for i, line in enumerate(lines) if re.search(rf"\] {stage}: finished in ", line))
    return lines[start : end + 1]


def test_pipeline_run_prints_a_line_or_bar_per_stage_and_logs_the_libraries(tmp_path, capfd):
    config = _short_config(tmp_path, ["prompts", "base", "r1zero", "cold_start"])
    argv = ["pipeline", "run", str(config), "--store", str(tmp_path / "store")]
    assert main(argv) == 0
    out, err = capfd.readouterr()
    for text in (out, err):
        assert not RAW_DICT.search(text), text[-3000:]
        assert not [bar for bar in LIBRARY_BARS if bar in text], text[-3000:]
    # stdout holds the result only; stderr a header, then per stage: running, its bar(s), finished + figures
    printed = [line for line in out.splitlines() if line.strip()]
    assert len(printed) == 1 and printed[0].startswith("pipeline run "), out
    for stage in ("prompts", "base", "r1zero", "cold_start"):
        assert len(_stage_lines(err, stage)) <= 4, _stage_lines(err, stage)
    assert re.search(r"r1zero: finished in .* steps=2, rollouts=16", err)
    assert re.search(r"short/r1zero: 100%.*2/2.*reward=", err)  # the one training bar, with its figures
    assert "loss " in _stage_lines(err, "cold_start")[-1]
    log = (tmp_path / "work" / "r1h.log").read_text()
    where = (tmp_path / "work" / "r1h.log").resolve()
    assert f"library output (warnings, progress bars, training logs): {where} (-v shows it here)" in err
    assert re.search(r'short/r1zero step 1: \{"loss": .*"reward"', log)  # the raw log dicts, as JSON
    assert re.search(r'short/cold_start step 2: \{"loss"', log)
    assert LIBRARY_LINE.search(log), log[-3000:]  # the libraries' warnings went there, not to the console
    assert not LIBRARY_LINE.search(err)


def test_verbose_shows_the_library_output_on_the_console_too(tmp_path, capfd):
    config = _short_config(tmp_path, ["prompts", "base"])
    assert main(["-v", "pipeline", "run", str(config), "--store", str(tmp_path / "store")]) == 0
    _, err = capfd.readouterr()
    assert "Loading weights" in err and "Writing model shards" in err  # the libraries' bars are back
    assert re.search(r"INFO r1harness.training_logs: pretrain step 2: \{", err)
    log = (tmp_path / "work" / "r1h.log").read_text()
    assert "pretrain step 2: {" in log  # and in the log file all the same
    assert "(shown here too)" in err


def test_train_sft_prints_its_result_on_stdout_and_one_bar_on_stderr(tmp_path, capfd):
    from r1harness.store import Store

    model, out_dir = tmp_path / "tiny", tmp_path / "sft"
    assert (
        main(["model", "init", "--out", str(model), "--layers", "1", "--hidden", "32", "--heads", "2"]) == 0
    )
    store = Store.open(tmp_path / "store")
    msgs = [{"role": "user", "content": "What is 1 + 1?"}, {"role": "assistant", "content": "2"}]
    rows = [
        {"sample_id": f"s{i}", "set_name": "cold", "set_version": 1, "messages": json.dumps(msgs)}
        for i in range(4)
    ]
    store.append("sft_samples", rows)
    store.catalog_insert("sets", [{"name": "cold", "version": 1, "status": "ready", "n_samples": 4}])
    capfd.readouterr()
    argv = ["train", "sft", "cold@v1", "--store", str(tmp_path / "store"), "--model", str(model)]
    assert main([*argv, "--out", str(out_dir), "--max-steps", "2"]) == 0
    out, err = capfd.readouterr()
    assert json.loads(out)["steps"] == 2  # stdout: the summary, and nothing else
    assert not RAW_DICT.search(err) and not [bar for bar in LIBRARY_BARS if bar in err], err
    assert re.search(r"sft: 100%.*2/2.*loss=", err)
    assert len(err.strip().split("\n")) <= 3, err  # where the log is, and the bar
    assert re.search(r'sft step 2: \{"loss"', (tmp_path / "sft.r1h.log").read_text())
    assert not (out_dir / "r1h.log").exists()  # the model folder holds the model only


def test_demo_writes_its_report_beside_the_store_not_over_committed_reports(tmp_path, capfd, monkeypatch):
    """A clone with a committed reports/tiny: `r1h demo` (a config named tiny) leaves it as it was."""
    committed = tmp_path / "clone" / "reports" / "tiny"
    committed.mkdir(parents=True)
    (committed / "report.md").write_text("the committed report\n")
    config = _short_config(tmp_path, ["prompts", "report"], name="tiny")
    monkeypatch.chdir(tmp_path / "clone")
    assert main(["demo", "--config", str(config), "--store", "r1h-store"]) == 0
    out, _ = capfd.readouterr()
    assert sorted(p.name for p in committed.iterdir()) == ["report.md"]
    assert (committed / "report.md").read_text() == "the committed report\n"
    beside = tmp_path / "clone" / "r1h-store-reports" / "tiny"
    assert (beside / "report.md").exists() and f"report: {(beside / 'report.html').resolve()}" in out
    assert not (tmp_path / "clone" / "runs").exists()  # the work dir is the config's (tmp_path/work)

    # --out puts it where it says (what regenerating the committed report uses)
    assert (
        main(["demo", "--config", str(config), "--store", "r1h-store", "--fresh", "--out", "elsewhere"]) == 0
    )
    assert (tmp_path / "clone" / "elsewhere" / "report.md").exists()
    assert (committed / "report.md").read_text() == "the committed report\n"


def test_the_default_demo_report_folder_is_ignored_by_git():
    import subprocess

    path = "r1h-store-reports/tiny/report.md"
    proc = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO, capture_output=True)
    if proc.returncode == 128:
        pytest.skip("not a git checkout")
    assert proc.returncode == 0, f"{path} is not ignored: add r1h-store-reports/ to .gitignore"


def test_library_output_to_routes_loggers_and_warnings_to_the_file_and_restores_them(tmp_path, capfd):
    lib = logging.getLogger("transformers.some_module")
    root_lib = logging.getLogger("transformers")
    before = (root_lib.handlers[:], root_lib.propagate)
    show = warnings.showwarning
    with console.library_output_to(tmp_path / "r1h.log", verbose=False, announce=False) as path:
        lib.warning("a library warning")
        warnings.warn("a deprecation", FutureWarning, stacklevel=1)
        logging.getLogger(console.TRAIN_LOG).info("step 1: {}")
    _, err = capfd.readouterr()
    text = path.read_text()
    assert "a library warning" in text and "FutureWarning: a deprecation" in text and "step 1: {}" in text
    assert "a library warning" not in err and "a deprecation" not in err and "step 1" not in err
    assert (root_lib.handlers, root_lib.propagate) == before and warnings.showwarning is show

    with console.library_output_to(tmp_path / "r1h.log", verbose=True, announce=False):
        lib.warning("shown twice")
    _, err = capfd.readouterr()
    assert "shown twice" in err and "shown twice" in path.read_text()


def test_library_output_to_switches_the_libraries_bars_off_and_back(tmp_path):
    from transformers.utils import logging as hf_logging

    import datasets

    assert hf_logging.is_progress_bar_enabled()
    with console.library_output_to(tmp_path / "r1h.log", verbose=False, announce=False):
        assert not hf_logging.is_progress_bar_enabled() and datasets.are_progress_bars_disabled()
    assert hf_logging.is_progress_bar_enabled() and not datasets.are_progress_bars_disabled()


def test_importing_the_console_sets_nothing_up():
    import subprocess

    code = (
        "import logging, warnings, sys; show = warnings.showwarning; import r1harness.console; "
        "print(warnings.showwarning is show, logging.getLogger().handlers == [], "
        "'transformers' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["True", "True", "False"]


def test_a_finished_stage_line_carries_its_key_figures():
    from r1harness.pipeline.runner import _figures

    assert _figures({"model": "m", "steps": 2, "rollouts_written": 16}) == "model=m, steps=2, rollouts=16"
    assert _figures({"set": "s@v1", "first_loss": 5.8312, "last_loss": 0.51}) == "set=s@v1, loss 5.83 -> 0.51"
    results = {"base": {"heldout": {"pass@1": 0.08, "cons@8": 0.1}}, "r1zero": {"heldout": {"pass@1": 0.46}}}
    assert _figures({"results": results}) == "pass@1 heldout: base=0.080 r1zero=0.460"
