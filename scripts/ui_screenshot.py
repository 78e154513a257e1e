"""Screenshot of the analyst's page (``GET /ui``) after classifying an article, for the README.

    .venv/bin/python scripts/ui_screenshot.py --url http://localhost:3000 --out docs/ui.png

Needs a running service (``make serve``) and Debian's Chromium (``make browser-env``). The article
is invented (the project's text is its own).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile

ARTICLE = (
    "Defeated candidates said the leader's office had sent their volunteers to seats the party "
    "could never win. Jeremy Corbyn's aides, one of them said, must take responsibility.\n\n"
    "Angela Rayner said the party's organisers on the ground had worked themselves to exhaustion "
    "and deserved better than to be blamed for the result.\n\n"
    "The count in Bolsover finished shortly after four in the morning."
)


def main() -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://localhost:3000")
    parser.add_argument("--out", default="docs/ui.png")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=1500)
    args = parser.parse_args()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="stanceframe-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--window-size={args.width},{args.height}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.get(f"{args.url}/ui")
        area = driver.find_element(By.ID, "text")
        driver.execute_script("arguments[0].value = arguments[1];", area, ARTICLE)
        driver.find_element(By.ID, "submit").click()
        WebDriverWait(driver, 120).until(ec.element_to_be_clickable((By.ID, "submit")))
        driver.save_screenshot(args.out)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
