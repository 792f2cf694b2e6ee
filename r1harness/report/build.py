"""`build_report`: Markdown + self-contained HTML from SQL over the store.

Every section is one query (`queries.py`) whose result is drawn (`plots.py`) and/or tabulated. Next to the
report the builder writes, per section, `<name>.sql` (the query verbatim), `<name>.csv` (its result) and
`<name>.png` (the figure); the HTML embeds the PNGs as base64 so the page is one file a user can mail.
Nothing is hand-edited: rerunning `r1h report` regenerates everything from the store.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from dataclasses import dataclass, field
from pathlib import Path

from r1harness.evals.leaderboard import column_labels, format_number, row_cell
from r1harness.report import plots
from r1harness.report.findings import findings
from r1harness.report.queries import query


@dataclass(frozen=True)
class SectionSpec:
    name: str
    title: str
    caption: str
    table: str | None = None  # "raw" | "metrics" (model x metric cells with CIs) | None (figure only)


SECTIONS = (
    SectionSpec(
        "stages",
        "Pipeline stages",
        "Status, wall time and CPU time (all threads) of every stage of "
        "the run: on a shared machine wall time measures the load, CPU time the work.",
        "raw",
    ),
    SectionSpec(
        "leaderboard",
        "Leaderboard",
        "pass@1 (mean correctness over k samples), cons@k (majority vote over answer-equivalence classes) "
        "and cons_gain@k (cons@k - pass@1 per problem: what voting adds, with a paired CI) on held-out "
        "problems, 95% bootstrap CIs.",
        "metrics",
    ),
    SectionSpec(
        "training_curves",
        "Accuracy and response length per step",
        "R1-Zero's Figures 2-3 analog: accuracy and mean completion length of the training rollouts and "
        "of held-out evaluation during each GRPO run.",
    ),
    SectionSpec(
        "reward_components",
        "Reward components per step",
        "Mean of each reward component per GRPO step, as logged by the trainer.",
    ),
    SectionSpec(
        "reflection_words",
        "Reflection words per step",
        "The 'aha moment' monitor: share of completions using wait / re-evaluate / verify / let me "
        "check / hmm.",
    ),
    SectionSpec("pass_at_k", "pass@k", "Unbiased pass@k (Chen et al. 2021) against k.", None),
    SectionSpec(
        "curation_funnel",
        "Curation funnel",
        "Rows kept after each rejection-sampling stage (filters, dedup, decontamination, caps, "
        "quotas), summed over domains.",
        "raw",
    ),
    SectionSpec(
        "distillation_vs_rl",
        "Distillation vs RL",
        "The paper's comparison: the same student SFT-ed on the teacher's curated set vs trained with "
        "GRPO for the same number of steps; the teacher (final RL model) for reference.",
        "metrics",
    ),
)


@dataclass
class Section:
    spec: SectionSpec
    sql: str
    frame: object  # polars DataFrame: the query's result
    png: bytes | None = None
    files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    out_dir: Path
    markdown: Path
    html: Path
    sections: tuple[Section, ...]
    findings: tuple[str, ...]


def build_report(
    store, out_dir: str | Path, *, run_id: str | None = None, title: str | None = None
) -> Report:
    """Query the store, draw and write `report.md`, `report.html` and per-section sql/csv/png files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sections = [_section(store, spec, run_id) for spec in SECTIONS]
    notes = tuple(findings({s.spec.name: s.frame for s in sections}))
    for s in sections:
        _write_files(out, s)
    title = title or (f"r1harness report: run {run_id}" if run_id else f"r1harness report: {store.root}")
    md = out / "report.md"
    page = out / "report.html"
    _atomic_write(md, to_markdown(title, sections, notes, run_id))
    _atomic_write(page, to_html(title, sections, notes, run_id))
    return Report(out, md, page, tuple(sections), notes)


def _section(store, spec: SectionSpec, run_id: str | None) -> Section:
    sql = query(spec.name, run_id)
    frame = store.sql(sql)
    draw = plots.PLOTS.get(spec.name)
    return Section(spec, sql, frame, draw(frame) if draw else None)


