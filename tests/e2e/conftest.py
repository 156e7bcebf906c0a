"""Browser tests: Playwright driving Debian's Chromium against a live server.

Every page a test visits is audited with axe-core (WCAG 2.x A/AA rules); a serious or
critical violation fails the test, and so does leaving a visited page unaudited.
Set SCREENSHOTS=1 to save a PNG of every audited page under test-results/screens/.
Every audit also fails on a Content-Security-Policy violation (core/csp.py): a
"Refused to ..." console message or a `securitypolicyviolation` event on the page.
axe-core is injected with `page.evaluate` (the DevTools protocol), which the page's
policy does not govern, so no test needs `bypass_csp`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from townhall.testing.factories import TEST_PASSWORD

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 360, "height": 740}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCREENS = Path(__file__).resolve().parents[2] / "test-results" / "screens"

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test`, which installs Debian's chromium.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


# Collects the page's CSP violations; added before any page script runs.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def csp_violations(page: object) -> list[str]:
    """The page's CSP violations so far (its events and "Refused to" console lines)."""
    events = page.evaluate("window.__cspViolations || []")  # type: ignore[attr-defined]
    return [*getattr(page, "_csp_console", []), *events]


def watch_csp(page: object) -> None:
    console: list[str] = []
    page._csp_console = console  # type: ignore[attr-defined]
    page.add_init_script(CSP_LISTENER)  # type: ignore[attr-defined]
    page.on("console", lambda m: "Refused to" in m.text and console.append(m.text))  # type: ignore[attr-defined]


class Visit:
    """A browser tab that audits every page it lands on."""

    axe = Axe()

    def __init__(self, page: object, base_url: str, label: str) -> None:
        self.page = page
        self.base_url = base_url
        self.label = label
        self.audited: list[str] = []
        self.seen: list[str] = []
        watch_csp(page)
        page.on("framenavigated", lambda frame: frame == page.main_frame and self.seen.append(frame.url))  # type: ignore[attr-defined]

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)  # type: ignore[attr-defined]
        self.audit()

    def sign_in(self, email: str, password: str = TEST_PASSWORD) -> None:
        """Sign in through the form and land, audited, on the home page."""
        self.goto("/signin")
        page = self.page
        page.get_by_label("Email").fill(email)  # type: ignore[attr-defined]
        page.get_by_label("Password").fill(password)  # type: ignore[attr-defined]
        page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
        page.wait_for_url(re.compile(r"/$"))  # type: ignore[attr-defined]
        self.audit()

    def audit(self) -> None:
        page = self.page
        page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
        results = self.axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
        bad = [v for v in results.response["violations"] if v.get("impact") in {"serious", "critical"}]
        url = page.url  # type: ignore[attr-defined]
        if os.environ.get("SCREENSHOTS"):
            SCREENS.mkdir(parents=True, exist_ok=True)
            slug = re.sub(r"[^a-z0-9]+", "-", url.split("//", 1)[-1].split("/", 1)[-1].lower()).strip("-") or "home"
            page.screenshot(path=str(SCREENS / f"{self.label}-{slug}.png"), full_page=True)  # type: ignore[attr-defined]
        assert not bad, f"axe on {url}: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in bad
        )
        violations = csp_violations(page)
        assert not violations, f"Content-Security-Policy violations on {url}: {violations}"
        self.audited.append(url.split("#")[0])

    def unaudited(self) -> list[str]:
        audited = set(self.audited)
        return [url for url in dict.fromkeys(self.seen) if url.split("#")[0] not in audited and url != "about:blank"]


def _visit(browser: object, live_server: object, viewport: dict[str, int], label: str) -> Iterator[Visit]:
    context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(10_000)
    visit = Visit(page, live_server.url, label)  # type: ignore[attr-defined]
    yield visit
    missing = visit.unaudited()
    context.close()
    assert not missing, f"pages visited but not audited with axe: {missing}"


@pytest.fixture
def desktop(browser: object, live_server: object) -> Iterator[Visit]:
    yield from _visit(browser, live_server, DESKTOP, "desktop")


@pytest.fixture
def phone(browser: object, live_server: object) -> Iterator[Visit]:
    yield from _visit(browser, live_server, PHONE, "phone")
