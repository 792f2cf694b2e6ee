"""`r1h ui` over a real server (uvicorn) and plain HTTP: every page renders what the store holds, model
output is escaped, the SQL box cannot write, a token guards non-loopback serving, labels land in
`annotations`, agreement is Cohen's kappa, and the CLI audit round trip works in one format."""

import json
import sys
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from ui_helpers import HOSTILE, Server, build_store, get  # noqa: E402

from r1harness.cli import main  # noqa: E402
from r1harness.commands.ui import serve_settings  # noqa: E402
from r1harness.curate import audit  # noqa: E402
from r1harness.errors import ConfigError  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    store, info = build_store(tmp_path_factory.mktemp("ui") / "store")
    with Server(store) as server:
        yield store, info, server.url


def test_runs_list_and_a_runs_curves(world):
    store, info, url = world
    status, body = get(f"{url}/runs")
    assert status == 200 and "grpo-1" in body and "toy grpo" in body and "eval-1" in body
    assert ">42.0<" in body and ">80.0<" in body  # wall and CPU seconds
    status, body = get(f"{url}/runs?kind=eval")
    assert "eval-1" in body and "grpo-1" not in body
    status, body = get(f"{url}/runs/grpo-1")
    assert status == 200 and body.count("<svg") == 4  # accuracy, length, reward components, reflection
    assert "no data yet" not in body and "format" in body and "accuracy" in body


def test_rollouts_explorer_filters_and_paginates(world):
    store, info, url = world
    status, body = get(f"{url}/rollouts?run=grpo-1&step=2")
    assert status == 200 and body.count('href="/rollouts/') == 4
    status, body = get(f"{url}/rollouts?run=grpo-1&verdict=correct")
    assert body.count('href="/rollouts/') == 1 + 2 + 3
    where = urllib.parse.quote("r.completion ILIKE '%boxed{7}%'")
    status, body = get(f"{url}/rollouts?where={where}")
    assert body.count('href="/rollouts/') == 3
    status, body = get(f"{url}/rollouts")
    assert "page 1" in body and "next" not in body  # 25 rollouts fit one page of 50


@pytest.mark.parametrize(
    "condition", ["1=1; DROP TABLE runs", "1=1 -- comment", "TRUE /* x */", "no_such_column = 1"]
)
def test_the_sql_box_refuses_statements_and_reports_errors(world, condition):
    store, info, url = world
    status, body = get(f"{url}/rollouts?where={urllib.parse.quote(condition)}")
    assert status == 400 and "runs" in store.sql("SHOW TABLES")["name"].to_list()
    assert store.count("rollouts") == 25


def test_a_rollout_page_shows_sections_gold_verdicts_and_lineage(world):
    store, info, url = world
    member = info["members"][0]
    status, body = get(f"{url}/rollouts/{member['rollout_id']}")
    assert status == 200
    assert "section-reasoning" in body and "wait, let me check" in body and "section-answer" in body
    assert 'class="gold">2<' in body  # gold of "What is 1+1?"
    assert "cold@v1" in body  # the set its SFT sample belongs to
    assert f'href="/prompts/{member["prompt_id"]}"' in body and 'href="/runs/grpo-1"' in body
    status, body = get(f"{url}/prompts/{member['prompt_id']}")
    assert f'href="/rollouts/{member["rollout_id"]}"' in body  # and back from the prompt


def test_model_output_is_escaped_everywhere(world):
    store, info, url = world
    for page in (f"/rollouts/{info['hostile']}", "/rollouts?run=eval-1", "/runs/eval-1/problems"):
        status, body = get(url + page)
        assert status == 200
        assert "<script>window.__xss" not in body and "<img src=x" not in body
    assert "&lt;script&gt;window.__xss" in get(f"{url}/rollouts/{info['hostile']}")[1]


