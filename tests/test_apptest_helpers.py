"""The shared AppTest helpers fail loudly where the page tests rely on them to."""

from __future__ import annotations

import base64
import time

import numpy as np
import pytest

from tests.apptest_helpers import array, wait_done, wait_for


class FakeJob:
    """A job that runs for `seconds`, then stops; counts pauses."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.pauses = 0

    @property
    def running(self) -> bool:
        return time.monotonic() < self.end

    def pause(self) -> None:
        self.pauses += 1


class FakeAppTest:
    def __init__(self) -> None:
        self.runs = 0

    def run(self) -> FakeAppTest:
        self.runs += 1
        return self


def test_wait_for_fails_with_what_it_waited_for_on_timeout():
    t0 = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match="waiting for the moon"):
        wait_for(lambda: False, timeout=0.2, what="the moon")
    assert 0.2 <= time.monotonic() - t0 < 2


def test_wait_done_never_returns_silently_while_the_job_still_runs():
    at = FakeAppTest()
    with pytest.raises(pytest.fail.Exception, match="timed out after 0.2 s"):
        wait_done(at, FakeJob(60), timeout=0.2)  # type: ignore[arg-type]
    assert at.runs == 0  # no rerun: the test stops at the timeout


def test_wait_done_returns_when_the_job_ends_or_until_holds_and_reruns_the_page():
    at, job = FakeAppTest(), FakeJob(0.1)
    wait_done(at, job, timeout=5)  # type: ignore[arg-type]
    assert not job.running and at.runs == 1 and job.pauses == 0
    at, job = FakeAppTest(), FakeJob(60)
    wait_done(at, job, timeout=5, until=lambda: True, pause=True)  # type: ignore[arg-type]
    assert job.running and at.runs == 1 and job.pauses == 1


def test_array_reads_plotly_typed_arrays_and_lists():
    a = np.arange(6, dtype="f4").reshape(2, 3)
    typed = {"dtype": "f4", "bdata": base64.b64encode(a.tobytes()).decode(), "shape": "2, 3"}
    assert np.array_equal(array(typed), a)
    assert np.array_equal(array([[0, 1], [2, 3]]), [[0.0, 1.0], [2.0, 3.0]])
