"""What the app can save, it can load: the server's upload cap holds every uploader's limit, and
each model uploader's limit holds the largest model file its page can save.

Streamlit's upload endpoint refuses a file above `server.maxUploadSize` with a bare HTTP 413
(an "AxiosError 413" chip), whatever the widget's own `max_upload_size` says
(streamlit/web/server/starlette/starlette_routes.py): re-uploading an 11.7 MB Baby GPT file
failed that way when the server's cap was 5 MB.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from gptviz.checkpoint import MAX_BUNDLE_BYTES
from gptviz.config import MAX_PARAMS, GPTConfig
from gptviz.corpus import MAX_UPLOAD_BYTES
from tests.apptest_helpers import page_session

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"
MIB = 2**20


def server_cap_bytes() -> int:
    return tomllib.loads(CONFIG.read_text())["server"]["maxUploadSize"] * MIB


def uploaders(name: str, stop: tuple[str, ...], **state: object) -> dict[str, int]:
    with page_session(name, stop=stop, session_state=state) as at:
        return {u.proto.label: u.proto.max_upload_size_mb * MIB for u in at.get("file_uploader")}


def test_the_server_takes_the_largest_model_file_the_library_saves():
    assert server_cap_bytes() >= MAX_BUNDLE_BYTES >= MAX_PARAMS * 4


@pytest.mark.parametrize("page, stop, largest_model_bytes", [
    # Baby GPT's widgets at their maxima: vocabulary 36, context 16, 8 layers, 16 heads, 256 dims
    ("baby_gpt", ("baby_run",), GPTConfig(vocab_size=36, block_size=16, n_layer=8, n_head=16,
                                          n_embd=256).num_params() * 4),
    # Train on text: any model under the library's parameter cap (a corpus's vocabulary varies)
    ("text_model", ("text_run",), MAX_PARAMS * 4),
])
def test_each_model_uploader_takes_what_its_page_saves_and_the_server_lets_it(
        page, stop, largest_model_bytes):
    found = uploaders(page, stop)
    models = {label: cap for label, cap in found.items() if "saved model" in label}
    assert len(models) == 1, found
    (cap,) = models.values()
    assert largest_model_bytes < cap <= server_cap_bytes()
    assert all(c <= server_cap_bytes() for c in found.values())


def test_the_text_uploader_says_its_own_limit():
    found = uploaders("text_model", ("text_run",), text_source="Upload a .txt file")
    (label, cap), = [(k, v) for k, v in found.items() if k.startswith("Plain text")]
    assert "up to 2 MB" in label and MAX_UPLOAD_BYTES <= cap < 3 * MIB