def test_leaderboard_and_problem_drill_down(world):
    store, info, url = world
    status, body = get(f"{url}/leaderboard")
    assert status == 200 and "toy-model" in body and "0.750" in body and "[0.500, 1.000]" in body
    status, body = get(f"{url}/runs/eval-1/problems")
    pid = info["prompts"][0]["prompt_id"]
    assert f"/runs/eval-1/problems/{pid}" in body
    status, body = get(f"{url}/runs/eval-1/problems/{pid}")
    assert status == 200 and '<code>2</code></td><td class="num">3</td>' in body  # 3 votes for 2
    assert '<code>7</code></td><td class="num">1</td>' in body


def test_missing_things_are_404_not_tracebacks(world):
    store, info, url = world
    for page in ("/runs/nope", "/rollouts/nope", "/prompts/nope", "/runs/eval-1/problems/nope"):
        status, body = get(url + page)
        assert status == 404 and "Traceback" not in body


def test_labels_from_the_page_api_land_in_annotations_with_progress(tmp_path):
    store, info = build_store(tmp_path / "store")
    queue = audit.Queue(set_ref="cold@v1", seed=3, overlap=2)
    with Server(store) as server:
        status, body = get(
            f"{server.url}/audit/queue?queue={urllib.parse.quote(queue.name)}&annotator=ann&overlap=2"
        )
        assert status == 200 and "0 of 6 items labelled" in body
        first = audit.next_item(store, queue, "ann")["rollout_id"]
        assert f'data-rollout="{first}"' in body
        payload = {
            "queue_name": queue.name,
            "overlap": 2,
            "annotator": "ann",
            "rollout_id": first,
            "label": "accept",
        }
        status, body = get(
            f"{server.url}/api/annotations",
            json.dumps(payload).encode(),
            {"Content-Type": "application/json"},
        )
        assert status == 200 and json.loads(body)["progress"]["mine"] == 1
        bad = {**payload, "label": "reject"}  # a reject needs a reason
        status, body = get(
            f"{server.url}/api/annotations", json.dumps(bad).encode(), {"Content-Type": "application/json"}
        )
        assert status == 400 and "reason" in json.loads(body)["error"]
    rows = store.sql("SELECT target_id, label, annotator, queue, set_name FROM annotations").to_dicts()
    assert rows == [
        {
            "target_id": first,
            "label": "accept",
            "annotator": "ann",
            "queue": queue.name,
            "set_name": "cold@v1",
        }
    ]


def test_overlap_items_go_to_everyone_and_the_rest_is_split(tmp_path):
    store, info = build_store(tmp_path / "store")
    queue = audit.Queue(set_ref="cold@v1", seed=0, overlap=2)
    order = audit.queue_order(store, queue)["rollout_id"].to_list()
    assert len(order) == 6 and order == audit.queue_order(store, queue)["rollout_id"].to_list()  # seeded

    def label(who, rid, lab="accept"):
        audit.label_many(store, [{"rollout_id": rid, "label": lab, "annotator": who, "queue": queue.name,
                                  "reason": None if lab == "accept" else "bad"}])  # fmt: skip

    label("a", order[0])
    assert audit.next_item(store, queue, "b")["rollout_id"] == order[0]  # overlap: b sees it too
    label("a", order[1])
    label("a", order[2])
    assert audit.next_item(store, queue, "b")["rollout_id"] == order[0]
    label("b", order[0])
    label("b", order[1], "reject")
    assert audit.next_item(store, queue, "b")["rollout_id"] == order[3]  # past the overlap: a took order[2]
    result = audit.agreement(store, queue, "a", "b")
    assert result["both"] == 2 and result["observed_agreement"] == 0.5
    assert [d["target_id"] for d in result["disagreements"]] == [order[1]]
    assert result["kappa"] == pytest.approx(0.0)  # a: accept, accept; b: accept, reject
    progress = audit.progress(store, queue, "b")
    assert progress["items"] == 6 and progress["labelled"] == 3 and progress["mine"] == 2
    assert progress["overlap"] == 2 and progress["by_annotator"] == {"a": 3, "b": 2}


