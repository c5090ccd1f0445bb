"""Shared pytest setup. Kept minimal: fixtures belong next to the tests that use them."""

from __future__ import annotations

from importlib import metadata

import pytest
import torch

# One thread per test process: the suite shares 2 cores with a browser and a server, and
# OpenMP threads spinning against each other make small models hundreds of times slower.
torch.set_num_threads(1)


def pytest_report_header(config):
    """Versions of the pinned stack, printed at the top of every run (cheap: no imports)."""
    versions = []
    for dist in ("torch", "streamlit", "plotly", "playwright"):
        try:
            versions.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist}: not installed")
    return "gptviz stack: " + ", ".join(versions)


@pytest.fixture(scope="session", autouse=True)
def _full_streamlit_errors_in_apptest():
    """Give AppTest the real exception message and traceback.

    .streamlit/config.toml sets client.showErrorDetails = "none" so users never see
    tracebacks, and AppTest reads that file too: `at.exception[0].message` would be a
    redacted stock sentence with no stack trace. This changes only this test process;
    servers started by the browser tests read config.toml as users get it.
    """
    from streamlit import config

    config.set_option("client.showErrorDetails", "full")
    yield
