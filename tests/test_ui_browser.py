"""`r1h ui` in a real browser (Debian's chromium through Selenium and chromium-driver): a curator labels
three traces with the keyboard (accept, reject with a reason, edit in place) and the `annotations` rows say
so; a rollout whose completion is hostile HTML runs none of it. Screenshots go to $R1H_UI_SCREENSHOTS
when it is set (to look at each page)."""

import os
import shutil
import sys
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from ui_helpers import Server, build_store  # noqa: E402

from r1harness.curate import audit  # noqa: E402

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (scripts/install-system-deps.sh)",
)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def _shot(driver, name):
    folder = os.environ.get("R1H_UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))


def _wait_for_item(driver, previous):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def moved(d):
        found = d.find_elements(By.ID, "curator")
        return found and found[0].get_attribute("data-rollout") != previous

    WebDriverWait(driver, 15).until(moved)
    return driver.find_element(By.ID, "curator").get_attribute("data-rollout")


def test_a_curator_labels_three_traces_with_the_keyboard(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    store, info = build_store(tmp_path / "store")
    queue = audit.Queue(set_ref="cold@v1", seed=1, overlap=2)
    with Server(store) as server:
        browser.get(
            f"{server.url}/audit/queue?queue={urllib.parse.quote(queue.name)}&annotator=ann&overlap=2"
        )
        _shot(browser, "audit_queue")
        first = browser.find_element(By.ID, "curator").get_attribute("data-rollout")
        body = browser.find_element(By.TAG_NAME, "body")
        body.send_keys("a")  # accept
        second = _wait_for_item(browser, first)
        browser.find_element(By.TAG_NAME, "body").send_keys("r")  # reject: asks for a reason
        reason = browser.find_element(By.ID, "reason")
        reason.send_keys("the arithmetic is wrong", Keys.ENTER)
        third = _wait_for_item(browser, second)
        browser.find_element(By.TAG_NAME, "body").send_keys("e")  # edit in place
        edited = browser.find_element(By.ID, "edited")
        edited.send_keys(Keys.END, " (checked)")
        edited.send_keys(Keys.CONTROL, Keys.ENTER)
        _wait_for_item(browser, third)
        _shot(browser, "audit_queue_after_three")
        progress = browser.find_element(By.ID, "progress").text
        browser.get(f"{server.url}/rollouts/{first}")
        _shot(browser, "rollout")
        browser.get(f"{server.url}/runs/grpo-1")
        _shot(browser, "run")
        browser.get(f"{server.url}/leaderboard")
        _shot(browser, "leaderboard")
    assert "3 of 6 items labelled" in progress and "3 by you" in progress
    rows = store.sql(
        "SELECT target_id, label, reason, edited_text, annotator, queue FROM annotations"
    ).to_dicts()
    by_target = {r["target_id"]: r for r in rows}
    assert len(rows) == 3 and set(by_target) == {first, second, third}
    assert by_target[first]["label"] == "accept"
    assert by_target[second]["label"] == "reject" and by_target[second]["reason"] == "the arithmetic is wrong"
    assert by_target[third]["label"] == "edit" and by_target[third]["edited_text"].endswith(" (checked)")
    assert all(r["annotator"] == "ann" and r["queue"] == queue.name for r in rows)


def test_hostile_html_in_a_completion_runs_nothing(tmp_path, browser):
    from selenium.webdriver.common.by import By

    store, info = build_store(tmp_path / "store")
    with Server(store) as server:
        for page in (f"/rollouts/{info['hostile']}", "/rollouts?run=eval-1"):
            browser.get(server.url + page)
            assert browser.execute_script("return window.__xss === undefined")
            assert not browser.find_elements(By.CSS_SELECTOR, "main img")  # shown as text, not an element
        assert "<script>window.__xss = 1</script>" in browser.find_element(By.TAG_NAME, "main").text
        _shot(browser, "hostile_rollouts")
