"""A school at once (slow, run in CI): 2 replicas behind nginx (scripts/serve.sh), 20
students training through it, then one replica killed.

The students are websocket clients (bench/ws_client.py), each with the sticky cookie nginx
set on its first request, as a browser's first page load gets it. The figures come from
`python -m bench.replicas` (README, "Deploy"). Each replica stretches its views' redraw
interval as its share of the class grows and as its redraws cost it more
(gptviz.live.slots.redraw_interval), so views slow down together instead of stalling; the
bounds below are what that design keeps on a loaded CI machine.
"""

from __future__ import annotations

import json
import shutil

import pytest

from bench.replicas import run

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def school(tmp_path_factory) -> dict:
    assert shutil.which("nginx") or shutil.os.path.exists("/usr/sbin/nginx"), \
        "nginx is not installed: scripts/test.sh installs Debian's package"
    r = run(replicas=2, sessions=20, seconds=20.0, after_kill=8.0,
            run_dir=tmp_path_factory.mktemp("serve"))
    print("\nreplicas test:", json.dumps({k: v for k, v in r.items() if k != "per_session"}))
    return r


def test_sticky_sessions_spread_a_class_over_both_replicas_and_all_train(school):
    r = school
    # a class arriving one after another is dealt out evenly (nginx: least connections first)
    assert sorted(r["sessions_per_replica"].values()) == [10, 10], r["sessions_per_replica"]
    assert r["every_session_progressed"], r["per_session"]
    assert r["no_exceptions"], r["per_session"]
    assert r["redraws_per_s_min"] >= 0.3, r["per_session"]  # each keeps seeing it learn live
    # the 3 s is a speed target, measured by `python -m bench.replicas` on a quiet
    # machine (README, "Deploy": 0.3-2.4 s); here, on a shared CI box, the bound is "no stall"
    # (a page that never completes: None after 90 s); CI's shared box saw 3.55 s and 6.55 s
    assert r["newcomer_page_s"] is not None and r["newcomer_page_s"] < 10.0, r


def test_killing_a_replica_hangs_nobody_and_the_other_keeps_training(school):
    r = school
    assert r["killed_sessions_closed"], r["per_session"]  # their tabs learn it at once
    assert r["killed_sessions_closed_within_s"] < 5.0, r
    # the other replica's class trains on (each of its sessions in its turn: with 2 training
    # slots and 8-12 sessions, one may still wait for its turn in the 8 s after the kill)
    assert r["survivors_steps_gained_after_kill"] > 0, r["per_session"]
    # and every view there keeps redrawing: the gaps are seen at redraws, which come every
    # survivors_redraw_interval_max_s before the kill (gptviz.live.slots.redraw_interval)
    # (the 2 s is measured by bench.replicas: 0.86 s alone; CI saw 1.85 s)
    assert r["survivors_gap_max_s"] <= 2 * r["survivors_redraw_interval_max_s"] + 1.5, \
        r["per_session"]
    # a user of the killed replica reloads: a working page (from the survivor, or from the
    # replica serve.sh started again)
    assert r["reload_after_kill_page_s"] is not None, r
