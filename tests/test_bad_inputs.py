"""Bad input across every page and entry point: each gets a clear message, never a traceback,
and the page stays usable (its model kept where it had one).

The table is the point: one row per bad input. Entry points are
- `widget`: a widget's value (kind and key), as a student types it;
- `url`: query parameters, as they arrive in a (shared, edited or hostile) link;
- `upload`: a file given to an uploader (found by its label).
To cover a new page, add its rows and, if it trains a model, a `PageProbe` that says how to
give it a model first and how to check that it still works afterwards.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from gptviz.checkpoint import CONFIG_NAME, WEIGHTS_NAME, save_bundle
from gptviz.config import DOC000_MODEL, DOC000_TRAIN, GPTConfig
from gptviz.markup import unescape_markdown
from gptviz.model import GPT
from tests.apptest_helpers import button

ROOT = Path(__file__).resolve().parents[1]
NO_GPU = not torch.cuda.is_available()


@dataclass(frozen=True)
class Bad:
    page: str  # path from the repository root
    entry: str  # "widget:<kind>:<key>", "url" or "upload:<label start>"
    value: Any  # the widget's value, a dict of query parameters, or () -> (name, bytes)
    expect: str | None  # regex the page's messages must match; None: no message is due
    fix: dict[str, Any] = field(default_factory=dict)  # widget key -> value, before the probe
    before: dict[str, Any] = field(default_factory=dict)  # session_state before the first run


# --- files for the uploader ---------------------------------------------------------------
def _bundle(model_cfg: GPTConfig = DOC000_MODEL, task: dict | None = None, step: int = 3,
            edit: Callable[[dict, dict], None] | None = None) -> bytes:
    torch.manual_seed(0)
    data = save_bundle(GPT(model_cfg), task or {"kind": "sequence", "sequence": "0110101101",
                                                "last_only": True}, DOC000_TRAIN, step)
    if edit is None:
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(files[CONFIG_NAME])
    from safetensors.torch import load, save
    tensors = load(files[WEIGHTS_NAME])
    edit(meta, tensors)
    files[CONFIG_NAME] = json.dumps(meta).encode()
    files[WEIGHTS_NAME] = save(tensors)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, b in files.items():
            zf.writestr(n, b)
    return buf.getvalue()


def _text_page_training(meta, tensors):
    meta["train"]["eval_interval"] = 10  # inside the text page's bounds (5 to 10,000)


def _seed(value: int) -> Callable[[dict, dict], None]:
    return lambda meta, tensors: meta["train"].update(seed=value)


def _heads(value: int) -> Callable[[dict, dict], None]:
    return lambda meta, tensors: meta["model"].update(n_head=value)


def _huge_weights(meta, tensors):
    for name in tensors:
        if name.endswith("mlp.c_fc.weight"):
            tensors[name].fill_(3e38)


def _nan_weights(meta, tensors):
    tensors["transformer.wte.weight"][0, 0] = float("nan")


def _wrong_shape(meta, tensors):
    tensors["transformer.wpe.weight"] = torch.zeros(5, 16)


def _pickle() -> bytes:
    buf = io.BytesIO()
    torch.save({"x": torch.zeros(2)}, buf)
    return buf.getvalue()


def _zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, b in files.items():
            zf.writestr(n, b)
    return buf.getvalue()


BABY = "pages/baby_gpt.py"
TOK = "pages/tokenizers.py"
FP = "pages/forward_pass.py"
TEXT = "pages/text_model.py"
TASKS = "pages/tasks.py"
TXT = "upload:Plain text, UTF-8"
UPLOADING = {"text_source": "Upload a .txt file"}
GEN = "pages/generate.py"
ROOM = "pages/class_room.py"
GPT1 = "pages/gpt1.py"
IND = "pages/induction.py"
GEN_LABEL = "A small text model"


def _small_text_models() -> dict:
    """A tiny character model over a short text (no '<', '=' or '"' in its vocabulary)."""
    from gptviz.config import TrainConfig
    from gptviz.live import LiveRun
    from gptviz.text_model import build_text_run

    text = "the cat sat on the mat. the dog sat on the log. " * 20
    fresh = build_text_run(text, GPTConfig(1, 16, 1, 2, 16), TrainConfig(batch_size=4, seed=0))
    return {GEN_LABEL: LiveRun(fresh.trainer)}


A_MODEL = {"gptviz_models": _small_text_models}
LINK = "[x](https://evil.example)**b**"  # Markdown: a link, then bold, unless escaped


def _many_symbols(n: int = 61_000) -> bytes:
    """A text of n distinct characters (no surrogates, no NUL): more than a vocabulary takes."""
    return "".join(chr(c) for c in range(0x21, 0x21 + n + 2048)
                   if not 0xD800 <= c <= 0xDFFF)[:n].encode()
XSS = '<img src=x onerror="window.__xss=1">'
LOAD = "upload:Load a saved model"
NOT_OURS = "not a gptviz model file"

ROWS: list[Bad] = [
    # --- Baby GPT: widgets ---------------------------------------------------------------
    Bad(BABY, "widget:text_area:baby_seq", "01201", "outside the vocabulary"),
    Bad(BABY, "widget:text_area:baby_seq", "", "empty"),
    Bad(BABY, "widget:text_area:baby_seq", "   \n\t ", "empty"),
    Bad(BABY, "widget:text_area:baby_seq", "01", "at least 4"),
    Bad(BABY, "widget:text_area:baby_seq", "01" * 15_000, "limit is 20,000"),
    Bad(BABY, "widget:text_area:baby_seq", XSS, "not in the vocabulary"),
    Bad(BABY, "widget:text_area:baby_seq", "😀\u202e\x00\x01é", "not in the vocabulary"),
    Bad(BABY, "widget:number_input:baby_embd", 10, "not divisible"),
    Bad(BABY, "widget:number_input:baby_heads", 3, "not divisible"),
    Bad(BABY, "widget:number_input:baby_context", 16, "at least 17"),
    Bad(BABY, "widget:number_input:baby_vocab", 1, "outside the vocabulary"),
    *([Bad(BABY, "widget:selectbox:baby_device", "cuda", "no CUDA GPU")] if NO_GPU else []),
    # --- Baby GPT: the URL ---------------------------------------------------------------
    Bad(BABY, "url", {"baby_layers": "999999"}, r"`baby_layers` is above the maximum 8"),
    Bad(BABY, "url", {"baby_layers": "-1"}, "below the minimum 1"),
    Bad(BABY, "url", {"baby_layers": "abc"}, "is not a number"),
    Bad(BABY, "url", {"baby_seed": "1.5"}, "not a whole number"),
    Bad(BABY, "url", {"baby_lr": "nan"}, "not a finite number"),
    Bad(BABY, "url", {"baby_lr": "1e999"}, "not a finite number"),
    Bad(BABY, "url", {"baby_vocab": ""}, "is not a number"),
    Bad(BABY, "url", {"baby_steps": "9" * 500}, "too long"),
    Bad(BABY, "url", {"baby_seq": "<script>alert(1)</script>"}, "may only hold the symbols"),
    Bad(BABY, "url", {"baby_seq": "0" * 5_000}, "longer than 2,000"),
    Bad(BABY, "url", {"baby_device": "tpu"}, "must be one of cpu, cuda"),
    Bad(BABY, "url", {"baby_bias": "maybe"}, "must be 1 or 0"),
    Bad(BABY, "url", {"x" * 300: "1", "<b>": "2", "": "3"}, "does not know"),
    Bad(BABY, "url", {f"p{i}": str(i) for i in range(80)}, "more than 50"),
    Bad(BABY, "url", {"baby_embd": "10"}, "not divisible", fix={"baby_embd": 16}),
    Bad(BABY, "url", {"baby_seq": "0123"}, "outside the vocabulary",
        fix={"baby_seq": "0110101"}),
    Bad(BABY, "url", {"baby_context": "16"}, "at least 17", fix={"baby_context": 3}),
    # --- Baby GPT: model uploads ---------------------------------------------------------
    Bad(BABY, LOAD, lambda: ("model.zip", b""), "empty"),
    Bad(BABY, LOAD, lambda: ("model.zip", os.urandom(5000)), NOT_OURS),
    Bad(BABY, LOAD, lambda: ("model.zip", f"<html>{XSS}</html>".encode()), NOT_OURS),
    Bad(BABY, LOAD, lambda: ("model.zip", "a model".encode("utf-16")), NOT_OURS),
    Bad(BABY, LOAD, lambda: ("model.zip", _pickle()), NOT_OURS),
    Bad(BABY, LOAD, lambda: ("model.zip", os.urandom(30_000_000)), "the limit is"),
    Bad(BABY, LOAD, lambda: ("model.zip", _zip_of({CONFIG_NAME: b"{oops",
                                                   WEIGHTS_NAME: b""})), "not valid JSON"),
    Bad(BABY, LOAD, lambda: ("model.zip", _bundle(edit=_nan_weights)), "NaN or infinite"),
    Bad(BABY, LOAD, lambda: ("model.zip", _bundle(edit=_wrong_shape)), "has shape"),
    Bad(BABY, LOAD, lambda: ("model.zip", _bundle(
        edit=lambda m, t: m["model"].update(n_head=3))), "not divisible"),
    Bad(BABY, LOAD, lambda: ("model.zip", _bundle(
        GPTConfig(2, 3, 12, 4, 16))), "layers 12; this page takes 1 to 8"),
    Bad(BABY, LOAD, lambda: ("model.zip", _bundle(task={"kind": "text", "corpus": "x"})),
        "another page's task"),
    Bad(BABY, LOAD, lambda: ("model.zip", _bundle(task={"kind": "sequence", "sequence": XSS})),
        "may only hold the symbols"),
    Bad(BABY, LOAD, lambda: ("model.zip", _bundle(task={"kind": "sequence", "sequence": "22"})),
        "outside the vocabulary"),
    # --- Tokenizers ------------------------------------------------------------------------
    Bad(TOK, "widget:text_area:tok_text", "", "Type some text", before={"tok_kind": "bytes"}),
    Bad(TOK, "widget:text_area:tok_text", "😀\u202e\x00", "cannot encode your text",
        before={"tok_kind": "chars"}),
    Bad(TOK, "widget:text_area:tok_text", XSS * 400, None, before={"tok_kind": "bytes"}),
    Bad(TOK, "widget:text_area:tok_bpe_text", "too short", "at least 50",
        before={"tok_kind": "bpe", "tok_bpe_source": "paste", "tok_merges": 16}),
    Bad(TOK, "url", {"tok_kind": XSS, "page": "<script>", "x" * 300: "1"}, None),
    # --- Forward pass ----------------------------------------------------------------------
    Bad(FP, "widget:text_input:fp_prompt", "", "Type a prompt"),
    Bad(FP, "widget:text_input:fp_prompt", "😀\u202e\x00", "cannot read this prompt"),
    Bad(FP, "widget:text_input:fp_prompt", "a" * 5_000, "context window holds"),
    Bad(FP, "widget:number_input:fp_heads", 3, "divisible"),
    Bad(FP, "url", {"fp_source": XSS, "fp_layers": "-1"}, None),
    # --- Train on text: widgets, its .txt upload, the URL, model uploads ------------------
    Bad(TEXT, "widget:number_input:text_heads", 3, "divisible"),
    Bad(TEXT, "widget:text_input:text_prompt", "😀\x00", "outside this corpus's vocabulary"),
    Bad(TEXT, "widget:text_input:text_prompt", "", "outside this corpus's vocabulary"),
    *([Bad(TEXT, "widget:selectbox:text_device", "cuda", "no CUDA GPU")] if NO_GPU else []),
    Bad(TEXT, TXT, lambda: ("notes.txt", b""), "The file is empty", before=UPLOADING),
    Bad(TEXT, TXT, lambda: ("notes.txt", ("Grüße, Welt! " * 50).encode("utf-16")),
        "not UTF-8 text", before=UPLOADING),
    Bad(TEXT, TXT, lambda: ("notes.txt", b"text\x00" * 100), "looks binary", before=UPLOADING),
    Bad(TEXT, TXT, lambda: ("notes.txt", b"x" * 2_100_000), "the limit is 2.0 MB",
        before=UPLOADING),
    Bad(TEXT, TXT, lambda: ("notes.txt", b"hi"), "fewer than", before=UPLOADING),
    Bad(TEXT, "url", {"text_block": "99999", "text_layers": "abc"},
        "above the maximum 256.*|is not a number"),
    Bad(TEXT, "url", {"text_preset": XSS}, "`text_preset` must be one of"),
    Bad(TEXT, "url", {"text_prompt": "x" * 500}, "longer than 200"),
    Bad(TEXT, "url", {"text_lr": "-inf", "text_sample_temp": "1e9"}, "not a finite|above"),
    Bad(TEXT, LOAD, lambda: ("model.zip", _bundle()), "another page's task"),
    Bad(TEXT, LOAD, lambda: ("model.zip", _bundle(task={"kind": "text", "sha1": "0" * 40},
                                                  edit=_text_page_training)),
        "trained on another text"),
    # every field checked before arithmetic; weights that overflow refused (issue 15)
    Bad(BABY, LOAD, lambda: ("model.zip", _bundle(edit=_heads(0))), "at least one attention head"),
    Bad(BABY, LOAD, lambda: ("model.zip", _bundle(edit=_seed(2**64))), "seed must be 0 to"),
    Bad(BABY, LOAD, lambda: ("model.zip", _bundle(edit=_huge_weights)),
        "overflow on a forward pass"),
    Bad(TEXT, LOAD, lambda: ("model.zip", os.urandom(3000)), NOT_OURS),
    # issue 15, small ones: a corpus no vocabulary can hold; names and keys from files as text
    Bad(TEXT, TXT, lambda: ("many.txt", _many_symbols()), "has 61,000 distinct characters.*"
        "at most 60,000.*smaller file, or one written with fewer distinct symbols",
        before=UPLOADING),
    Bad(TEXT, TXT, lambda: (f"{LINK}.txt", b""), r"Cannot use the file '\[x\]", before=UPLOADING),
    Bad(BABY, LOAD, lambda: ("model.zip", _zip_of({f"{LINK}.json": b"{}"})),
        re.escape(f"{LINK}.json")),
    Bad(BABY, LOAD, lambda: ("model.zip", _bundle(edit=lambda m, t: m["train"].update(
        {LINK: 1}))), "unknown setting"),
    Bad(BABY, LOAD, lambda: ("model.zip", _bundle(task={"kind": LINK})), "another page's task"),
    # --- Generate (with a small model of this session, and without one) -------------------
    Bad(GEN, "widget:text_area:gen_prompt", "", "Cannot use this prompt", before=A_MODEL),
    Bad(GEN, "widget:text_area:gen_prompt", "😀\x00", "Cannot use this prompt", before=A_MODEL),
    Bad(GEN, "widget:text_area:gen_prompt", XSS, "Cannot use this prompt", before=A_MODEL),
    Bad(GEN, "url", {"gen_prompt": XSS, "gen_n": "1e9"}, "no trained model"),
    # --- Sorting & addition -----------------------------------------------------------------
    Bad(TASKS, "widget:text_input:tasks_own", "12 + abc", "not a whole number"),
    Bad(TASKS, "widget:text_input:tasks_own", "99999 + 1", "digits"),
    Bad(TASKS, "widget:text_input:tasks_own", XSS, "Type two numbers"),
    Bad(TASKS, "widget:number_input:tasks_heads", 3, "divisible"),
    *([Bad(TASKS, "widget:selectbox:tasks_device", "cuda", "no CUDA GPU")] if NO_GPU else []),
    Bad(TASKS, "url", {"tasks_task": "division"}, "must be one of addition, sorting"),
    Bad(TASKS, "url", {"tasks_ndigit": "0", "tasks_seed": "-5"}, "below the minimum"),
    Bad(TASKS, "url", {"tasks_own": "<script>alert(1)</script>"}, "may only hold digits"),
    Bad(TASKS, "url", {"tasks_task": "sorting", "tasks_length": "99"},
        "above the maximum 12"),
    # --- Induction heads ---------------------------------------------------------------------
    Bad(IND, "widget:number_input:ind_seq_len", 31, "cannot be cut into two equal halves"),
    Bad(IND, "widget:number_input:ind_seq_len", 2, "too short to repeat"),
    Bad(IND, "widget:number_input:ind_vocab", 1, "2 to 64 random tokens"),
    Bad(IND, "widget:number_input:ind_heads", 3, "not divisible"),
    Bad(IND, "widget:number_input:ind_min_half", 40, "shortest half must be 2 to 15",
        before={"ind_layout": "varied"}),
    Bad(IND, "url", {"ind_seq_len": "31", "<script>": XSS}, None),
    # --- GPT-1 (numbers only, all bounded by their widgets): hostile links draw it normally --
    Bad(GPT1, "url", {"gpt1_lam": "1e999", "<script>": XSS, "page": "../../etc"}, None),
    # --- the class room: a code or a name that cannot be, said as it is typed -------------
    Bad(ROOM, "widget:text_input:room_code", "hello!", "A room code has 6 characters"),
    Bad(ROOM, "widget:text_input:room_code", "AB0OI1", "there is no 0, O, 1 or I"),
    Bad(ROOM, "widget:text_input:room_name", "[x](http://e)**b**<script>",
        "may hold letters, digits, spaces"),
    Bad(ROOM, "widget:text_input:room_name", "a" * 10_000, "this one has 10,000"),
    Bad(ROOM, "url", {"room": XSS}, "A room code has 6 characters"),
    # --- the app's entry point and home page: hostile links draw the page normally -------
    Bad("app.py", "url", {"page": "../../etc/passwd", "<script>": XSS}, None),
    Bad("app.py", "url", {"x": XSS * 50, "embed": "true", "embed_options": "<b>"}, None),
]


# --- how to use each page -------------------------------------------------------------------
@dataclass(frozen=True)
class PageProbe:
    prepare: Callable[[AppTest], Any]  # give the page a model; returns what must survive
    usable: Callable[[AppTest, Any], None]  # asserts the page still works (and kept it)


def _the_run(at: AppTest, key: str):
    """The page's LiveRun: session_state[key], or for the tasks page the current task's."""
    if key == "tasks_runs":  # one run per task
        return at.session_state[f"tasks_{at.session_state['tasks_task']}_run"]
    return at.session_state[key]


def _trains(key: str) -> PageProbe:
    """A page that trains a model: one step first; afterwards the same model takes a step."""

    def prepare(at: AppTest) -> Any:
        button(at, "One step").click().run()
        run = _the_run(at, key)
        assert run.trainer.step_count == 1
        return run.trainer.model

    def usable(at: AppTest, model: Any) -> None:
        run = _the_run(at, key)
        if model is not None:
            assert run.trainer.model is model, "the trained model was lost"
        before = run.trainer.step_count
        button(at, "One step").click().run()
        assert not at.exception
        assert _the_run(at, key).trainer.step_count == before + 1

    return PageProbe(prepare, usable)


def _draws(at: AppTest, _: Any) -> None:
    assert at.title and not at.exception


def _tokenizes(at: AppTest, _: Any) -> None:
    at.session_state["tok_kind"] = "bytes"
    at.text_area(key="tok_text").set_value("héllo").run()
    assert not at.exception
    assert at.metric[0].value == "6"  # 6 UTF-8 bytes: the page works again


def _predicts(at: AppTest, _: Any) -> None:
    at.text_input(key="fp_prompt").set_value("Hello").run()
    assert not at.exception
    assert any(s.value.startswith("Prediction") for s in at.subheader)


def _generates(at: AppTest, _: Any) -> None:
    models = at.session_state["gptviz_models"] if "gptviz_models" in at.session_state else {}  # noqa: SIM401
    if not models:
        assert any(b.label.startswith("Quick-train") for b in at.button)
        return
    at.text_area(key="gen_prompt").set_value("the ").run()
    button(at, "Next token").click().run()
    assert not at.exception
    assert len(at.session_state["gen_ids"]) == len("the ") + 1  # one character generated


def _keep_gen_model(at: AppTest) -> Any:
    if "gptviz_models" in at.session_state:
        return at.session_state["gptviz_models"][GEN_LABEL].trainer.model
    return None


def _generates_with_its_model(at: AppTest, model: Any) -> None:
    if model is not None:
        assert at.session_state["gptviz_models"][GEN_LABEL].trainer.model is model
    _generates(at, None)


PROBES = {
    GEN: PageProbe(_keep_gen_model, _generates_with_its_model),
    BABY: PageProbe(_trains("baby_run").prepare, _trains("baby_run").usable),
    TEXT: _trains("text_run"),
    TASKS: _trains("tasks_runs"),
    IND: _trains("ind_run"),
    TOK: PageProbe(lambda at: None, _tokenizes),
    FP: PageProbe(lambda at: None, _predicts),
    GPT1: PageProbe(lambda at: None, _draws),
    "app.py": PageProbe(lambda at: None, _draws),
    ROOM: PageProbe(lambda at: None, _draws),
}


def _messages(at: AppTest) -> list[str]:
    """The page's messages as a reader sees them (Markdown escapes removed)."""
    return [unescape_markdown(e.value) for e in (*at.error, *at.warning, *at.info)]


