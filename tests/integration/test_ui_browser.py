"""The analyst's page in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium) against a real ``bentoml serve``.

It pastes an article, submits, and checks what the page renders against the API's own answer for
the same request: frames and decisions, evidence highlights, people and their sentiment, the model
that answered. Then an error path (a paragraph over the length limit) must show the API's message.
A screenshot is saved to ``$STANCEFRAME_ARTIFACTS`` (default ``runs/test-artifacts/``).
``.ci/run`` installs Chromium (``make browser-env``), so this runs there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port, stop_process
from training.up import start_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="no Chromium or ChromeDriver: run `make browser-env`",
    ),
]

ARTICLE = (
    "Jeremy Corbyn's office picked the target seats. Ruth Smeeth said the leader's aides "
    "must take responsibility for the defeat.\n\n"
    "The organising unit insists its volunteers held the line in Putney."
)


@pytest.fixture(scope="module")
def server(trained_models):
    proc, url = start_server(free_port(), dict(os.environ), quiet=True)
    try:
        yield url
    finally:
        stop_process(proc, 20)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="stanceframe-chromium-")
    # The closed network refuses Chromium's background connections; keep them all off.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1100,1400",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _submit(browser, url: str, text: str, model: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{url}/ui")
    area = browser.find_element(By.ID, "text")
    area.clear()
    browser.execute_script("arguments[0].value = arguments[1];", area, text)  # a paste
    browser.find_element(By.CSS_SELECTOR, f"input[name=model][value={model}]").click()
    browser.find_element(By.ID, "submit").click()
    wait = WebDriverWait(browser, 60)
    wait.until(ec.element_to_be_clickable((By.ID, "submit")))
    return By


def test_page_renders_the_apis_answer_with_highlights(server, browser):
    By = _submit(browser, server, ARTICLE, "auto")
    body = {"article": {"text": ARTICLE, "model": "auto", "evidence": True}}
    api = httpx.post(f"{server}/classify_article", json=body, timeout=60).json()
    cards = browser.find_elements(By.CSS_SELECTOR, "article.card")
    assert len(cards) == len(api["paragraphs"]) == 2
    for card, para in zip(cards, api["paragraphs"], strict=True):
        assert para["model_version"] in card.find_element(By.CSS_SELECTOR, ".meta").text
        for frame in para["frames"]:
            row = card.find_element(By.CSS_SELECTOR, f"tr[data-frame-row={frame['label']}]")
            assert f"{frame['score']:.3f}" in row.text
            assert ("present" if frame["present"] else "absent") in row.text
            marks = card.find_elements(By.CSS_SELECTOR, f"mark[data-frames~={frame['label']}]")
            marked = "".join(m.text for m in marks)
            want = "".join(e["text"] for e in frame["evidence"]).replace(" ", "")
            assert marked.replace(" ", "") == want
        for figure in para["figures"]:
            spans = card.find_elements(By.CSS_SELECTOR, f"span.fig[data-figure='{figure['name']}']")
            assert "".join(s.text for s in spans) == figure["mention"]
            assert all(figure["sentiment"] in s.get_attribute("class") for s in spans)
            row = card.find_element(By.CSS_SELECTOR, f"tr[data-figure-row='{figure['name']}']")
            assert figure["sentiment"] in row.text
    names = [f["name"] for p in api["paragraphs"] for f in p["figures"]]
    assert {"Jeremy Corbyn", "Ruth Smeeth"} <= set(names)
    out = Path(os.environ.get("STANCEFRAME_ARTIFACTS", REPO / "runs" / "test-artifacts"))
    out.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(out / "ui.png"))
    assert (out / "ui.png").stat().st_size > 10_000


def test_page_shows_the_apis_message_for_a_paragraph_over_the_limit(server, browser):
    long_text = "Labour lost the seat. " * 600  # over the 10,000-character paragraph limit
    By = _submit(browser, server, long_text, "baseline")
    alert = browser.find_element(By.CSS_SELECTOR, "#status .error")
    api = httpx.post(
        f"{server}/classify_article", json={"article": {"text": long_text}}, timeout=60
    )
    assert api.status_code == 400
    assert api.json()["error"] in alert.text and "10000" in alert.text
    assert browser.find_elements(By.CSS_SELECTOR, "article.card") == []


def test_page_makes_no_request_outside_the_service(server):
    page = httpx.get(f"{server}/ui", timeout=30).text
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assert '<label for="text">' in page and 'aria-live="polite"' in page
