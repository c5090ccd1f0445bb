"""The Forward pass page's block diagram in Chromium: clicking a head's box opens that head's
attention beside the diagram (the numbers checked against the same model traced here), the
Stage picker follows the click, the diagram fits a 1280x720 screen for 2 layers of 2 heads,
and a 6-layer, 8-head model scrolls inside its own box with the stage still in view.

Screenshots (screenshots/forward_diagram_*.png) are the viewport as a projector shows it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from playwright.sync_api import expect

from gptviz.config import GPTConfig
from gptviz.corpus import builtin_corpus
from gptviz.tokenizers import CharTokenizer
from gptviz.trace import trace_forward
from gptviz.train import build_model
from tests.apptest_helpers import array

from .harness import SCREENSHOT_DIR, assert_no_exception, wait_ready

pytestmark = pytest.mark.browser

PROMPT = "Hello, I am"  # the page's defaults: characters, context 32, 32 dims, seed 1337

# The centre of a part's box on screen, after scrolling it into view (the diagram of a deep
# model scrolls inside its own container); null until the diagram is drawn.
BOX_JS = """(id) => {
  const gd = document.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullLayout || !gd.layout.shapes) return null;
  const s = gd.layout.shapes.find(s => s.name === id);
  if (!s) return null;
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const at = () => { const r = gd.getBoundingClientRect();
    return {x: r.x + xa._offset + xa.l2p((s.x0 + s.x1) / 2),
            y: r.y + ya._offset + ya.l2p((s.y0 + s.y1) / 2)}; };
  for (let el = gd.parentElement; el; el = el.parentElement) {  // inner scroller, then the page
    if (el.scrollHeight > el.clientHeight + 1 && getComputedStyle(el).overflowY !== 'visible') {
      const box = el.getBoundingClientRect(), p = at();
      const mid = Math.max(box.y, 0) + Math.min(box.height, window.innerHeight) / 2;
      el.scrollTop += p.y - mid;
    }
  }
  return at();
}"""
PLOTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => {
  const r = gd.getBoundingClientRect();
  const plain = t => (t || '').replace(/<[^>]+>/g, '');
  const heads = (gd.layout.annotations || []).map(a => plain(a.text)).join(' ');
  return {title: plain(gd.layout.title && gd.layout.title.text) + ' · ' + heads, x: r.x, y: r.y,
          right: r.right, bottom: r.bottom, z: gd.data[0] && gd.data[0].z};
})"""
# The diagram's top just under Streamlit's header, as a teacher scrolls to it.
SCROLL_TO_DIAGRAM_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  gd.scrollIntoView({block: 'start'});
  const main = document.querySelector("[data-testid='stMain']");
  if (main) main.scrollBy(0, -70);
  window.scrollBy(0, -70);
}"""
SCROLL_TO_STAGE_JS = """() => {
  document.querySelector("input[aria-label='Stage']").closest("[data-testid='stSelectbox']")
    .scrollIntoView({block: 'start'});
  const main = document.querySelector("[data-testid='stMain']");
  if (main) main.scrollBy(0, -70);
}"""
# Where a part's box is on screen now, scrolling nothing.
VIEW_JS = BOX_JS.replace("for (let el = gd.parentElement; el;", "for (let el = null; el;")
SMALL_TEXT_JS = """() => Array.from(document.querySelector('.js-plotly-plot')
    .querySelectorAll('text'))
  .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0)
  .map(t => [t.textContent.slice(0, 20), parseFloat(getComputedStyle(t).fontSize)])
  .filter(x => x[1] < 14)"""


def shot(page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"))


def stage_picker(page):
    return page.get_by_role("combobox", name="Stage", exact=True)


def open_forward(page, base_url: str) -> None:
    page.goto(base_url + "/forward_pass")
    wait_ready(page)
    page.wait_for_function(BOX_JS, arg="ids", timeout=30_000)
    page.evaluate(SCROLL_TO_DIAGRAM_JS)
    page.wait_for_timeout(300)


def click_part(page, part_id: str, words: str) -> dict:
    """Click the part's box until the stage's figure beside it has `words` in its title (its
    heads' names follow the title: "Keys K · head 2"); a click that lands while Streamlit swaps
    the chart in is lost, so it tries again. Returns that figure."""
    for _ in range(3):
        box = page.wait_for_function(BOX_JS, arg=part_id, timeout=20_000).json_value()
        page.mouse.click(box["x"], box["y"])
        wait_ready(page)
        for _ in range(25):
            found = [p for p in page.evaluate(PLOTS_JS)[1:] if words in p["title"]]
            if found:
                return found[0]
            page.wait_for_timeout(200)
    raise AssertionError(f"clicking {part_id} opened no figure titled ...{words}")


def expected_attention(layer: int, head: int, n_layer: int = 2, n_head: int = 2) -> np.ndarray:
    tok = CharTokenizer.from_text(builtin_corpus(), name="characters (built-in corpus)")
    cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=n_layer, n_head=n_head,
                    n_embd=32, bias=True)
    torch.set_num_threads(1)
    trace = trace_forward(build_model(cfg, 1337).eval(), tok.encode(PROMPT), tok)
    return trace.get("attn_weights", layer).tensor[head].numpy()


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_clicking_a_head_opens_its_attention_beside_the_diagram(app_server, browser_page,
                                                                 size):
    page = browser_page
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_forward(page, app_server)
    diagram = page.evaluate(PLOTS_JS)[0]
    assert diagram["bottom"] - diagram["y"] <= size[1] - 60, diagram  # one screen, header too
    assert page.evaluate(SMALL_TEXT_JS) == []
    fig = click_part(page, "attn_weights:0:1", "· head 2")
    assert fig["title"] == "Attention weights (softmax) · head 2"  # the title, the head
    # beside the diagram, on the same screen
    assert fig["x"] >= diagram["right"] and fig["y"] < size[1] - 100, (fig, diagram)
    z = array(fig["z"])
    assert np.allclose(z, expected_attention(0, 1), atol=1e-5)  # this head's, not head 1's
    expect(stage_picker(page)).to_have_value("Block 1 · head 2")  # it follows the click
    page.evaluate(SCROLL_TO_DIAGRAM_JS)
    page.wait_for_timeout(300)
    plots = page.evaluate(PLOTS_JS)  # the diagram and the head's heatmap, both whole
    assert plots[0]["bottom"] <= size[1] and plots[1]["bottom"] <= size[1] + 5, plots[:2]
    shot(page, f"forward_diagram_head2_{size[0]}x{size[1]}")
    # another box: block 2's head 1, then the MLP's hidden layer
    fig = click_part(page, "attn_weights:1:0", "· head 1")
    assert np.allclose(array(fig["z"]), expected_attention(1, 0), atol=1e-5)
    click_part(page, "mlp_hidden:0", "(after GELU)")
    expect(stage_picker(page)).to_have_value("Block 1 · MLP")
    assert_no_exception(page)


def test_a_deep_model_scrolls_in_its_own_box_and_stays_readable(app_server, browser_page):
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 720})
    open_forward(page, app_server)
    page.get_by_text("Model size (a fresh, untrained model)").click()
    for label, value in (("Layers", "6"), ("Heads", "8")):
        field = page.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Enter")
        wait_ready(page)
    page.wait_for_function(BOX_JS, arg="attn_weights:5:7", timeout=30_000)
    assert page.evaluate(SMALL_TEXT_JS) == []
    fig = click_part(page, "attn_weights:5:7", "· head 8")
    assert np.allclose(array(fig["z"]), expected_attention(5, 7, n_layer=6, n_head=8),
                       atol=1e-5)
    diagram = page.evaluate(PLOTS_JS)[0]
    assert diagram["bottom"] - diagram["y"] > 1000  # taller than the screen: it scrolls...
    assert 0 <= fig["y"] < 720 - 100  # ...and the stage beside it stays in view
    page.evaluate(SCROLL_TO_STAGE_JS)  # the page at the row's top: the picker shows too
    page.wait_for_timeout(300)
    inner = page.evaluate(VIEW_JS, "attn_weights:5:7")
    assert 0 < inner["y"] < 720, inner  # the clicked box still shows in the scrolled diagram
    shot(page, "forward_diagram_6x8_1280x720")
    assert_no_exception(page)