def _assert_no_markup_from_input(at: AppTest) -> None:
    """No message or caption turns text from the input into a link (issue 15)."""
    for e in (*at.error, *at.warning, *at.info, *at.success, *at.caption, *at.markdown):
        assert "](https://evil" not in e.value, e.value


def _id(row: Bad) -> str:
    value = row.value
    if callable(value):
        value = value.__code__.co_firstlineno  # the table's line: unique and findable
    text = re.sub(r"[^A-Za-z0-9_=,.-]+", "", str(value))[:24]
    return f"{Path(row.page).stem}-{row.entry.split(':')[0]}-{row.entry.split(':')[-1][:12]}-{text}"


@pytest.fixture(autouse=True)
def _release_session_resources():
    yield
    st.cache_resource.clear()


def test_the_table_is_big_enough_and_covers_every_page():
    assert len(ROWS) >= 30
    assert {r.entry.split(":")[0] for r in ROWS} == {"widget", "url", "upload"}
    from pages._catalog import CATALOG
    assert {p.path for p in CATALOG} <= {r.page for r in ROWS}, "a page without bad inputs"


@pytest.mark.parametrize("row", ROWS, ids=[_id(r) for r in ROWS])
def test_bad_input_gets_a_message_and_the_page_stays_usable(row: Bad):
    probe = PROBES[row.page]
    at = AppTest.from_file(str(ROOT / row.page), default_timeout=90)
    for k, v in row.before.items():
        at.session_state[k] = v() if callable(v) else v
    kept = None
    fix = dict(row.fix)
    if row.entry == "url":
        for k, v in row.value.items():
            at.query_params[k] = v
        at.run()
    else:
        at.run()
        kept = probe.prepare(at)
        kind, *rest = row.entry.split(":")
        if kind == "widget":
            wkind, key = rest
            widget = getattr(at, wkind)(key=key)
            fix = fix or {key: widget.value}  # afterwards, the student puts it back
            widget.set_value(row.value).run()
        else:
            uploader = next(u for u in at.get("file_uploader") if u.label.startswith(rest[0]))
            name, data = row.value()
            mime = "text/plain" if name.endswith(".txt") else "application/zip"
            uploader.set_value((name, data, mime)).run()
    assert not at.exception, at.exception[0].message  # no traceback element
    messages = _messages(at)
    if row.expect is not None:
        assert any(re.search(row.expect, m) for m in messages), messages
    for m in messages:
        assert "Traceback" not in m and len(m) < 600, m
    _assert_no_markup_from_input(at)
    if fix:
        for key, value in fix.items():
            at.session_state[key] = value
        at.run()
        assert not at.exception
    probe.usable(at, kept)
    for key in ("baby_run", "text_run", "ind_run"):
        if key in at.session_state:
            at.session_state[key].pause()
    for key in ("tasks_addition_run", "tasks_sorting_run"):
        if key in at.session_state:
            at.session_state[key].pause()
