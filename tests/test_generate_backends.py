"""Backends: fake (scripted), openai (against a local OpenAI-compatible server), transformers (tiny local
model), vllm (GPU, skipped where vLLM is absent), plus sampling parameters and templates."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from r1harness.cli import main
from r1harness.errors import ConfigError
from r1harness.generate import GenerationError, GenerationRequest, SamplingParams, get_backend, get_template
from r1harness.generate.backend import check_model_path
from r1harness.generate.runner import generate_rollouts
from r1harness.store import ids


# -- sampling and templates -------------------------------------------------------------------------
def test_sampling_defaults_are_the_r1_protocol_and_validate():
    s = SamplingParams()
    assert (s.temperature, s.top_p, s.max_tokens) == (0.6, 0.95, 32768)
    with pytest.raises(ConfigError, match="top_p"):
        SamplingParams(top_p=0)
    with pytest.raises(ConfigError, match="unknown sampling key"):
        SamplingParams.from_dict({"temp": 0.6})
    assert SamplingParams.from_dict({"stop": "</answer>"}).stop == ("</answer>",)


def test_templates_are_versioned():
    t = get_template("r1-math@1")
    messages = t.render("What is 1+1?")
    assert messages[-1]["content"].endswith("put your final answer within \\boxed{}.")
    assert get_template("r1-zero@1").render("2+2?").endswith("User: 2+2?. Assistant:")
    with pytest.raises(ConfigError, match="needs a version"):
        get_template("r1-math")
    with pytest.raises(ConfigError, match="unknown template"):
        get_template("nope@1")


# -- fake -------------------------------------------------------------------------------------------
def test_fake_backend_scripts_by_substring_and_index(tmp_path):
    b = get_backend("fake", "x", script={"apples": ["A0", "A1"]}, default="?")
    out = b.generate(
        [GenerationRequest("three apples", n=3), GenerationRequest("pears", n=1)], SamplingParams()
    )
    assert [c.text for c in out[0]] == ["A0", "A1", "A0"] and out[1][0].text == "?"
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"responses": {"apples": "one two three four"}}))
    b = get_backend("fake", str(script))
    c = b.generate([GenerationRequest("apples", sample_indices=(5,))], SamplingParams(max_tokens=2))[0][0]
    assert (c.text, c.finish_reason, c.completion_tokens) == ("one two", "length", 2)
    with pytest.raises(ConfigError, match="no response"):
        b.generate([GenerationRequest("pears")], SamplingParams())


def test_unknown_backend_is_named():
    with pytest.raises(ConfigError, match="unknown backend 'tgi'"):
        get_backend("tgi", "m")


# -- backend options --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, options, message",
    [
        # a sampling setting: named, the valid options listed, and where sampling and request fields go
        (
            "openai",
            {"temperature": 0},
            r"unknown option\(s\) \['temperature'\].*valid options are .*"
            r"'extra_body'.*--temperature.*extra_body",
        ),
        ("fake", {"scirpt": "echo"}, r"unknown option\(s\) \['scirpt'\] \(did you mean 'script'\?\)"),
        ("transformers", {"batch": 4}, r"\['batch'\].*valid options are \[.*'batch_size'"),
        ("openai", {"concurrency": "many"}, r"option 'concurrency' must be int, got 'many'"),
        ("openai", {"extra_body": [1]}, r"option 'extra_body' must be dict or null"),
        ("openai", {"extra_body": {"top_k": 20}}, r"extra_body sets \['top_k'\].*--top-k"),
        ("openai", {"concurrency": 0}, r"concurrency must be >= 1"),
        ("openai", {"base_url": "localhost:8000"}, r"base_url must start with http"),
    ],
)
def test_bad_backend_options_are_named_with_the_valid_ones(name, options, message):
    with pytest.raises(ConfigError, match=message):
        get_backend(name, "echo" if name == "fake" else "m", **options)


def test_bad_backend_options_on_the_command_line_are_one_clear_line(store, capsys):
    base = ["generate", "--store", str(store.root), "--dataset", "toy", "--model", "m", "--no-progress"]
    store.append("prompts", [{"prompt_id": ids.prompt_id("toy", "p"), "dataset": "toy", "problem": "p"}])
    for options in ('{"temperature": 0}', "[1]", '{"extra_body": {"seed": 1}}'):
        assert main([*base, "--backend", "openai", "--backend-options", options]) == 1
        err = capsys.readouterr().err
        assert err.startswith("r1h generate: error: ") and "Traceback" not in err
        assert err.count("\n") == 1


def test_missing_local_model_folder_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    for model in (str(tmp_path / "missing"), "./missing", "runs/tiny", "a/b/c", "~/no-such-model"):
        with pytest.raises(ConfigError, match=r"model folder .* does not exist"):
            check_model_path(model, "transformers")
    for model in ("Qwen/Qwen2.5-Math-1.5B", "gpt2", "runs"):  # hub ids, or a folder that exists
        check_model_path(model, "transformers")


# -- openai -----------------------------------------------------------------------------------------
class FakeOpenAI(BaseHTTPRequestHandler):
    """Chat + completions endpoints; fails the first `fail_first` requests with 503, rejects model 'bad'."""

    state = {"fail_first": 0, "bodies": []}

    def do_POST(self):  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.state["bodies"].append((self.path, body))
        if self.state["fail_first"] > 0:
            self.state["fail_first"] -= 1
            return self._send(503, {"error": "overloaded"}, {"Retry-After": "0"})
        if body["model"] == "bad":
            return self._send(400, {"error": "model bad does not exist"})
        seed = body.get("seed")
        if self.path.endswith("/chat/completions"):
            choice = {"message": {"content": f"chat seed={seed}"}, "finish_reason": "stop"}
        else:
            choice = {"text": f"{body['prompt']} seed={seed}", "finish_reason": "length"}
        self._send(200, {"choices": [choice], "usage": {"prompt_tokens": 7, "completion_tokens": 3}})

    def _send(self, code, payload, headers=None):
        data = json.dumps(payload).encode()
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def openai_server():
    FakeOpenAI.state = {"fail_first": 0, "bodies": []}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", FakeOpenAI.state
    server.shutdown()
    server.server_close()


def test_openai_backend_chat_and_completions_with_per_sample_seeds(openai_server):
    url, state = openai_server
    b = get_backend("openai", "m", base_url=url, concurrency=4)
    reqs = [
        GenerationRequest([{"role": "user", "content": "hi"}], n=2, seed=10),
        GenerationRequest("raw", n=1, seed=10, sample_indices=(5,)),
    ]
    out = b.generate(reqs, SamplingParams(temperature=0.6, max_tokens=9, stop=("</s>",)))
    assert [c.text for c in out[0]] == ["chat seed=10", "chat seed=11"]
    assert out[1][0].text == "raw seed=15" and out[1][0].finish_reason == "length"
    assert (out[0][0].prompt_tokens, out[0][0].completion_tokens) == (7, 3)
    sent = [b for _, b in state["bodies"]]
    assert all(b["max_tokens"] == 9 and b["stop"] == ["</s>"] and b["n"] == 1 for b in sent)


def test_openai_backend_passes_extra_body_through(openai_server):
    url, state = openai_server
    extra = {"chat_template_kwargs": {"enable_thinking": False}, "repetition_penalty": 1.1}
    b = get_backend("openai", "m", base_url=url, extra_body=extra)
    b.generate([GenerationRequest([{"role": "user", "content": "hi"}], seed=1)], SamplingParams(top_k=20))
    ((_, body),) = state["bodies"]
    assert body["chat_template_kwargs"] == {"enable_thinking": False} and body["repetition_penalty"] == 1.1
    assert (body["model"], body["top_k"], body["seed"]) == ("m", 20, 1)  # r1harness's own fields intact


def test_backend_identity_keeps_servers_models_and_local_runs_apart(openai_server, store, tiny_model):
    url, _ = openai_server
    prompts = [{"prompt_id": ids.prompt_id("toy", f"p{i}"), "problem": f"p{i}"} for i in range(2)]
    backends = [
        get_backend("openai", tiny_model, base_url=url),
        get_backend("openai", tiny_model, base_url=url, extra_body={"chat_template_kwargs": {}}),
        get_backend("openai", tiny_model, base_url=url.replace("127.0.0.1", "localhost")),
        get_backend("fake", "echo"),
    ]
    greedy = SamplingParams(temperature=0, max_tokens=4)
    generated = [
        generate_rollouts(store, b, prompts, template="plain@1", n=2, sampling=greedy, progress=False)
        for b in backends
    ]
    assert [s.generated for s in generated] == [4, 4, 4, 4]  # before: 4, 0, 0, 4 (same model name)
    assert len({i for s in generated for i in s.rollout_ids}) == 16
    assert backends[0].identity == f"openai:{tiny_model}@{url}"
    # the transformers backend keeps its ids (the bare model), so stores made before still resume
    local = get_backend("transformers", tiny_model)
    old_id = ids.rollout_id(prompts[0]["prompt_id"], tiny_model, "plain@1", greedy.to_dict(), 0, 0)
    s = generate_rollouts(store, local, prompts, template="plain@1", n=2, sampling=greedy, progress=False)
    assert s.generated == 4 and s.rollout_ids[0] == old_id


def test_openai_backend_retries_then_succeeds(openai_server):
    url, state = openai_server
    state["fail_first"] = 2
    b = get_backend("openai", "m", base_url=url, concurrency=1, backoff_s=0.01)
    out = b.generate([GenerationRequest("x", seed=0)], SamplingParams())
    assert out[0][0].text == "x seed=0" and len(state["bodies"]) == 3


def test_openai_backend_gives_up_with_a_clear_error(openai_server):
    url, state = openai_server
    with pytest.raises(GenerationError, match="HTTP 400: .*does not exist"):
        get_backend("openai", "bad", base_url=url).generate([GenerationRequest("x")], SamplingParams())
    assert len(state["bodies"]) == 1  # a 400 is not retried
    state["fail_first"] = 10
    b = get_backend("openai", "m", base_url=url, max_retries=2, backoff_s=0.01)
    with pytest.raises(GenerationError, match="failed after 3 attempts; last error: HTTP 503"):
        b.generate([GenerationRequest("x")], SamplingParams())


def test_openai_backend_server_down():
    b = get_backend(
        "openai", "m", base_url="http://127.0.0.1:9/v1", max_retries=1, backoff_s=0.01, timeout_s=2
    )
    with pytest.raises(GenerationError, match="Is the server up"):
        b.generate([GenerationRequest("x")], SamplingParams())


# -- transformers -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from r1harness.train.tiny_model import init_tiny_model

    return str(init_tiny_model(tmp_path_factory.mktemp("tiny") / "model"))


def test_transformers_backend_greedy_is_deterministic_and_batch_invariant(tiny_model):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    greedy = SamplingParams(temperature=0, max_tokens=12)
    prompts = ["Question: 2+3?\nAnswer:", "Q: 17*3=", "A much longer prompt about numbers 1 2 3 4 5 6 7 8:"]
    b = get_backend("transformers", tiny_model, batch_size=3)
    batched = b.generate([GenerationRequest(p) for p in prompts], greedy)
    single = get_backend("transformers", tiny_model, batch_size=1).generate(
        [GenerationRequest(p) for p in prompts], greedy
    )
    assert [c[0].text for c in batched] == [c[0].text for c in single]
    # the same as a plain model.generate on each prompt
    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    for prompt, (comp,) in zip(prompts, batched):
        ids = tok(prompt, return_tensors="pt")
        with torch.inference_mode():
            seq = model.generate(**ids, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
        new = seq[0, ids["input_ids"].shape[1] :].tolist()
        assert comp.text == tok.decode(new, skip_special_tokens=True)
        assert comp.prompt_tokens == ids["input_ids"].shape[1]
        assert comp.completion_tokens == len(new) or tok.eos_token_id in new


def test_transformers_backend_stop_strings_length_and_chat(tiny_model):
    b = get_backend("transformers", tiny_model, batch_size=4)
    free = b.generate([GenerationRequest("1 2 3")], SamplingParams(temperature=0, max_tokens=8))[0][0]
    assert free.finish_reason == "length" and free.completion_tokens == 8 and free.text
    stop = free.text[2:4] if len(free.text) >= 4 else free.text[-1]
    cut = b.generate([GenerationRequest("1 2 3")], SamplingParams(temperature=0, max_tokens=8, stop=(stop,)))[
        0
    ][0]
    assert cut.finish_reason == "stop" and stop not in cut.text and free.text.startswith(cut.text)
    assert b.render([{"role": "user", "content": "hi"}]).endswith("<|im_start|>assistant\n")
    sampled = b.generate(
        [GenerationRequest("1 2 3", n=2, seed=4)], SamplingParams(temperature=1.0, max_tokens=6)
    )
    again = b.generate(
        [GenerationRequest("1 2 3", n=2, seed=4)], SamplingParams(temperature=1.0, max_tokens=6)
    )
    assert [c.text for c in sampled[0]] == [c.text for c in again[0]]  # seeded


def test_transformers_backend_bad_model_folder(tmp_path):
    with pytest.raises(ConfigError, match=f"model folder '{tmp_path / 'missing'}' does not exist"):
        get_backend("transformers", str(tmp_path / "missing"))  # before: the hub's "Repo id must be ..."
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenerationError, match="cannot load model"):
        get_backend("transformers", str(tmp_path / "empty"))


# -- vllm -------------------------------------------------------------------------------------------
def test_vllm_backend_without_vllm_says_how_to_install():
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"constraints-vllm.txt"):
            get_backend("vllm", "m")
    else:
        pytest.skip("vllm is installed; the GPU test covers it")


@pytest.mark.gpu
def test_vllm_backend_matches_its_engine(tiny_model):
    pytest.importorskip("vllm")
    b = get_backend("vllm", tiny_model, gpu_memory_utilization=0.3, enforce_eager=True)
    out = b.generate([GenerationRequest("1 2 3", n=2, seed=0)], SamplingParams(temperature=0, max_tokens=8))
    assert len(out[0]) == 2 and out[0][0].text == out[0][1].text  # greedy: both samples equal
    assert out[0][0].completion_tokens <= 8
