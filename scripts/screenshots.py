"""Take the README's tour screenshots from a running demo (`make run` in another shell).

    .venv/bin/python scripts/screenshots.py [http://127.0.0.1:8000]

Signs in as the demo admin and member (password from var/demo-credentials.txt) and
writes PNGs to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def main() -> None:
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    var_dir = Path(os.environ.get("TOWNHALL_VAR_DIR", ROOT / "var"))
    line = (var_dir / "demo-credentials.txt").read_text()
    password = re.search(r"password (\S+)", line).group(1)  # type: ignore[union-attr]
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for label, viewport, email in (
            ("desktop", {"width": 1280, "height": 800}, "admin"),
            ("phone", {"width": 390, "height": 844}, "member"),
        ):
            page = browser.new_context(viewport=viewport).new_page()
            page.goto(f"{base}/signin")
            if label == "desktop":
                page.screenshot(path=str(OUT / "signin.png"))
            page.get_by_label("Email").fill(f"{email}@northwind.example")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state("load")
            if "/guidelines" in page.url:
                page.screenshot(path=str(OUT / f"{label}-guidelines.png"))
                page.get_by_role("button", name="I accept the guidelines").click()
            page.wait_for_load_state("load")
            page.screenshot(path=str(OUT / f"{label}-home.png"))
            page.goto(f"{base}/communities/")
            page.screenshot(path=str(OUT / f"{label}-communities.png"))
            page.locator("main a[href^='/c/']").first.click()
            page.wait_for_load_state("load")
            page.screenshot(path=str(OUT / f"{label}-community.png"))
            page.locator("#feed-list a[href^='/posts/']").first.click()
            page.wait_for_load_state("load")
            page.screenshot(path=str(OUT / f"{label}-post.png"), full_page=label == "desktop")
            page.goto(f"{base}/people/?q=eng")
            page.screenshot(path=str(OUT / f"{label}-directory.png"))
            page.locator("#people-results a.person-name").nth(3).click()
            page.wait_for_load_state("load")
            page.screenshot(path=str(OUT / f"{label}-profile.png"), full_page=label == "desktop")
            page.goto(f"{base}/search/?q=launch")
            page.wait_for_load_state("load")
            page.screenshot(path=str(OUT / f"{label}-search.png"))
            page.goto(f"{base}/notifications/")
            page.wait_for_load_state("load")
            page.screenshot(path=str(OUT / f"{label}-notifications.png"))
            if label == "desktop":
                page.goto(f"{base}/manage/import/")
                page.screenshot(path=str(OUT / "admin-import.png"))
        browser.close()


if __name__ == "__main__":
    main()