def _write_files(out: Path, s: Section) -> None:
    name = s.spec.name
    _atomic_write(out / f"{name}.sql", s.sql + ";\n")
    _atomic_write(out / f"{name}.csv", s.frame.write_csv())
    s.files = {"sql": f"{name}.sql", "csv": f"{name}.csv"}
    if s.png:
        (out / f"{name}.png.tmp").write_bytes(s.png)
        (out / f"{name}.png.tmp").replace(out / f"{name}.png")
        s.files["png"] = f"{name}.png"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# --- tables ---------------------------------------------------------------------------------------------


def fmt(value) -> str:
    """How a number appears in the report's tables (the CSV keeps full precision)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def metric_cell(row: dict) -> str:
    """A leaderboard cell as the report shows it: the leaderboard's one formatter, shares as fractions."""
    return row_cell(row, unit="fraction")


def metrics_table(df) -> tuple[list[str], list[list[str]]]:
    """Leaderboard rows (model, benchmark, protocol_id, metric, value, CIs, n_problems) as a benchmark x
    model grid with one column per metric. A benchmark measured under several protocols gets one row per
    protocol, labelled `bench#<protocol id>`, so numbers of different protocols never share a row."""
    labels, _ = column_labels(df)
    metrics = sorted(df["metric"].unique().to_list(), key=lambda m: (m != "pass@1", m))
    rows = list(zip(labels, df.iter_rows(named=True)))
    keys = list(dict.fromkeys((label, r["model"]) for label, r in rows))
    cells = {(label, r["model"], r["metric"]): metric_cell(r) for label, r in rows}
    n = {(label, r["model"]): r["n_problems"] for label, r in rows}
    header = ["benchmark", "model", *metrics, "problems"]
    return header, [[b, m, *[cells.get((b, m, k), "-") for k in metrics], fmt(n[(b, m)])] for b, m in keys]


def table_rows(s: Section) -> tuple[list[str], list[list[str]]]:
    """Header and cells of a section's table."""
    if s.spec.table == "metrics":
        return metrics_table(s.frame)
    return list(s.frame.columns), [[fmt(v) for v in row] for row in s.frame.iter_rows()]


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    esc = [[c.replace("|", "\\|") for c in r] for r in [header, *rows]]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in esc[1:]])


def _header_md(title: str, notes, run_id) -> list[str]:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"# {title}",
        "",
        f"Generated {when} by `r1h report{' --run ' + run_id if run_id else ''}` from SQL "
        "over the store; every figure and table below is the result of the query shown with it.",
        "",
    ]
    if notes:
        out += ["## Findings", "", *[f"- {n}" for n in notes], ""]
    return out


def to_markdown(title: str, sections: list[Section], notes, run_id: str | None) -> str:
    out = _header_md(title, notes, run_id)
    for s in sections:
        out += [f"## {s.spec.title}", "", s.spec.caption, ""]
        if s.frame.is_empty():
            out += ["_No data in the store for this section._", ""]
        else:
            if s.png:
                out += [f"![{s.spec.title}]({s.files['png']})", ""]
            if s.spec.table:
                out += [_md_table(*table_rows(s)), ""]
        out += [
            f"Data: [{s.files['csv']}]({s.files['csv']}) · SQL: [{s.files['sql']}]({s.files['sql']})",
            "",
            "<details><summary>SQL</summary>",
            "",
            "```sql",
            s.sql,
            "```",
            "",
            "</details>",
            "",
        ]
    return "\n".join(out)


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f2f2f2}td:first-child,td:nth-child(2){text-align:left}img{max-width:100%}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:12px}.empty{color:#888;font-style:italic}"""


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(title: str, sections: list[Section], notes, run_id: str | None) -> str:
    e = html.escape
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>{CSS}</style>"
        f"</head><body><h1>{e(title)}</h1><p>Generated {when} from SQL over the store; every figure and "
        "table is the result of the query shown with it.</p>"
    ]
    if notes:
        parts.append("<h2>Findings</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    for s in sections:
        parts.append(f"<h2>{e(s.spec.title)}</h2><p>{e(s.spec.caption)}</p>")
        if s.frame.is_empty():
            parts.append("<p class='empty'>No data in the store for this section.</p>")
        else:
            if s.png:
                data = base64.b64encode(s.png).decode("ascii")
                parts.append(f"<img alt='{e(s.spec.title)}' src='data:image/png;base64,{data}'>")
            if s.spec.table:
                parts.append(_html_table(*table_rows(s)))
        parts.append(f"<details><summary>SQL ({e(s.files['sql'])})</summary><pre>{e(s.sql)}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)
