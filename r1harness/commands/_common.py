"""Helpers shared by command modules: the --store option, examples in --help, output formats."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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


def add_store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default=None,
        metavar="PATH",
        help="store directory (default: $R1H_STORE, else ./r1h-store)",
    )


def open_store(args, *, create: bool = True):
    from r1harness.store import Store

    return Store.open(args.store, create=create)


def add_format_args(
    parser: argparse.ArgumentParser, *, default: str = "table", formats: tuple[str, ...] = FORMATS
) -> None:
    parser.add_argument(
        "--format", choices=formats, default=default, help=f"output format (default {default})"
    )
    parser.add_argument("--out", default=None, metavar="FILE", help="write to FILE instead of stdout")


def emit(df, fmt: str, out: str | None = None) -> None:
    """Write a polars DataFrame as a table, CSV, JSON (list of objects) or Parquet."""
    import polars as pl

    if fmt == "parquet":
        if not out:
            raise SystemExit("--format parquet needs --out FILE")
        df.write_parquet(out)
        print(f"wrote {df.height} rows to {out}", file=sys.stderr)
        return
    if fmt == "csv":
        text = _json_encode_nested(df).write_csv()
    elif fmt == "json":
        text = json.dumps(df.to_dicts(), default=str, ensure_ascii=False, indent=1) + "\n"
    elif fmt == "md":
        with pl.Config(
            tbl_formatting="MARKDOWN",
            tbl_hide_dataframe_shape=True,
            tbl_rows=-1,
            tbl_cols=-1,
            fmt_str_lengths=80,
            tbl_hide_column_data_types=True,
        ):
            text = str(df) + "\n"
    else:
        with pl.Config(
            tbl_rows=-1,
            tbl_cols=-1,
            fmt_str_lengths=60,
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
            tbl_width_chars=160,
        ):
            text = str(df) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {df.height} rows to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


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
