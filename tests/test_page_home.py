"""The entry script and the home page: navigation built from the catalog, a card per page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages._catalog import CATALOG

ROOT = Path(__file__).resolve().parents[1]


def test_every_catalog_page_exists_and_has_a_unique_title():
    assert len({p.title for p in CATALOG}) == len(CATALOG)
    for p in CATALOG:
        assert (ROOT / p.path).is_file(), p.path
        assert len(p.blurb) > 40


def test_home_page_links_to_every_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value.startswith("gptviz")
    links = [e.proto.page for e in at.get("page_link")]
    for p in CATALOG:
        assert any(link.endswith(Path(p.path).stem) or p.path in link for link in links), links


def test_the_app_runs_torch_on_one_thread_and_preloads_pandas_for_plotly():
    """The heavy imports app.py starts in the background (pages/_warm.py, pages/_preload.py):
    torch on one thread for every thread started afterwards (LiveRun's trainers; the README's
    measured setting), and plotly's lazy pandas lookup answered from a fully imported module."""
    import sys
    import threading

    import torch

    from pages import _warm

    _warm.start()
    _warm.wait()  # the background import (started by an earlier test) has ended: run it anew
    torch.set_num_threads(2)
    sys.modules.pop("pages._preload", None)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    _warm.wait()
    seen: list[int] = []
    trainer_like = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    trainer_like.start()
    trainer_like.join()
    assert seen == [1]
    from _plotly_utils.optional_imports import get_module

    assert get_module("pandas") is sys.modules["pandas"]
    assert hasattr(sys.modules["pandas"], "Series")


# Run in a fresh interpreter: this test process has long imported torch. The background
# warm-ups are switched off so that what the pages themselves import is what is seen.
_FRESH = """
import sys
from streamlit.testing.v1 import AppTest
import pages._warm as warm
from pages._catalog import CATALOG
training_warm_ups = []
warm.start = lambda: None
warm.start_training = lambda: training_warm_ups.append(1)
at = AppTest.from_file("app.py", default_timeout=120)
at.run()
assert not at.exception, at.exception
print("HOME", sorted(m for m in ("torch", "pandas", "pages._preload") if m in sys.modules),
      len(training_warm_ups))
at.switch_page("pages/tokenizers.py").run()
assert not at.exception, at.exception
print("PAGE", "pages._preload" in sys.modules)
for info in CATALOG:
    at.switch_page(info.path).run()
    assert not at.exception, (info.path, at.exception)
    if "torch._dynamo" in sys.modules:
        print("DYNAMO", info.path)
        break
print("TRAINING WARM-UPS", len(training_warm_ups))
"""


def test_the_home_page_draws_without_torch_and_other_pages_wait_for_it():
    """First paint: the home page imports neither torch nor pandas (they load in the
    background meanwhile), and a page that draws figures runs only after the heavy imports
    are complete (the guard against plotly reading a half-imported pandas). No page's first
    run builds an optimizer (torch._dynamo, 0.8 s: a Trainer builds its AdamW at its first
    step), and the background import of it starts after a training page's run, not the home
    page's."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _FRESH], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "HOME [] 0" in out.stdout, out.stdout
    assert "PAGE True" in out.stdout, out.stdout
    assert "DYNAMO" not in out.stdout, out.stdout
    warm_ups = int(out.stdout.split("TRAINING WARM-UPS")[1].split()[0])
    assert warm_ups >= len(CATALOG) - 2, out.stdout  # (a page that ends with st.stop() skips it)


def test_a_presenter_link_to_a_page_without_a_live_view_says_so():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file("../pages/tokenizers.py", default_timeout=30)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    assert any("Presenter mode and locked demos are for the pages that train live" in i.value
               for i in at.info)


def test_catalog_sections_are_contiguous_so_the_navigation_keeps_its_order():
    # app.py groups the pages by section in first-seen order: a section split in two would put
    # its later page out of the catalog's (and the home page's) order
    from pages._catalog import CATALOG

    sections = [info.section for info in CATALOG]
    firsts = list(dict.fromkeys(sections))
    assert sections == [s for s in firsts for _ in range(sections.count(s))]


_RACE = """
import sys, time
from gptviz.config import DOC000_MODEL, DOC000_SEQUENCE, DOC000_TRAIN
from gptviz.tasks import SequenceTask
from gptviz.train import Trainer, build_model
trainer = Trainer(build_model(DOC000_MODEL, 1337), SequenceTask(DOC000_SEQUENCE, 2, 3),
                  DOC000_TRAIN)
import pages._warm as warm
warm.TRAINING_DELAY_S = 0.0
warm.start_training()
def importing():
    m = sys.modules.get("torch._dynamo")
    return m is not None and getattr(m.__spec__, "_initializing", False)
end = time.monotonic() + 30
while not importing() and time.monotonic() < end:
    time.sleep(0.005)
print("PARTWAY", importing())
print("LOSS", trainer.step().loss)
"""


def test_a_first_step_during_the_background_optimizer_import_waits_for_it():
    """The first Train click can come while pages/_preload_training.py is importing
    torch._dynamo in the background: the training thread's own import waits for it on
    Python's module lock (no half-initialised module), and the step is document 000's. The
    step is taken while that import is seen half-way (the module in sys.modules, still
    initialising)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _RACE], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "PARTWAY True" in out.stdout, out.stdout
    loss = float(out.stdout.split("LOSS")[1].split()[0])
    assert loss == pytest.approx(0.663539, abs=1e-6)
