"""AppTest shows real error details despite showErrorDetails = "none" in config.toml."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def test_apptest_exception_keeps_message_and_traceback():
    def failing_app():
        raise ValueError("the real message")

    at = AppTest.from_function(failing_app).run()
    assert len(at.exception) == 1
    assert at.exception[0].message == "the real message"
    assert any("ValueError" in line for line in at.exception[0].stack_trace)
