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
