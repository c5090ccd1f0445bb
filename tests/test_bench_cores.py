"""bench/cores.py: both designs train every session and count what they trained.

The speeds themselves are measured by `python -m bench.cores`, not asserted here. What can
fail here: a design that leaves a session untrained, mixes up sessions' counts, or whose
total is not the sum of its sessions.
"""

from __future__ import annotations

import pytest

from bench.cores import measure, table_rows


@pytest.mark.parametrize("design", ["threads", "processes"])
def test_every_session_trains_its_own_model_in_both_designs(design):
    m = measure(design, "baby", sessions=3, seconds=0.5, cores=2)
    assert (m["design"], m["workload"], m["sessions"]) == (design, "baby", 3)
    assert m["slowest_steps_per_s"] > 0  # no session left waiting
    assert m["slowest_steps_per_s"] <= m["fastest_steps_per_s"] <= m["total_steps_per_s"]
    # three sessions: the total is at least three times the slowest and at most three fastest
    assert 3 * m["slowest_steps_per_s"] <= m["total_steps_per_s"] + 1e-9
    assert m["total_steps_per_s"] <= 3 * m["fastest_steps_per_s"] + 1e-9
    assert m["memory_mb"] > 50  # torch is loaded in whatever trained


def test_the_table_has_one_row_per_design_workload_and_session_count():
    rows = [{"design": d, "workload": "baby", "sessions": n, "total_steps_per_s": 10.0 * n,
             "slowest_steps_per_s": 10.0, "fastest_steps_per_s": 10.0, "memory_mb": 100.0,
             "rounds": [10.0 * n]} for d in ("threads", "processes") for n in (1, 2)]
    out = table_rows({"rows": rows})
    assert [r[:3] for r in out] == [["baby", "1", "processes"], ["baby", "1", "threads"],
                                    ["baby", "2", "processes"], ["baby", "2", "threads"]]
    assert out[2][3] == "20"
