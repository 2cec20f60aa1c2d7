"""Headless Chromium for the tests that look at pages: Debian's ``chromium`` and
``chromium-driver`` packages (``make browser`` installs them), driven by Selenium with
their paths given, so nothing downloads a browser build of its own."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("ISLANDBRIDGE_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("ISLANDBRIDGE_CHROMEDRIVER", "/usr/bin/chromedriver"))


def require_chromium() -> None:
    """Skip where Chromium is missing, unless services are required (CI): then fail."""
    if CHROMIUM.is_file() and CHROMEDRIVER.is_file():
        return
    message = f"Debian chromium / chromium-driver not installed ({CHROMIUM}); run `make browser`"
    if os.environ.get("ISLANDBRIDGE_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator:
    """A headless Chromium WebDriver (closed on exit)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    require_chromium()
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        "--lang=zh-CN",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def full_page_screenshot(driver, out: Path, *, max_height: int = 6000) -> Path:
    """A PNG of the whole page (up to ``max_height`` pixels tall)."""
    height = driver.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
    )
    width = driver.get_window_size()["width"]
    driver.set_window_size(width, min(int(height) + 40, max_height))
    out.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(out))
    return out


def have_chromium() -> bool:
    return CHROMIUM.is_file() and shutil.which(str(CHROMEDRIVER)) is not None
