"""The page at / in a real headless browser (Debian's chromium + chromium-driver, driven by selenium), against
`dire serve` started as a user starts it: pick an image, read the verdict and the rule table from the DOM,
take a screenshot.

Never skipped: without chromium the test fails and says to run scripts/setup.sh. With
DIRE_UPDATE_SCREENSHOT=1 the screenshot also replaces docs/img/serve_page.png.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.serve.helpers import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOT = ROOT / "docs" / "img" / "serve_page.png"
RULES = {"one_per_compartment", "fifteen_pins", "all_separators"}
START_SECONDS = 120


@pytest.fixture(scope="module")
def served(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dire serve` on the tiny run, in its own process; its base URL once /health answers."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "dire_dsl", "serve", str(tiny_run), "--port", str(port)],
                                  stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(server, url, log, START_SECONDS, "dire serve")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail("the page test needs Debian's chromium and chromium-driver; run scripts/setup.sh (as root: it "
                    "installs them with apt-get)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1100"):
        options.add_argument(argument)
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield chrome
    finally:
        chrome.quit()


def _upload(browser: webdriver.Chrome, image: Path) -> None:
    browser.find_element(By.ID, "file").send_keys(str(image))


def test_an_inspector_picks_an_image_and_sees_the_verdict(served: str, browser: webdriver.Chrome,
                                                           tiny_loco: Path, tmp_path: Path) -> None:
    image = tiny_loco / "pushpins" / "test" / "logical_anomalies" / "000.png"
    expected = httpx.post(f"{served}/inspect", files={"file": (image.name, image.read_bytes(), "image/png")},
                          timeout=60).json()
    browser.get(served + "/")
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "category").text == "pushpins")
    _upload(browser, image)
    verdict = WebDriverWait(browser, 60).until(
        lambda b: b.find_element(By.ID, "verdict") if b.find_element(By.ID, "verdict").text in ("ANOMALOUS", "NORMAL")
        else None)
    assert verdict.text == expected["verdict"].upper()
    assert f"threshold {expected['threshold']:.3f}" in browser.find_element(By.ID, "score").text
    rows = browser.find_elements(By.CSS_SELECTOR, "#rules tbody tr")
    assert [row.get_attribute("data-rule") for row in rows] == [rule["rule"] for rule in expected["rules"]]
    assert RULES <= {row.get_attribute("data-rule") for row in rows}
    first = rows[0].find_elements(By.TAG_NAME, "td")
    assert first[4].text == ("VIOLATED" if expected["rules"][0]["violated"] else "normal")
    assert f"rule {expected['rules'][0]['rule']}" in first[1].text  # the rule in its own words
    overlay = browser.find_element(By.ID, "overlay")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", overlay) > 0
    shot = tmp_path / "serve_page.png"
    assert browser.save_screenshot(str(shot))
    assert Image.open(shot).size[0] > 0
    if os.environ.get("DIRE_UPDATE_SCREENSHOT"):
        shutil.copyfile(shot, DOCS_SCREENSHOT)


def test_a_file_that_is_not_an_image_shows_the_refusal(served: str, browser: webdriver.Chrome,
                                                        tmp_path: Path) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("this is not an image")
    browser.get(served + "/")
    _upload(browser, notes)
    error = WebDriverWait(browser, 30).until(
        lambda b: b.find_element(By.ID, "error") if b.find_element(By.ID, "error").is_displayed() else None)
    assert "notes.png" in error.text and "not an image" in error.text
    assert not browser.find_element(By.ID, "result").is_displayed()