def test_agreement_page_and_export(tmp_path):
    store, info = build_store(tmp_path / "store")
    queue = audit.Queue(set_ref="cold@v1", overlap=6)
    for rid in audit.queue_order(store, queue)["rollout_id"].to_list()[:4]:
        for who in ("a", "b"):
            lab = "reject" if (who == "b" and rid.startswith(tuple("0123456789"))) else "accept"
            audit.label_many(store, [{"rollout_id": rid, "label": lab, "annotator": who, "queue": queue.name,
                                      "reason": "x"}])  # fmt: skip
    expected = audit.agreement(store, queue, "a", "b")
    with Server(store) as server:
        q = urllib.parse.quote(queue.name)
        status, body = get(f"{server.url}/audit/agreement?queue={q}&a=a&b=b")
        assert status == 200 and '<b id="both">4</b>' in body
        assert len(expected["disagreements"]) == body.count('href="/rollouts/')
        status, body = get(f"{server.url}/audit/export?queue={q}")
    lines = [json.loads(line) for line in body.splitlines()]
    assert len(lines) == 8 and {line["annotator"] for line in lines} == {"a", "b"}
    # the export reads back as a label file (same format both ways)
    exported = tmp_path / "labels.jsonl"
    exported.write_text(body)
    assert len(audit.read_label_file(str(exported))) == 8


def test_the_cli_audit_round_trip_in_one_format(tmp_path, capsys):
    store, info = build_store(tmp_path / "store")
    out = tmp_path / "to_label.json"
    assert main(["audit", "sample", "cold@v1", "--n", "3", "--format", "json", "--out", str(out),
                 "--store", str(store.root)]) == 0  # fmt: skip
    samples = json.loads(out.read_text())
    assert len(samples) == 3 and all(s["gold"] and s["verdict"].startswith("math=") for s in samples)
    samples[0]["label"] = "accept"
    samples[1].update(label="reject", reason="wrong answer", annotator="me")
    out.write_text(json.dumps(samples))  # the third stays unlabelled: skipped
    assert main(["audit", "label", "--file", str(out), "--store", str(store.root)]) == 0
    labels = store.sql("SELECT target_id, label FROM annotations ORDER BY label").to_dicts()
    assert labels == [
        {"target_id": samples[0]["rollout_id"], "label": "accept"},
        {"target_id": samples[1]["rollout_id"], "label": "reject"},
    ]


def test_a_token_guards_every_page_and_is_required_beyond_loopback(tmp_path):
    assert serve_settings("127.0.0.1", None) is None
    assert len(serve_settings("0.0.0.0", None)) >= 16  # made up when not given
    with pytest.raises(ConfigError, match="16 characters"):
        serve_settings("0.0.0.0", "short")
    store, info = build_store(tmp_path / "store")
    token = "t" * 20
    with Server(store, token=token) as server:
        assert get(f"{server.url}/runs")[0] == 401
        assert get(f"{server.url}/runs?token=wrong-token-wrong-token")[0] == 401
        assert get(f"{server.url}/runs?token={token}")[0] == 200
        assert get(f"{server.url}/runs", headers={"Cookie": f"r1h_ui_token={token}"})[0] == 200


def test_hostile_text_is_what_the_store_holds(world):
    store, info, url = world  # the fixture really holds the attack (so the escaping test means something)
    held = store.sql("SELECT completion FROM rollouts WHERE rollout_id = ?", [info["hostile"]])["completion"][
        0
    ]
    assert held == HOSTILE


def test_cached_curves_follow_new_batches(tmp_path):
    from r1harness.ui import queries

    store, info = build_store(tmp_path / "store")
    with queries.reading(store) as snap:
        before = queries.run_curves(snap, "grpo-1", cache=True)
    steps = [x for x, _ in next(iter(before["accuracy"].values()))]
    assert steps == [1, 2, 3]
    p = info["prompts"][0]
    row = {"rollout_id": "f" * 32, "prompt_id": p["prompt_id"], "run_id": "grpo-1", "model": "toy-model"}
    store.append("rollouts", [{**row, "stage": "grpo", "step": 4, "completion": "x"}])
    with queries.reading(store) as snap:
        after = queries.run_curves(snap, "grpo-1", cache=True)
    assert [x for x, _ in next(iter(after["response length (tokens)"].values()))] == [1, 2, 3, 4]


