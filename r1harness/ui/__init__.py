"""`r1h ui`: the web page onto a store (FastAPI, server-rendered Jinja2 templates, a little JavaScript).

Reads go through `Store.sql` like every other reader; the only writes are audit labels (`annotations`).
"""

from r1harness.ui.app import create_app

__all__ = ["create_app"]
