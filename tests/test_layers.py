"""The layering of docs/architecture.md beyond what lint-imports sees, and cheap imports.

lint-imports (run by `make lint`) checks import statements against the contracts in pyproject.toml. A lazy
registry string "r1harness.x.y:attr" is an import it cannot see, so the same layers are checked here.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "r1harness"
TARGET = re.compile(r"^r1harness\.([A-Za-z_][\w.]*):[A-Za-z_]\w*$")
HEAVY = ("torch", "transformers", "trl", "vllm", "ray", "datasets", "matplotlib")


def _layers() -> list[list[str]]:
    """The layers contract, highest first: a list of sibling module names per layer."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    return [[name.strip(" ()") for name in re.split(r"[|:]", layer)] for layer in contract["layers"]]


def _rank(top: str, layers: list[list[str]]) -> int:
    for i, siblings in enumerate(layers):
        if top in siblings:
            return i
    raise AssertionError(f"r1harness.{top} is in no layer of pyproject.toml [tool.importlinter]")


def _registry_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, m.group(1))
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        for m in [TARGET.match(node.value)]
        if m
    ]


def test_registry_strings_point_only_to_the_same_or_a_lower_layer():
    layers = _layers()
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for line, target in _registry_strings(path):
            top = target.split(".")[0]
            if top != source and _rank(top, layers) <= _rank(source, layers):
                bad.append(f"{path.relative_to(REPO)}:{line} -> r1harness.{target}")
    assert not bad, "registry strings pointing up or sideways:\n" + "\n".join(bad)


def test_the_registry_string_check_sees_an_upward_pointer(tmp_path):
    # The check above is only worth something if it finds such strings; this one mimics the old
    # `"pipeline": (..., "r1harness.pipeline.validate:validate_pipeline_file")` in evals/validate.py.
    sample = tmp_path / "validate.py"
    sample.write_text(
        'VALIDATORS = {"pipeline": ("x", "r1harness.pipeline.validate:validate_pipeline_file")}\n'
    )
    layers = _layers()
    [(_, found)] = _registry_strings(sample)
    assert _rank(found.split(".")[0], layers) < _rank("evals", layers)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import r1harness",
        "import r1harness.cli",
        "import r1harness.cli; r1harness.cli.build_parser()",  # every command module is imported here
    ],
)
def test_importing_the_package_and_the_cli_pulls_in_no_heavy_library(code):
    loaded = _modules_after(code)
    heavy = sorted({name.split(".")[0] for name in loaded} & set(HEAVY))
    assert not heavy, f"{code!r} imported {heavy}; import them inside the function that needs them"


def test_the_architecture_page_lists_the_layers_of_the_contract():
    # docs/architecture.md explains the layers; this keeps its table equal to what lint-imports checks
    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = page.split("| layer (high to low)", 1)[1].split("\n\n", 1)[0]
    cells = [re.split(r"(?<!\\)\|", row) for row in table.splitlines()[2:]]  # `\|` is a pipe inside a cell
    documented = [re.findall(r"`([\w.]+)`", row[2]) for row in cells]
    assert documented == _layers()


def _requirement_names() -> set[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(config["dependencies"]) + [
        r for extra in config["optional-dependencies"].values() for r in extra
    ]
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}


def test_every_library_the_package_imports_is_declared():
    from importlib.metadata import packages_distributions

    declared, owners = _requirement_names(), packages_distributions()
    missing = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top in sys.stdlib_module_names or top == "r1harness" or top.startswith("_"):
                    continue
                dists = {d.lower().replace("_", "-") for d in owners.get(top, [top])}
                if not dists & declared:
                    missing.setdefault(top, str(path.relative_to(REPO)))
    assert not missing, f"imported but not in pyproject.toml dependencies or extras: {missing}"
