"""A class room end to end in two real browsers, on SQLite and on PostgreSQL: the teacher opens
a room, a student joins with its code, trains Baby GPT, and the teacher's board shows the
student's name and loss. Screenshots at 1280x720 (a projector) in screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .harness import (
    REPO_ROOT,
    assert_no_exception,
    save_screenshot,
    set_number,
    streamlit_server,
    wait_ready,
    wait_training_finished,
)

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1280, "height": 720}
STUDENT = "Zoë Ana"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_teacher_opens_student_joins_trains_and_the_board_shows_them(
        backend, chromium_browser, tmp_path, request):
    if backend == "sqlite":
        env = {"GPTVIZ_ROOMS_DB": str(tmp_path / "rooms.sqlite3"), "GPTVIZ_ROOMS_URL": ""}
    else:
        env = {"GPTVIZ_ROOMS_URL": request.getfixturevalue("postgres").fresh_database()}
    with streamlit_server(REPO_ROOT / "app.py", env=env,
                          log_path=tmp_path / "streamlit.log") as (url, _):
        teacher_ctx = chromium_browser.new_context(viewport=PROJECTOR)
        student_ctx = chromium_browser.new_context(viewport=PROJECTOR)
        try:
            teacher, student = teacher_ctx.new_page(), student_ctx.new_page()
            teacher.goto(f"{url}/class_room")
            wait_ready(teacher)
            teacher.get_by_role("button", name="Open a room").click()
            wait_ready(teacher)
            code_box = teacher.locator(".gptviz-room-code")
            expect(code_box).to_have_text(re.compile(r"^[A-HJ-NP-Z2-9]{6}$"), timeout=20_000)
            code = code_box.inner_text().strip()
            # readable from the back of a room: the code's letters are at least 100 px tall
            box = code_box.bounding_box()
            assert box is not None and box["height"] >= 100 and box["y"] + box["height"] < 720
            expect(teacher.locator("[data-testid='stImage'] img").first).to_be_visible()
            teacher.screenshot(path=str(save_dir() / f"room_teacher_{backend}_projector.png"))
            assert_no_exception(teacher)

            # the student follows the join link (?room=CODE fills the code in) and types a name
            student.goto(f"{url}/class_room?room={code}")
            wait_ready(student)
            expect(student.get_by_role("textbox", name="Room code")).to_have_value(code)
            student.get_by_role("textbox", name="Your display name").fill(STUDENT)
            student.get_by_role("textbox", name="Your display name").press("Enter")
            wait_ready(student)
            student.get_by_role("button", name="Join").click()
            wait_ready(student)
            expect(student.get_by_text(f"You joined room {code}")).to_be_visible()
            # to Baby GPT in the same tab (a reload would be a new session), train 50 steps
            student.locator("[data-testid='stSidebarNavLink']", has_text="Baby GPT").click()
            wait_ready(student)
            expect(student.get_by_text(re.compile(f"Class room {code}: posting this run as"))
                   ).to_be_visible(timeout=20_000)
            set_number(student, "Layers", 2)  # a setting of this run, for its share link
            student.get_by_role("button", name=re.compile(r"Train [\d,]+ step")).first.click()
            wait_training_finished(student)
            expect(student.get_by_text(re.compile(r"\(step 50 posted\)"))).to_be_visible(
                timeout=20_000)
            assert_no_exception(student)
            save_screenshot(student, f"room_student_{backend}_baby")

            # the teacher's board redraws by itself: the name, the steps and a loss
            table = teacher.locator("[data-testid='stTable']").first
            expect(table).to_contain_text(STUDENT, timeout=30_000)
            expect(table).to_contain_text("50")
            expect(table).to_contain_text(re.compile(r"\d\.\d{4}"))
            expect(teacher.locator(".js-plotly-plot").first).to_be_visible()
            assert_no_exception(teacher)
            save_screenshot(teacher, f"room_teacher_{backend}_full")
            # the code hidden, the board takes the projector: the student's row in view
            teacher.get_by_text("Show the join code").click()
            wait_ready(teacher)
            expect(teacher.locator(".gptviz-room-code")).to_have_count(0)
            row = teacher.locator("[data-testid='stTable']").first.get_by_text(STUDENT)
            expect(row).to_be_in_viewport()
            teacher.screenshot(path=str(save_dir() / f"room_teacher_{backend}_board.png"))
            # the row's link opens that run's settings on its page
            href = table.locator("a", has_text="open").first.get_attribute("href") or ""
            assert f"{url}/baby_gpt?" in href and "baby_layers=2" in href, href
            shared = teacher_ctx.new_page()
            shared.goto(href)
            wait_ready(shared)
            expect(shared.get_by_role("spinbutton", name="Layers", exact=True)).to_have_value("2")
            assert_no_exception(shared)
        finally:
            teacher_ctx.close()
            student_ctx.close()


def save_dir():
    d = REPO_ROOT / "screenshots"
    d.mkdir(exist_ok=True)
    return d
