"""The foundation journey in a real browser: sign in, accept the guidelines, edit a
profile with a photo, find a colleague as you type, open the org chart; then the same
essentials at phone width, and every admin page audited for accessibility."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from townhall.accounts import services as account_services
from townhall.directory.services import ProfileChanges, profile_update
from townhall.testing.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def org(db):
    admin = UserFactory(email="admin@acme.example", full_name="Ada Admin", role="admin")
    account_services.organisation_update(
        actor=admin, name="Acme", allowed_domains=["acme.example"], guidelines="Be kind.\nKeep secrets secret."
    )
    ceo = UserFactory(email="cora@acme.example", full_name="Cora Chief")
    head = UserFactory(email="hugo@acme.example", full_name="Hugo Head")
    mia = UserFactory(email="mia@acme.example", full_name="Mia Member")
    sanjay = UserFactory(email="sanjay@acme.example", full_name="Sanjay Ødegård")
    profile_update(actor=admin, person=ceo, changes=ProfileChanges(title="Chief Executive", department="Leadership"))
    profile_update(
        actor=admin,
        person=head,
        changes=ProfileChanges(title="Head of Platform", department="Engineering", manager_id=ceo.pk),
    )
    profile_update(actor=admin, person=mia, changes=ProfileChanges(department="Engineering", manager_id=head.pk))
    profile_update(
        actor=admin,
        person=sanjay,
        changes=ProfileChanges(
            title="Platform Engineer",
            department="Engineering",
            location="Helsinki",
            skills=["Kubernetes", "Go"],
            manager_id=head.pk,
        ),
    )
    return {"admin": admin, "ceo": ceo, "head": head, "mia": mia, "sanjay": sanjay}


def _photo(tmp_path) -> str:
    path = tmp_path / "me.jpg"
    Image.new("RGB", (800, 600), (200, 80, 40)).save(path, "JPEG")
    return str(path)


def _sign_in(visit, email: str) -> None:
    visit.goto("/signin")
    page = visit.page
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_member_journey_desktop(org, desktop, tmp_path):
    page = desktop.page
    _sign_in(desktop, "mia@acme.example")
    page.wait_for_url(re.compile(r"/guidelines"))
    desktop.audit()
    assert "Keep secrets secret." in page.content()
    page.get_by_role("button", name="I accept the guidelines").click()
    page.wait_for_url(re.compile(r"/$"))
    desktop.audit()
    assert "Mia" in page.locator("main").inner_text()

    # Edit my profile, with a photo.
    desktop.goto(f"/people/{org['mia'].pk}/edit/")
    page.get_by_label("Job title").fill("Site Reliability Engineer")
    page.get_by_label("Skills").fill("Terraform, Kubernetes")
    page.get_by_label("Pronouns").fill("she/her")
    page.get_by_label("New photo").set_input_files(_photo(tmp_path))
    page.get_by_role("button", name=re.compile("Save")).click()
    page.wait_for_url(re.compile(rf"/people/{org['mia'].pk}/$"))
    desktop.audit()
    main = page.locator("main").inner_text()
    assert "Site Reliability Engineer" in main and "Terraform" in main and "she/her" in main
    assert page.locator("main img.avatar").first.get_attribute("src").endswith(".webp")

    # Find a colleague as I type (no Enter pressed): partial, accent-free.
    desktop.goto("/people/")
    page.locator("main").get_by_label("Search people").press_sequentially("odega", delay=40)
    results = page.locator("#people-results")
    expect(results).not_to_contain_text("Cora Chief")
    expect(results).to_contain_text("Sanjay Ødegård")
    desktop.audit()  # the search pushed its URL into the history: audit that state too
    page.locator("#people-results").get_by_role("link", name="Sanjay Ødegård").click()
    page.wait_for_url(re.compile(rf"/people/{org['sanjay'].pk}/$"))
    desktop.audit()

    # The org chart: manager chain top-first, and a manager's direct reports.
    chart = page.locator("#org-chart").inner_text()
    assert chart.index("Cora Chief") < chart.index("Hugo Head")
    page.locator("#org-chart").get_by_role("link", name="Hugo Head").click()
    page.wait_for_url(re.compile(rf"/people/{org['head'].pk}/$"))
    desktop.audit()
    reports = page.locator("#org-chart").inner_text()
    assert "Mia Member" in reports and "Sanjay Ødegård" in reports


def test_member_journey_phone(org, phone):
    page = phone.page
    account_services.guidelines_accept(actor=org["mia"])
    _sign_in(phone, "mia@acme.example")
    page.wait_for_url(re.compile(r"/$"))
    phone.audit()
    phone.goto("/people/?q=kube")
    assert "Sanjay Ødegård" in page.locator("#people-results").inner_text()
    phone.goto(f"/people/{org['sanjay'].pk}/")
    assert "Hugo Head" in page.locator("#org-chart").inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways at phone width ({width}px)"
    phone.goto(f"/people/{org['mia'].pk}/edit/")
    phone.goto("/settings/sessions")


def test_admin_pages_are_accessible(org, desktop):
    page = desktop.page
    _sign_in(desktop, "admin@acme.example")
    page.wait_for_url(re.compile(r"/$"))
    desktop.audit()
    for path in (
        "/manage/",
        "/manage/invitations",
        "/manage/organisation",
        "/manage/import/",
        "/settings/tokens",
        "/settings/sessions",
    ):
        desktop.goto(path)
    # Create a shareable invitation link and use it in a fresh browser context.
    desktop.goto("/manage/invitations")
    page.locator("form:has(input[value=link])").get_by_role("button", name="Create link").click()
    desktop.audit()
    link = page.locator("code").filter(has_text="/invite/").inner_text()
    assert "/invite/" in link


def test_dark_theme_and_signed_out_pages_are_accessible(org, desktop):
    desktop.page.emulate_media(color_scheme="dark")
    for path in ("/signin", "/password-reset", "/signup"):
        desktop.goto(path)
    _sign_in(desktop, "admin@acme.example")
    desktop.page.wait_for_url(re.compile(r"/$"))
    desktop.audit()
    desktop.goto(f"/people/{org['sanjay'].pk}/")
    desktop.goto("/people/")
