"""Helpers shared by command modules: the --store option, examples in --help, output formats, overrides.

The CLI's conventions live here so every command follows them:
- every command's --help ends with an example (`add_command`);
- a command that lists or reports takes `--format table|csv|json|parquet` (`add_format_args`, `emit`,
  `emit_summary`); a command that does a job (generate, train, model init, import) prints one JSON line
  saying what it did;
- config overrides are `--set KEY=VALUE`, repeatable (`add_set_arg`);
- an old spelling stays for a while as a hidden alias that prints a deprecation warning.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from r1harness.errors import ConfigError
from r1harness.store import Store

FORMATS = ("table", "csv", "json", "parquet")


def add_command(sub, name: str, *, help: str, example: str, description: str | None = None):
    """Add a subcommand whose --help ends with an example."""
    return sub.add_parser(
        name,
        help=help,
        description=description or help,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_deprecated_command(sub, old: str, new: str, register) -> None:
    """`r1h OLD ...` keeps working, unlisted in --help, and warns to use `r1h NEW ...`.

    `register(parser)` adds the same arguments as the new command's parser, so both parse alike."""
    parser = sub.add_parser(  # no help=: argparse leaves it out of the command list
        old,
        description=f"deprecated: use `r1h {new}`",
        epilog=f"example:\n  r1h {new} --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    register(parser)
    parser.set_defaults(deprecated=(f"r1h {old}", f"r1h {new}"))


def warn_deprecated(old: str, new: str) -> None:
    print(f"r1h: warning: {old} is deprecated and will be removed; use {new}", file=sys.stderr)


def add_store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default=None,
        metavar="PATH",
        help="store directory (default: $R1H_STORE, else ./r1h-store)",
    )


def open_store(args, *, create: bool = True, readonly: bool = False):
    """The --store of a command; commands that only read pass readonly=True (no store is ever created)."""
    return Store.open(args.store, create=create, readonly=readonly)


def add_format_args(
    parser: argparse.ArgumentParser,
    *,
    default: str = "table",
    extra: Sequence[str] = (),
    out_flag: str | None = "--out",
    json_alias: str | None = None,
) -> None:
    """`--format table|csv|json|parquet` (plus `extra` ones such as md) and `--out FILE`.

    `out_flag=None` when the command already has an --out of its own meaning (the file to write to is then
    that command's business); `json_alias` keeps an old `--json` switch as a hidden deprecated alias of
    that format ("json"; "jsonl" where --json printed one object a line)."""
    choices = (*FORMATS, *extra)
    parser.add_argument(
        "--format",
        choices=choices,
        default=default,
        help=f"output format: {' | '.join(choices)} (default {default}; parquet needs {out_flag or '--out'})",
    )
    if out_flag:
        parser.add_argument(out_flag, default=None, metavar="FILE", help="write to FILE instead of stdout")
    if json_alias:
        parser.add_argument(
            "--json", action=_DeprecatedConst, dest="format", const=json_alias, help=argparse.SUPPRESS
        )


def add_set_arg(parser: argparse.ArgumentParser, *, help: str | None = None) -> None:
    """`--set KEY=VALUE`, repeatable, into `args.set`; `-o/--option` is its deprecated spelling."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=help or "override a config key (dotted for nesting: trl.learning_rate=1e-5); repeatable",
    )
    parser.add_argument(
        "-o", "--option", action=_DeprecatedAppend, dest="set", replacement="--set", help=argparse.SUPPRESS
    )


def add_deprecated_option(parser: argparse.ArgumentParser, flag: str, *, dest: str, replacement: str) -> None:
    """An old option that still sets `dest`, unlisted in --help, with a warning to use `replacement`."""
    parser.add_argument(
        flag, action=_DeprecatedStore, dest=dest, replacement=replacement, help=argparse.SUPPRESS
    )


class _DeprecatedStore(argparse.Action):
    def __init__(self, option_strings, dest, replacement: str, **kwargs):
        self.replacement = replacement
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        warn_deprecated(option_string, self.replacement)
        setattr(namespace, self.dest, values)


class _DeprecatedConst(argparse.Action):
    """A switch that stores `const` (like store_const) and warns that it is deprecated."""

    def __init__(self, option_strings, dest, const=None, **kwargs):
        super().__init__(option_strings, dest, nargs=0, const=const, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        warn_deprecated(option_string, f"--{self.dest} {self.const.removesuffix('l')}")
        setattr(namespace, self.dest, self.const)


class _DeprecatedAppend(argparse.Action):
    """An option that appends to another option's list (like action="append") and warns."""

    def __init__(self, option_strings, dest, replacement: str, **kwargs):
        self.replacement = replacement
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        warn_deprecated(option_string, self.replacement)
        items = list(getattr(namespace, self.dest, None) or [])
        setattr(namespace, self.dest, [*items, values])


