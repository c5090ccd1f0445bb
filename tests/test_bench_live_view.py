"""bench/live_view.py: the timestamps -> figures parts, on hand-made timestamps whose answers
are worked out by hand (the oracle), and a short websocket-only run of the real app.

The browser parts (Chromium) take minutes on a loaded 2-core host and are not run here:
`python -m bench.live_view --quick` is their smoke test.
"""

from __future__ import annotations

import json
import math

import pytest

from bench import live_view as lv


def test_percentile_interpolates_between_ranks():
    assert lv.percentile([10, 20, 30, 40, 50], 0.5) == 30
    assert lv.percentile([10, 20, 30, 40, 50], 0.9) == pytest.approx(46.0)  # 40 + 0.6 * 10
    assert lv.percentile([7], 0.9) == 7
    assert math.isnan(lv.percentile([], 0.5))


def test_per_window_counts_whole_windows_only():
    # windows [0,1000) [1000,2000) [2000,3000); 3500 is in the partial last window: dropped
    times = [0, 10, 999, 1000, 2999, 3500, -1]
    assert lv.per_window(times, 0, 3600) == [3, 1, 1]
    assert lv.per_window([0.2, 0.4, 1.5], 0.0, 2.0, window=1.0) == [2, 1]
    assert lv.per_window([1, 2], 0, 999) == []


def test_latency_runs_from_the_first_message_carrying_the_step():
    received = [(100, 5), (300, 5), (400, 6), (900, 8)]  # step 5 sent twice: the first counts
    painted = [(350, 5), (600, 6), (700, 7), (850, 8)]  # 7 never seen; 8 painted before its msg
    lat, unmatched = lv.update_latencies(received, painted)
    assert lat == [250, 200]
    assert unmatched == 2


def test_view_figures_on_a_hand_made_trace():
    # 3 s window from t=1000 ms; paints (t_dom, t_painted, step); messages 100 ms before each
    paints = [(1090, 1100, 1), (1390, 1400, 2), (1690, 1700, 3),  # window 1: 3 updates
              (2490, 2500, 4),  # window 2: 1
              (3090, 3100, 5), (3290, 3300, 6),  # window 3: 2
              (4090, 4100, 7)]  # after the end: not counted
    received = [(t - 100, s) for _, t, s in paints]
    received[3] = (2100, 4)  # step 4 took 400 ms
    f = lv.view_figures(received, paints, 1000, 4000)
    assert f["updates"] == 6
    assert f["updates_per_window"] == [3, 1, 2]
    assert f["updates_per_s_median"] == 2
    assert f["updates_per_s_mean"] == pytest.approx(2.0)
    # latencies 100, 100, 100, 400, 100, 100: median 100, p90 = 100 + 0.5 * 300
    assert f["latency_ms_median"] == 100
    assert f["latency_ms_p90"] == pytest.approx(250)
    assert f["latencies_unmatched"] == 0
    assert f["dom_to_painted_ms_median"] == 10
    assert f["steps_shown"] == [1, 6]


def test_view_figures_without_updates():
    f = lv.view_figures([], [], 0, 2000)
    assert f["updates"] == 0 and f["updates_per_s_median"] == 0
    assert math.isnan(f["latency_ms_median"]) and f["latency_ms"] is None


def test_steps_per_second_and_the_watch_ratio():
    assert lv.steps_per_second((1000, 10), (3000, 110)) == 50
    assert math.isnan(lv.steps_per_second((1000, 10), (1000, 20)))
    w = lv.watch_figures([45, 40, 50, 35], [50, 50, 60, 40])
    assert w["watched_median"] == 42.5 and w["unwatched_median"] == 50
    assert w["ratio_of_medians"] == pytest.approx(0.85)
    # paired: 0.9, 0.8, 0.8333, 0.875 -> median (0.8333 + 0.875) / 2
    assert w["paired_ratio_median"] == pytest.approx((50 / 60 + 35 / 40) / 2)
    assert math.isnan(lv.watch_figures([40], [])["ratio_of_medians"])


def test_session_figures_tell_redraws_from_updates():
    # seconds; a redraw at 0.5 repeats step 3 (queued): a redraw, not an update; -1: no step
    redraws = [(-0.5, 2), (0.2, 3), (0.5, 3), (0.8, -1), (1.1, 4), (2.5, 4), (3.9, 9), (4.5, 10)]
    f = lv.session_figures(redraws, 0.0, 4.0)
    assert f["redraws_per_s"] == pytest.approx(6 / 4)  # 0.2 0.5 0.8 1.1 2.5 3.9
    assert f["updates_per_s"] == pytest.approx(3 / 4)  # 0.2 (2->3), 1.1 (3->4), 3.9 (4->9)
    assert f["redraws_per_s_median_1s"] == 1  # windows 3, 1, 1, 1
    assert f["updates_per_s_median_1s"] == 1  # windows 1, 1, 0, 1
    assert f["windows_with_an_update"] == pytest.approx(3 / 4)
    assert f["longest_without_update_s"] == pytest.approx(3.9 - 1.1)


def test_busy_fraction_clips_tasks_to_the_window():
    busy = [(0, 100), (950, 100), (1080, 60)]  # ends at the start; inside; 20 ms inside
    assert lv.busy_fraction(busy, 100, 1100) == pytest.approx((100 + 20) / 1000)


def test_verdict_says_which_targets_are_met():
    res = {"8 states": {"updates_per_s_median": 5.0, "latency_ms_median": 260.0},
           "64 states": {"updates_per_s_median": 1.5},
           "watch": {"ratio_of_medians": 0.95},
           "sessions": {"sessions": 10, "updates_per_s_min": 1.2, "redraws_per_s_min": 4.0}}
    got = {r["target"].split(":")[0] + (" lat" if r["unit"] == "ms" else ""): r["met"]
           for r in lv.verdict(res)}
    assert got == {"8 states": True, "8 states lat": False, "64 states": False,
                   "watched / unwatched steps/s (ratio of medians) >= 0.90": True,
                   "10 sessions": True}
    assert lv.verdict({"8 states": {"updates_per_s_median": math.nan,
                                    "latency_ms_median": math.nan}})[0]["met"] is False


def test_the_page_instrument_matches_the_live_graph_only():
    # the tab below the figures holds "Step 0: untrained": not the live graph
    assert "^Step ([\\d,]+)$" in lv.INSTRUMENT_JS
    assert '"text":\\s*"Step' in lv.INSTRUMENT_JS


@pytest.mark.slow  # 25-40 s here: a server start and 6 s of training
def test_sessions_part_runs_against_the_real_app(tmp_path, capsys):
    """Two websocket sessions train Baby GPT on a real server for a few seconds."""
    assert lv.main(["--quick", "--parts", "sessions", "--sessions", "2",
                    "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "live_view.json").read_text())["results"]
    s = res["sessions"]
    assert s["sessions"] == 2 and len(s["per_session"]) == 2
    for p in s["per_session"]:
        assert p["exceptions"] == []
        assert p["steps"] > 0
        assert p["redraws_per_s"] > 0
    assert [r["target"].startswith("2 sessions") for r in res["verdict"]] == [True, True]
    assert "2 sessions" in capsys.readouterr().out
