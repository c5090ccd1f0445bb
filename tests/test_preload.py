"""First paint: the home page draws without the heavy imports, which one background thread
(pages/_preload.py, started by app.py's first run) does for every other page, which waits."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "pandas", "gptviz.train")  # (Streamlit itself imports plotly)


def _python(code: str) -> str:
    """Run code in a fresh interpreter from the repo root; its stdout (fails on an error)."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_home_page_imports_no_torch_and_waits_for_nothing():
    """app.py + pages/home.py, run with the warm-up switched off: none of torch, pandas or
    plotly's figures gets imported, and the home page never waits for the warm-up."""
    out = _python(f"""
        import sys
        from streamlit.testing.v1 import AppTest
        import pages._preload as pre

        before = [m for m in {HEAVY!r} if m in sys.modules]
        assert not before, before
        pre.start = lambda: None
        def wait(timeout=None):
            raise AssertionError("the home page waited for the warm-up")
        pre.wait = wait
        at = AppTest.from_file("app.py", default_timeout=60).run()
        assert not at.exception, at.exception
        assert at.title[0].value.startswith("gptviz")
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
    """)
    assert out.strip().splitlines()[-1] == "[]"


def test_the_warm_up_runs_torch_on_one_thread_and_imports_plotly_and_pandas():
    """In a fresh process: start() twice gives one thread; when it is done torch runs on one
    thread (also in threads started afterwards, as LiveRun's trainers are) and plotly's lazy
    pandas lookup is answered by the complete module."""
    out = _python("""
        import sys, threading
        import torch
        torch.set_num_threads(2)
        import pages._preload as pre

        assert "pandas" not in sys.modules and "gptviz.train" not in sys.modules
        t = pre.start(background=True)  # as in a server (the test has no Streamlit Runtime)
        assert pre.start() is t and t.name == "gptviz-warm-up"
        assert pre.wait(300)
        seen = []
        trainer_like = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        trainer_like.start()
        trainer_like.join()
        from _plotly_utils.optional_imports import get_module
        pandas = get_module("pandas")
        assert pandas is sys.modules["pandas"] and hasattr(pandas, "Series")
        t.join(300)
        print(seen, torch.get_num_threads(), "plotly.graph_objects" in sys.modules,
              "gptviz.train" in sys.modules, sorted(pre.timings))
    """)
    seen, main, plotly, gptviz, stages = out.strip().splitlines()[-1].split(" ", 4)
    assert (seen, main, plotly, gptviz) == ("[1]", "1", "True", "True")
    for stage in ("torch", "pandas_plotly", "page_imports", "torch_first_pass", "shared_data",
                  "total"):
        assert stage in stages, stages


def _preload():
    """The module app.py imports now (another test may have imported it afresh)."""
    return importlib.import_module("pages._preload")


def test_page_modules_reads_the_pages_imports():
    mods = _preload().page_modules(["pages/tasks.py", "pages/home.py", "pages/no_such_page.py"])
    assert "torch" in mods and "gptviz.train" in mods and "pages._catalog" in mods
    assert "__future__" not in mods and len(mods) == len(set(mods))


def test_every_page_but_home_waits_for_the_warm_up(monkeypatch):
    """app.py runs a page other than home only after the warm-up is done."""
    preload = _preload()
    calls: list[str] = []
    pending = threading.Event()

    def wait(timeout: float = 0) -> bool:
        calls.append("wait")
        pending.set()
        return True

    monkeypatch.setattr(preload, "done", pending)
    monkeypatch.setattr(preload, "wait", wait)
    monkeypatch.setattr(preload, "start", lambda background=None: None)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception and calls == []
    at.switch_page("pages/forward_pass.py").run()
    assert not at.exception
    assert calls == ["wait"]
    assert at.title[0].value.startswith("The forward pass")


def test_the_home_page_has_the_browser_load_the_other_pages_element_code():
    """The home page's script imports Streamlit's element modules that exist in this
    Streamlit's build (PlotlyChart above all), from the URL of Streamlit's own index module."""
    preload = _preload()
    chunks = preload.frontend_chunks()
    assert any(c.startswith("PlotlyChart.") for c in chunks), chunks
    for c in chunks:
        assert (preload.STATIC_JS / c).is_file()
    html = preload.browser_warm_up_html()
    assert all(f'"{c}"' in html for c in chunks)
    index = (preload.STATIC_JS.parents[1] / "index.html").read_text()
    assert 'type="module"' in index and "/static/js/index." in index  # what the script finds
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    bodies = [h.proto.body for h in at.get("html")]
    assert any("__gptvizWarmUp" in b for b in bodies)
    assert all(h.proto.unsafe_allow_javascript for h in at.get("html") if "__gptviz" in
               h.proto.body)
