"""The FastAPI application behind `r1h ui`: pages for runs, rollouts, the leaderboard and audit queues.

Safe by default: every model output goes through Jinja2's autoescaping (and `textContent` in the page's
script), the SQL box is one read-only condition, the only writes are annotations, and when the server
listens beyond loopback every request must carry the token (`?token=` once, then a cookie).
"""

import hmac
from pathlib import Path
from typing import Annotated, Any

from r1harness.curate import audit
from r1harness.errors import R1HarnessError
from r1harness.ui import queries
from r1harness.ui.charts import line_chart
from r1harness.ui.lookup import Lookup
from r1harness.ui.queries import Snapshot

HERE = Path(__file__).parent
TOKEN_COOKIE = "r1h_ui_token"


def create_app(store, *, token: str | None = None):
    """The app over an open store. With a token, requests without it get 401."""
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, PlainTextResponse
    from fastapi.staticfiles import StaticFiles
    from fastapi.templating import Jinja2Templates

    app = FastAPI(title="r1harness", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")  # autoescape is on for .html

    @app.middleware("http")
    async def require_token(request: Request, call_next):
        if token is None:
            return await call_next(request)
        given = request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
        if not hmac.compare_digest(given, token):
            return PlainTextResponse("401: this r1h ui needs its token (open the URL it printed)", 401)
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.exception_handler(LookupError)
    async def not_found(request: Request, exc: LookupError):
        return page(request, "error.html", status_code=404, message=str(exc.args[0] if exc.args else exc))

    @app.exception_handler(R1HarnessError)
    async def bad_request(request: Request, exc: R1HarnessError):
        return page(request, "error.html", status_code=400, message=str(exc))

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"store": str(store.root), **context}, status_code)

    lookup = app.state.lookup = Lookup(store)  # built at start or on the first page, then batch by batch

    def snapshot():
        with queries.reading(store, lookup) as snap:
            yield snap

    _browse_routes(app, snapshot, page)
    _audit_routes(app, store, snapshot, page)
    return app


def _browse_routes(app, snapshot, page) -> None:
    """Runs, rollouts, prompts, the leaderboard and evaluated problems: read-only pages."""
    from fastapi import Depends, Request
    from fastapi.responses import HTMLResponse, RedirectResponse

    Snap = Annotated[Snapshot, Depends(snapshot)]  # one reader connection per page

    @app.get("/")
    def home():
        return RedirectResponse("/runs")

    @app.get("/runs", response_class=HTMLResponse)
    def runs_page(request: Request, snap: Snap, kind: str = "", status: str = "", page_no: int = 0):
        return page(request, "runs.html", runs=queries.runs(snap, kind=kind, status=status, page=page_no))

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, snap: Snap, run_id: str):
        detail = queries.run_detail(snap, run_id)
        charts = [line_chart(title, series) for title, series in detail["curves"].items()]
        return page(request, "run.html", **detail, charts=charts)

    @app.get("/runs/{run_id}/problems", response_class=HTMLResponse)
    def eval_problems_page(request: Request, snap: Snap, run_id: str, page_no: int = 0):
        listed = queries.eval_problems(snap, run_id, page_no)
        return page(request, "problems.html", run_id=run_id, problems=listed)

    @app.get("/runs/{run_id}/problems/{prompt_id}", response_class=HTMLResponse)
    def problem_page(request: Request, snap: Snap, run_id: str, prompt_id: str):
        return page(request, "problem.html", **queries.problem_samples(snap, run_id, prompt_id))

    @app.get("/rollouts", response_class=HTMLResponse)
    def rollouts_page(request: Request, snap: Snap, page_no: int = 0):
        filters = {k: request.query_params.get(k, "") for k in queries.ROLLOUT_FILTERS}
        return page(request, "rollouts.html", rollouts=queries.rollouts(snap, filters, page_no))

    @app.get("/rollouts/{rollout_id}", response_class=HTMLResponse)
    def rollout_page(request: Request, snap: Snap, rollout_id: str):
        return page(request, "rollout.html", **queries.rollout_detail(snap, rollout_id))

    @app.get("/prompts/{prompt_id}", response_class=HTMLResponse)
    def prompt_page(request: Request, snap: Snap, prompt_id: str, page_no: int = 0):
        return page(request, "prompt.html", **queries.prompt_detail(snap, prompt_id, page_no))

    @app.get("/leaderboard", response_class=HTMLResponse)
    def leaderboard_page(request: Request, snap: Snap):
        return page(request, "leaderboard.html", board=queries.leaderboard(snap))


def _audit_routes(app, store, snapshot, page) -> None:
    """Audit queues: the curator's page, the one write (a label), agreement and export."""
    from fastapi import Depends, Request
    from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

    Snap = Annotated[Snapshot, Depends(snapshot)]  # one reader connection per page

    @app.get("/audit", response_class=HTMLResponse)
    def audit_home(request: Request, snap: Snap):
        sets = snap.sql(
            "SELECT name, version, n_samples FROM sets WHERE status = 'ready' ORDER BY name, version"
        ).to_dicts()
        queues = snap.sql(
            "SELECT queue, count(DISTINCT target_id) AS labelled, count(DISTINCT annotator) AS annotators "
            "FROM annotations WHERE queue IS NOT NULL GROUP BY queue ORDER BY queue"
        ).to_dicts()
        return page(request, "audit_home.html", sets=sets, queues=queues)

    @app.get("/audit/queue", response_class=HTMLResponse)
    def audit_queue(
        request: Request,
        snap: Snap,
        queue: str,
        annotator: str,
        overlap: int = 20,
        item: str = "",
        skip: str = "",
    ):
        q = audit.Queue.from_name(queue, overlap=overlap)
        skipped = frozenset(filter(None, skip.split(",")))
        target = {"rollout_id": item} if item else audit.next_item(snap, q, annotator, skipped)
        trace = queries.rollout_detail(snap, target["rollout_id"]) if target else None
        readability = [r for r in (trace or {}).get("rewards", []) if r["verifier"].startswith("readability")]
        return page(
            request,
            "audit_queue.html",
            queue=q,
            annotator=annotator,
            trace=trace,
            readability=readability,
            progress=audit.progress(snap, q, annotator),
        )

    @app.post("/api/annotations")
    async def annotate(request: Request):
        body = await request.json()
        q = audit.Queue.from_name(body.pop("queue_name"), overlap=int(body.pop("overlap", 20)))
        item = {k: body.get(k) for k in ("rollout_id", "label", "reason", "edited_text", "annotator")}
        item["queue"] = q.name
        item["set_name"] = q.set_ref
        try:
            rows = audit.label_many(store, [item], "label")
        except R1HarnessError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return {
            "annotation_id": rows[0]["annotation_id"],
            "progress": audit.progress(store, q, item["annotator"]),
        }

    @app.get("/audit/agreement", response_class=HTMLResponse)
    def agreement_page(request: Request, snap: Snap, queue: str, a: str, b: str):
        return page(
            request, "agreement.html", result=audit.agreement(snap, audit.Queue.from_name(queue), a, b)
        )

    @app.get("/audit/export")
    def export(snap: Snap, queue: str = ""):
        frame = audit.export_labels(snap, audit.Queue.from_name(queue) if queue else None)
        body = frame.write_ndjson() if frame.height else ""
        headers = {"Content-Disposition": 'attachment; filename="labels.jsonl"'}
        return PlainTextResponse(body, media_type="application/x-ndjson", headers=headers)
