"""The Tokenizers and Forward pass pages in a real browser: drawn, safe, and interactive.

Served through a throwaway navigation script, so these tests do not depend on app.py.
"""

from __future__ import annotations

import textwrap

import pytest
from playwright.sync_api import expect

from .harness import (
    REPO_ROOT,
    assert_no_exception,
    save_screenshot,
    streamlit_server,
    wait_ready,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def tok_server(tmp_path_factory, gpt2_tiktoken_dir):
    # the server inherits TIKTOKEN_CACHE_DIR from gpt2_tiktoken_dir: GPT-2 works offline
    script = tmp_path_factory.mktemp("tok_app") / "tok_app.py"
    script.write_text(textwrap.dedent(f"""
        import streamlit as st
        import torch

        torch.set_num_threads(1)
        st.navigation([
            st.Page({str(REPO_ROOT / "pages" / "tokenizers.py")!r}, title="Tokenizers",
                    url_path="tokenizers"),
            st.Page({str(REPO_ROOT / "pages" / "forward_pass.py")!r}, title="Forward pass",
                    url_path="forward_pass"),
        ]).run()
    """))
    with streamlit_server(script) as (url, _):
        yield url


def test_tokenizers_page_colours_tokens_and_never_runs_user_html(tok_server, browser_page):
    page = browser_page
    page.goto(tok_server)  # the first page is the default one, at /
    wait_ready(page)
    assert_no_exception(page)
    expect(page.get_by_text("15496", exact=True)).to_be_visible()  # "Hello" in GPT-2
    save_screenshot(page, "tokenizers_gpt2")

    page.get_by_text("Bytes", exact=True).click()
    wait_ready(page)
    box = page.get_by_label("Your text")
    box.fill("<img src=x onerror=alert(1)>")
    box.press("Control+Enter")
    expect(page.get_by_text("Vocabulary size")).to_be_visible()
    wait_ready(page)
    expect(page.locator("[data-testid='stMetricValue']").first).to_have_text("28")
    assert page.locator("img[src='x']").count() == 0  # shown as text, not an element
    assert_no_exception(page)
    save_screenshot(page, "tokenizers_bytes_escaped")


def test_forward_pass_page_opens_a_stage(tok_server, browser_page):
    page = browser_page
    page.goto(f"{tok_server}/forward_pass")
    wait_ready(page)
    assert_no_exception(page)
    expect(page.get_by_text("Prediction:", exact=False).first).to_be_visible()
    plots_before = page.locator(".js-plotly-plot").count()
    # the block diagram, the stage picked in it, the top-k bars and the logit lens; the list of
    # every stage below is closed
    assert plots_before == 4
    page.get_by_text("Block 1 · Attention weights (softmax)", exact=False).last.click()
    expect(page.locator(".js-plotly-plot")).to_have_count(5, timeout=30_000)
    wait_ready(page)
    assert_no_exception(page)
    save_screenshot(page, "forward_pass_attention_open")