def emit(data: Any, fmt: str, out: str | None = None, *, out_flag: str = "--out") -> None:
    """Write rows as a table, CSV, JSON (a list of objects) or Parquet.

    `data` is a polars DataFrame, a list of dicts (one per row) or one dict (one row). Parquet is binary,
    so it needs `out`. Nested values (lists, dicts) stay nested in JSON and Parquet and become JSON text in
    CSV."""
    import polars as pl

    df = data if isinstance(data, pl.DataFrame) else _frame(data)
    if fmt == "parquet":
        if not out:
            raise ConfigError(f"--format parquet writes a binary file: give {out_flag} FILE")
        df.write_parquet(out)
        print(f"wrote {df.height} rows to {out}", file=sys.stderr)
        return
    if fmt == "csv":
        text = _json_encode_nested(df).write_csv()
    elif fmt == "json":
        text = json.dumps(df.to_dicts(), default=str, ensure_ascii=False, indent=1) + "\n"
    elif fmt in ("table", "md"):
        text = _table(df, markdown=fmt == "md")
    else:
        raise ConfigError(f"unknown output format {fmt!r}; formats are {', '.join(FORMATS)}")
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {df.height} rows to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def emit_summary(
    summary: Mapping[str, Any], fmt: str, out: str | None = None, *, text: str = "", out_flag: str = "--out"
) -> None:
    """A command's summary: `text` (the human lines) for table, the object itself for json, and one row
    (nested keys joined with dots: counts.correct) for csv and parquet."""
    if fmt == "table":
        print(text)
    elif fmt in ("json", "jsonl"):  # jsonl: one object a line, for a command that prints several
        line = json.dumps(summary, default=str, ensure_ascii=False)
        if out:
            Path(out).write_text(line + "\n", encoding="utf-8")
        else:
            print(line)
    else:
        emit(_flatten(summary), fmt, out, out_flag=out_flag)


def _flatten(summary: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in summary.items():
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _frame(data):
    import polars as pl

    rows = [data] if isinstance(data, Mapping) else list(data)
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def _table(df, *, markdown: bool) -> str:
    import polars as pl

    if markdown:
        style = {"tbl_formatting": "MARKDOWN", "fmt_str_lengths": 80}
    else:
        style = {"fmt_str_lengths": 60, "tbl_width_chars": 160}
    with pl.Config(
        tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True, **style
    ):
        return str(df) + "\n"


def _json_encode_nested(df):
    """CSV has no lists or structs: such columns (e.g. `list(...)` in a query) are written as JSON text."""
    import polars as pl

    nested = [name for name, dtype in df.schema.items() if dtype.is_nested()]
    return df.with_columns(
        pl.Series(
            name,
            [
                None if v is None else json.dumps(v, default=str, ensure_ascii=False)
                for v in df[name].to_list()
            ],
            dtype=pl.String,
        )
        for name in nested
    )


def add_executor_args(parser: argparse.ArgumentParser) -> None:
    """`--executor local|ray` and the Ray cluster's address, for the commands whose work fans out."""
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: chunks on a running Ray cluster (README: Past one machine)",
    )
    parser.add_argument(
        "--ray-address",
        default="auto",
        metavar="ADDR",
        help="ray: the cluster (default auto: the running one)",
    )
    parser.add_argument(
        "--ray-workers", type=int, default=None, metavar="N", help="ray: actors (default: its CPUs)"
    )
    parser.add_argument(
        "--ray-max-in-flight",
        type=int,
        default=None,
        metavar="N",
        help="ray: requests in flight across the cluster, shared by the workers (code verification's "
        "sandbox requests; the openai backend's requests to its server)",
    )


def executor_config(args):
    from r1harness.executors import ExecutorConfig

    return ExecutorConfig(
        args.executor,
        address=args.ray_address,
        workers=args.ray_workers,
        max_in_flight=args.ray_max_in_flight,
    )
