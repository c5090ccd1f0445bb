"""简体中文 in a real browser at 1280x720: the sidebar's switch turns the home page and the
navigation into Chinese, the URL keeps ?lang=zh, a link with it opens in Chinese, and the glyphs
are drawn with a CJK font (a text of Chinese characters is as wide as a CJK font makes it, not
the width of the fallback's boxes). Screenshots: screenshots/zh_home*.png.

Only the pages translated so far are checked (README, "Languages").
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.i18n_helpers import english_sentences

from .harness import SCREENSHOT_DIR, assert_no_exception, save_screenshot, set_number, wait_ready

pytestmark = pytest.mark.browser
TITLE_ZH = "gptviz：搭一个小 GPT，看它学习"


def test_the_switch_turns_the_home_page_chinese_and_a_link_keeps_it(app_server, chromium_browser):
    ctx = chromium_browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    page = ctx.new_page()
    try:
        page.goto(app_server)
        wait_ready(page)
        expect(page.locator("h1").first).to_contain_text("build a small GPT")
        page.get_by_test_id("stSidebar").get_by_text("简体中文").click()
        expect(page.locator("h1").first).to_have_text(TITLE_ZH, timeout=30_000)
        wait_ready(page)
        assert "lang=zh" in page.url
        nav = page.get_by_test_id("stSidebarNav")
        expect(nav).to_contain_text("首页")
        expect(nav).to_contain_text("在文本上训练")
        assert_no_exception(page)
        # a CJK font draws the text: 8 characters one em wide each, unlike 8 characters that
        # no font has (drawn as boxes, as the Chinese ones would be without a CJK font)
        cjk, boxes = page.evaluate("""() => {
            const c = document.createElement('canvas').getContext('2d');
            c.font = '20px "Source Sans", sans-serif';
            return [c.measureText('搭一个小看它学习').width,
                    c.measureText('\\u0378'.repeat(8)).width];
        }""")
        assert 150 <= cjk <= 170 and abs(cjk - boxes) > 2, (cjk, boxes)
        save_screenshot(page, "zh_home")
        page.screenshot(path=str(SCREENSHOT_DIR / "zh_home_1280x720.png"))

        fresh = ctx.new_page()  # a shared link opens in Chinese, whatever the browser's language
        fresh.goto(app_server + "/?lang=zh")
        wait_ready(fresh)
        expect(fresh.locator("h1").first).to_have_text(TITLE_ZH)

        bad = ctx.new_page()  # a hostile value: English, a notice, the value never shown
        bad.goto(app_server + "/?lang=%3Cimg%20src%3Dx%3E")
        wait_ready(bad)
        expect(bad.locator("h1").first).to_contain_text("build a small GPT")
        expect(bad.get_by_text("Languages: English (en), 简体中文 (zh)")).to_be_visible()
        assert bad.locator("img[src='x']").count() == 0
        assert "img src" not in bad.locator("body").inner_text()
    finally:
        ctx.close()


def test_every_page_in_chinese_draws_with_no_exception(app_server, chromium_browser):
    """Each page opened through the Chinese navigation, at 1280x720: its title is the Chinese
    one, nothing fails, and a screenshot of each is saved to be looked at
    (screenshots/zh_page_<name>_1280x720.png and the whole page as zh_page_<name>.png)."""
    from gptviz.i18n import _, set_language
    from pages._catalog import CATALOG

    set_language("zh")
    try:
        titles = {info.path: _(info.title) for info in CATALOG}
    finally:
        set_language("en")
    ctx = chromium_browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
    page = ctx.new_page()
    try:
        page.goto(app_server)  # the browser's language: Chinese without ?lang=
        wait_ready(page)
        expect(page.locator("h1").first).to_have_text(TITLE_ZH)
        for path, title in titles.items():
            page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
            wait_ready(page)
            expect(page.locator("h1").first).not_to_contain_text("gptviz：", timeout=30_000)
            wait_ready(page)
            assert_no_exception(page)
            name = path.removeprefix("pages/").removesuffix(".py")
            page.screenshot(path=str(SCREENSHOT_DIR / f"zh_page_{name}_1280x720.png"))
            save_screenshot(page, f"zh_page_{name}")
    finally:
        ctx.close()


def test_baby_gpt_start_to_finish_in_chinese(app_server, chromium_browser, tmp_path):
    """A student's lesson on Baby GPT, in Chinese at 1280x720: train, switch a head off, give a
    setting that cannot work (the message is Chinese, the model kept), download the model and
    load it back. No English sentence appears in the messages on the way."""
    import re


    ctx = chromium_browser.new_context(viewport={"width": 1280, "height": 720},
                                       accept_downloads=True)
    page = ctx.new_page()
    try:
        page.goto(app_server + "/baby_gpt?lang=zh")
        wait_ready(page)
        expect(page.locator("h1").first).to_contain_text("GPT 就是一条马尔可夫链")
        page.get_by_role("button", name=re.compile(r"训练 50 步")).click()
        expect(page.get_by_text("已完成要求的步数。").first).to_be_visible(timeout=90_000)
        wait_ready(page)
        expect(page.locator("[data-testid='stProgress']").first).to_contain_text("第 50 步")

        page.get_by_role("tab", name="消融").click()
        page.locator(".st-key-baby_abl_L0").get_by_role("button", name="头 1", exact=True).click()
        loss = page.get_by_test_id("stMetric").filter(has_text="训练数据上的损失")
        expect(loss).to_be_visible(timeout=30_000)
        wait_ready(page)
        assert re.search(r"[\d.]+ → [\d.]+", loss.inner_text()), loss.inner_text()
        save_screenshot(page, "zh_baby_ablate")

        set_number(page, "嵌入维度", 15)  # 4 heads: 15 dimensions cannot be shared out
        alert = page.get_by_test_id("stAlert").filter(has_text="不能被注意力头数 4 整除")
        expect(alert.first).to_be_visible(timeout=30_000)
        assert not english_sentences(alert.first.inner_text()), alert.first.inner_text()
        save_screenshot(page, "zh_baby_bad_setting")
        set_number(page, "嵌入维度", 16)  # back: the trained model was kept meanwhile
        wait_ready(page)
        expect(page.locator("[data-testid='stProgress']").first).to_contain_text(
            "第 50 步", timeout=30_000)

        page.get_by_role("tab", name="保存、加载与分享").click()
        with page.expect_download() as dl:
            page.get_by_role("button", name=re.compile("下载模型")).click()
        saved = tmp_path / "model.zip"
        dl.value.save_as(saved)
        page.locator("input[type='file']").set_input_files(str(saved))
        done = page.get_by_text(re.compile("已载入一个训练了 50 步的模型"))
        expect(done).to_be_visible(timeout=30_000)
        assert not english_sentences(done.inner_text()), done.inner_text()
        assert_no_exception(page)
        save_screenshot(page, "zh_baby_loaded")
        page.screenshot(path=str(SCREENSHOT_DIR / "zh_baby_loaded_1280x720.png"))
    finally:
        ctx.close()
