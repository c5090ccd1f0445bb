"""The entry script and the home page: navigation built from the catalog, a card per page."""

from __future__ import annotations

from pathlib import Path

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
    """app.py's first import (pages/_preload.py): torch on one thread for every thread started
    afterwards (LiveRun's trainers; the README's measured setting), and plotly's lazy pandas
    lookup answered from a fully imported module."""
    import sys
    import threading

    import torch

    torch.set_num_threads(2)
    sys.modules.pop("pages._preload", None)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    seen: list[int] = []
    trainer_like = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    trainer_like.start()
    trainer_like.join()
    assert seen == [1]
    from _plotly_utils.optional_imports import get_module

    assert get_module("pandas") is sys.modules["pandas"]
    assert hasattr(sys.modules["pandas"], "Series")


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
