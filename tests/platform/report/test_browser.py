"""The HTML report in a real browser: the system's headless Chromium (Debian packages
`chromium` and `chromium-driver`) driven by Selenium. Every section renders, the embedded
diagram loads, the page prints, and it makes no network request: the only URLs it asks for
are its own file: and the data: of the diagram.

Selenium never downloads a browser or a driver here: the driver's path is given and
SE_OFFLINE keeps Selenium Manager from looking anything up. Where the binaries are absent,
the tests skip saying which is missing; CI installs them (.ci/run).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from osp.platform.policy import RULES, context_of, evaluate
from osp.platform.report import Format, collect, render
from tests.support import plan_of, spec_of

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

#: The report's sections, in order (blueprints/report/report.md.j2).
SECTIONS = [
    "Architecture",
    "Network",
    "Data stores",
    "Identities",
    "Edge",
    "Events",
    "Serverless",  # the secrets-rotation functions
    "Tenants",
    "Guardrails",
]

_missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
pytestmark = pytest.mark.skipif(
    bool(_missing),
    reason=f"no system Chromium to drive: {', '.join(_missing)} missing "
    "(apt-get install chromium chromium-driver)",
)
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's dot is not installed, so the report has no diagram (apt-get install "
    "graphviz)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-dev-shm-usage",
        "--disable-gpu",
        # The browser's own traffic (updates, sync, safe browsing) is not the page's: off, so
        # nothing but the page could show up in the log.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--window-size=1280,1024",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # Selenium Manager, should it run: fetch nothing
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        try:
            yield driver
        finally:
            driver.quit()


def requested(driver) -> list[str]:
    """Every URL the page asked for since the log was last read (Chrome's performance log:
    the DevTools Network events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
        elif message["method"] == "Network.webSocketCreated":
            urls.append(message["params"]["url"])
    return urls


def opened(driver, page: Path) -> list[str]:
    """Open `page` and wait for everything it loads; the URLs it asked for."""
    driver.get_log("performance")  # what came before is not this page's
    driver.get(page.as_uri())
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (document.readyState === 'complete') done(); else addEventListener('load', done);"
    )
    return requested(driver)


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    """dev's HTML report (with its diagram where dot is installed), as a file."""
    plan, spec = plan_of("dev"), spec_of("dev")
    report = evaluate(plan, RULES, context_of(spec), spec.policy.waivers, today=NOW.date())
    facts = collect(plan, spec, report, version="9.9.9", generated_at=NOW)
    page = tmp_path_factory.mktemp("report") / "report.html"
    page.write_bytes(render(facts, [Format.HTML]).files["report.html"])
    return page


def test_every_section_renders_and_the_page_asks_for_nothing_but_itself(browser, report_page):
    from selenium.webdriver.common.by import By

    urls = opened(browser, report_page)
    assert report_page.as_uri() in urls  # the log sees the page's own request: it is read
    assert [u for u in urls if not u.startswith(("file:", "data:"))] == []
    title = browser.find_element(By.TAG_NAME, "h1")
    assert title.is_displayed() and title.text == "dev: architecture and controls report"
    headings = browser.find_elements(By.TAG_NAME, "h2")
    assert [h.text for h in headings] == SECTIONS
    assert all(h.is_displayed() and h.size["height"] > 0 for h in headings)
    # The tables are laid out, not left as text: the network matrix has rows.
    rows = browser.find_elements(By.CSS_SELECTOR, "table tr")
    assert len(rows) > 50


@needs_dot
def test_the_diagram_loads(browser, report_page):
    from selenium.webdriver.common.by import By

    opened(browser, report_page)
    image = browser.find_element(By.CSS_SELECTOR, "figure img")
    loaded = browser.execute_script(
        "const i = arguments[0]; return [i.complete, i.naturalWidth, i.naturalHeight];", image
    )
    assert loaded[0] is True and loaded[1] > 0 and loaded[2] > 0, loaded
    assert image.get_attribute("src").startswith("data:image/png;base64,")
    assert image.is_displayed() and image.size["width"] > 100


def test_the_page_prints(browser, report_page):
    from selenium.webdriver.common.print_page_options import PrintOptions

    opened(browser, report_page)
    pdf = base64.b64decode(browser.print_page(PrintOptions()))
    assert pdf.startswith(b"%PDF-")
    # Each section starts on a page of its own (@media print): at least a page per section.
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert pages >= len(SECTIONS), pages
    assert [u for u in requested(browser) if not u.startswith(("file:", "data:"))] == []


def test_the_network_check_sees_a_request_when_a_page_makes_one(browser, tmp_path):
    """The check above would catch a request: a page that loads an image from the network
    (the discard port of this machine: refused at once, yet asked for) shows up in the log."""
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><title>t</title><img src="http://127.0.0.1:9/logo.png">')
    urls = opened(browser, page)
    assert "http://127.0.0.1:9/logo.png" in urls