def test_cli_agreement_and_export(tmp_path, capsys):
    store, info = build_store(tmp_path / "store")
    queue = audit.Queue(set_ref="cold@v1", overlap=6)
    order = audit.queue_order(store, queue)["rollout_id"].to_list()
    for rid, (la, lb) in zip(order, [("accept", "accept"), ("reject", "reject"), ("accept", "reject")]):
        for who, lab in (("a", la), ("b", lb)):
            audit.label_many(store, [{"rollout_id": rid, "label": lab, "annotator": who, "queue": queue.name,
                                      "reason": "r"}])  # fmt: skip
    s = str(store.root)
    assert main(["audit", "agreement", queue.name, "--a", "a", "--b", "b", "--store", s]) == 0
    out = capsys.readouterr().out
    assert "both labelled 3 items" in out and "kappa 0.400" in out  # po 2/3, pe 4/9 -> (6/9-4/9)/(5/9)
    exported = tmp_path / "labels.json"
    assert main(["audit", "export", "--queue", queue.name, "--format", "json", "--out", str(exported),
                 "--store", s]) == 0  # fmt: skip
    assert len(json.loads(exported.read_text())) == 6
    again = build_store(tmp_path / "other")[0]  # the export labels another store's same rollouts
    assert main(["audit", "label", "--file", str(exported), "--store", str(again.root)]) == 0
    assert again.count("rollouts") == 25 and again.sql("SELECT count(*) AS n FROM annotations")["n"][0] == 6


def test_the_lookup_pages_equal_the_scanned_ones_and_follow_appends_and_compaction(tmp_path):
    from r1harness.ui import queries
    from r1harness.ui.lookup import Lookup

    store, info = build_store(tmp_path / "store")
    lookup = Lookup(store)
    cases = [{}, {"run": "grpo-1"}, {"run": "grpo-1", "step": "2"}, {"verdict": "correct"},
             {"dataset": "toy"}, {"min_reward": "0.5"}, {"max_tokens": "3"},
             {"verdict": "wrong", "run": "eval-1"}]  # fmt: skip

    def both(filters):
        with queries.reading(store) as snap:
            scanned = queries.rollouts(snap, filters).rows
        with queries.reading(store, lookup) as snap:
            indexed = queries.rollouts(snap, filters).rows
        key = lambda r: r["rollout_id"]  # noqa: E731
        return sorted(scanned, key=key), sorted(indexed, key=key)

    for filters in cases:
        scanned, indexed = both(filters)
        assert indexed == scanned and (filters.get("max_tokens") or scanned), filters
    pid = info["prompts"][0]["prompt_id"]
    with queries.reading(store, lookup) as snap:
        assert (
            len(queries.prompt_detail(snap, pid)["rollouts"].rows) == 3 + 4
        )  # 3 grpo steps + 4 eval samples
        problems = queries.eval_problems(snap, "eval-1").rows
    with queries.reading(store) as snap:
        assert problems == queries.eval_problems(snap, "eval-1").rows
    row = {"prompt_id": pid, "run_id": "grpo-1", "model": "toy-model", "stage": "grpo", "step": 9}
    store.append("rollouts", [{**row, "rollout_id": "e" * 32, "completion": "late"}])
    assert both({"step": "9"})[1][0]["preview"] == "late"  # a new batch is seen on the next page
    store.compact("rollouts", grace_s=0)  # files replaced: the lookup rebuilds
    scanned, indexed = both({})
    assert indexed == scanned and len(indexed) == 26


def test_r1h_ui_serves_a_store_from_the_command_line(tmp_path):
    import subprocess
    import time

    from ui_helpers import free_port

    store, info = build_store(tmp_path / "store")
    port = free_port()
    cmd = [sys.executable, "-m", "r1harness", "ui", "--store", str(store.root), "--port", str(port)]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and status != 200:
            time.sleep(0.2)
            assert server.poll() is None, server.stderr.read()
            try:
                status, body = get(f"http://127.0.0.1:{port}/rollouts/{info['hostile']}")
            except OSError:
                continue
        assert status == 200 and "&lt;script&gt;" in body
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "indexing the ids" in server.stderr.read()
