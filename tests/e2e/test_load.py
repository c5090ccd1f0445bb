"""Load tests (slow, run in CI): a class training at once on one server, and 100 sessions that
come and go.

The students are websocket clients speaking Streamlit's protocol (bench/ws_client.py): to the
server each is a browser tab, and they cost the test machine almost nothing, so the figures
are the server's. The figures (printed, and in bench/results/) come from
`python -m bench.load_test`; these tests assert what must hold on any machine, with bounds loose
enough for a shared CI box.
"""

from __future__ import annotations

import json

import pytest

from bench.load_test import run_churn, run_load

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def load() -> dict:
    r = run_load(sessions=10, seconds=30, browser_newcomer=False)
    print("\nload test:", json.dumps({k: v for k, v in r.items() if k != "per_session"}))
    return r


def test_ten_students_train_at_once_safely(load):
    r = load
    assert r["no_exceptions"], r["per_session"]
    assert r["server_rss_mb"]["peak"] < 1500  # inside Community Cloud's 2.7 GB (and 1.5 GB)
    # closing the tabs stopped every trainer: threads back to before training
    assert r["server_threads"]["after_close"] <= r["server_threads"]["all_open_before_training"]


def test_ten_students_all_progress_and_redraw_every_second(load):
    r = load
    assert r["every_session_progressed"], r["per_session"]
    # the target is a redraw a second (median gap 0.74-0.75 s on a quiet machine, from
    # `python -m bench.load_test`); a shared CI box once froze every view at once for 75 s
    # (the median gap was then 1.84 s), so the suite's bound is "the views keep redrawing"
    assert r["redraw_gap_median_s"] <= 2.0, r["per_session"]
    assert r["new_visitor_under_load"]["ws_page_complete_s"] is not None


def test_a_hundred_sessions_opened_trained_and_closed_give_resources_back(capsys):
    r = run_churn(sessions=100, batch=10)
    with capsys.disabled():
        print("\nchurn test:", json.dumps(r))
    assert r["sessions_that_trained_all_steps"] == 100, r
    t = r["server_threads"]
    assert t["end"] <= t["after_first_batch"] + 2, t
    m = r["server_rss_mb"]
    assert m["end"] <= m["after_first_batch"] + 150, m  # no per-session growth left behind
