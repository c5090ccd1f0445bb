"""A replica killed in the middle of an upload, in a real browser behind nginx (2 replicas).

A student trains Baby GPT, downloads the model, and loads the file back; while the upload is on
its way, the replica serving the tab is killed (SIGKILL, as a crash would). The upload cannot
arrive (its session died with the replica), the tab reconnects through nginx to the survivor,
and it must say at once, without a click, that the server restarted and that the file did not
arrive; nothing hangs, no traceback reaches the page or the survivor's log. Uploading the same
file again on the survivor loads the model: what the student saved is not lost.
Screenshots: screenshots/replica_upload_*.png.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time

import pytest
from playwright.sync_api import expect

from bench.replicas import COOKIE, first_visit, serve
from pages._restart import RESTART_NOTE

from .harness import VIEWPORT, assert_no_exception, save_screenshot, set_number, wait_ready
from .switching import shown_step

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NOTE = RESTART_NOTE.split("**")[1]  # "The server restarted"


def test_a_replica_killed_mid_upload_says_so_and_the_file_loads_on_the_survivor(
        chromium_browser, tmp_path):
    assert shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"), \
        "nginx is not installed: scripts/test.sh installs Debian's package"
    run_dir = tmp_path / "serve"
    run_dir.mkdir()
    with serve(2, run_dir) as srv:
        url = srv["url"]
        name, _ = first_visit(url, run_dir)  # the cookie a first visit gets: "r1" or "r2"
        pid = int((run_dir / f"replica-{name[1:]}.pid").read_text())
        survivor = "r2" if name == "r1" else "r1"
        ctx = chromium_browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        ctx.add_cookies([{"name": COOKIE, "value": name, "url": url}])
        page = ctx.new_page()
        try:
            page.goto(url + "/baby_gpt")
            wait_ready(page)
            set_number(page, "Steps per click of Train", 3)
            page.get_by_role("button", name=re.compile(r"Train 3 steps")).click()
            expect(page.locator("[data-testid='stProgress']").first).to_contain_text(
                re.compile(r"Step 3\b"), timeout=60_000)
            wait_ready(page)
            page.get_by_text("Save, load and share").click()
            with page.expect_download() as dl:
                page.get_by_role("button", name=re.compile("Download model")).click()
            saved = tmp_path / "model.zip"
            dl.value.save_as(saved)

            killed: list[float] = []

            def kill_then_send(route) -> None:  # the upload is on its way: the replica dies
                if not killed:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(time.monotonic())
                    time.sleep(0.3)
                route.continue_()

            page.route("**/_stcore/upload_file/**", kill_then_send)
            page.locator("input[type='file']").set_input_files(str(saved))
            note = page.get_by_text(NOTE).first
            expect(note).to_be_visible(timeout=30_000)  # by itself: no click after the upload
            said_after_s = time.monotonic() - killed[0]
            wait_ready(page)
            expect(page.get_by_text("did not arrive: upload it again").first).to_be_visible()
            assert_no_exception(page)
            assert shown_step(page) == 0  # the new session's model, not the old one's step 3
            save_screenshot(page, "replica_upload_killed")

            page.unroute("**/_stcore/upload_file/**")
            if not page.get_by_text("Load a saved model (.zip)").first.is_visible():
                page.get_by_text("Save, load and share").click()
            page.locator("input[type='file']").set_input_files(str(saved))
            loaded = page.get_by_text(re.compile("Loaded a model trained for 3 steps"))
            expect(loaded).to_have_count(1, timeout=30_000)
            wait_ready(page)
            # the new session's first rerun of the tabs shows the first one: the message is in
            # the Save tab (a tab chosen in the old session is not known to the new one)
            if not loaded.is_visible():
                page.get_by_role("tab", name="Save, load and share").click()
            expect(loaded).to_be_visible()
            assert shown_step(page) == 3
            assert_no_exception(page)
            # the tab's cookie now names the survivor, where its session lives: serve.sh has
            # started the killed replica again by now, and the tab must not be sent back there
            cookies = {c["name"]: c["value"] for c in ctx.cookies(url)}
            assert cookies[COOKIE] == survivor, cookies
            save_screenshot(page, "replica_upload_loaded_on_survivor")
            print(f"\nkilled mid-upload: the tab said so {said_after_s:.1f} s after the kill")
        finally:
            ctx.close()
        survivor_log = (run_dir / f"replica-{survivor[1:]}.log").read_text()
        assert "Traceback" not in survivor_log, survivor_log[-3000:]
