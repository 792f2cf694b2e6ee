"""Reports: Markdown and self-contained HTML with PNG plots, built only from SQL over the store.

    from r1harness.report import build_report
    report = build_report(store, "reports/demo", run_id=pipeline_run_id)   # -> Report(markdown, html, ...)

Modules: queries (the SQL of every section), plots (matplotlib figures from query results), findings
(plain-language checks computed from the same results), build (assembly, files, Markdown/HTML).
"""

from r1harness.report.build import Report, build_report

__all__ = ["Report", "build_report"]
