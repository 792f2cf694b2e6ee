"""r1harness: run and audit the DeepSeek-R1 pipeline over one DuckDB/Parquet store.

Importing this package is cheap: no torch, transformers or vllm is imported here.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "Store"]


def __getattr__(name: str):
    # Lazy so `import r1harness` stays free of duckdb/polars until the store is used.
    if name == "Store":
        from r1harness.store import Store

        return Store
    raise AttributeError(f"module 'r1harness' has no attribute {name!r}")
