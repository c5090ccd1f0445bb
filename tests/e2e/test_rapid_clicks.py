"""Clicks much faster than a person's on every training page: no traceback on the page or in
the server's log, and ten Quick-trains on Generate train one model.

bench/rapid_clicks.py sends each click without waiting for the page (websocket clients,
bench/ws_client.py), so Streamlit folds several into one rerun: Reset then Fine-tune in the
same rerun raised KeyError('gpt1_pre_run') in the Fine-tune callback (issue 15: 25 in 166), and
a Train or One step after a Reset trained the model the Reset had thrown away.
"""

from __future__ import annotations

import json

import pytest

from bench.rapid_clicks import run_rapid

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("seed", [0, 1])
def test_fast_clicks_on_every_training_page_log_no_traceback(seed, capsys):
    r = run_rapid(clicks=40, seed=seed)
    with capsys.disabled():
        print("\nrapid clicks:", json.dumps({k: v for k, v in r.items() if k != "log_tail"}))
    assert all(n >= 10 for n in r["clicks_sent"].values()), r["clicks_sent"]
    assert r["page_exceptions"] == [], r["page_exceptions"]
    assert r["bad_log_lines"] == [], r["log_tail"]
    q = r["quick_train"]
    assert q["page_exceptions"] == []
    assert q["taps_sent"] == 10, q  # the page showed its Quick-train button, and all were sent
    assert any("still training" in t for t in q["texts"]), q["texts"]  # it did start one
    # two sessions closed; the Quick-train one was training exactly one model when it closed
    assert len(r["runs_stopped_at_close"]) == 2, r["runs_stopped_at_close"]
    assert r["runs_stopped_at_close"][-1] == 1, r["runs_stopped_at_close"]
