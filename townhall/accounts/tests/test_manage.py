from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from townhall.accounts import services
from townhall.accounts.models import Organisation, User
from townhall.accounts.selectors import organisation_get
from townhall.core.errors import PermissionDenied, ValidationFailed
from townhall.testing.clients import signed_in

pytestmark = pytest.mark.django_db

ADMIN_URLS = ["accounts:manage", "accounts:manage_invitations", "accounts:manage_organisation"]


@pytest.mark.parametrize("name", ADMIN_URLS)
def test_admin_pages_are_404_for_members_and_guests(name, member_client, guest):
    assert member_client.get(reverse(name)).status_code == 404
    assert signed_in(guest).get(reverse(name)).status_code == 404


@pytest.mark.parametrize("name", ADMIN_URLS)
def test_admin_pages_render_for_admins(name, admin_client):
    assert admin_client.get(reverse(name)).status_code == 200


def test_role_change_and_last_admin_protected(admin, member):
    services.user_set_role(actor=admin, user=member, role="ic_moderator")
    assert User.objects.get(pk=member.pk).role == "ic_moderator"
    with pytest.raises(ValidationFailed):
        services.user_set_role(actor=admin, user=admin, role="member")
    with pytest.raises(PermissionDenied):
        services.user_set_role(actor=member, user=admin, role="member")
    assert User.objects.get(pk=admin.pk).role == "admin"


def test_role_page_rejects_unknown_role(admin_client, member):
    response = admin_client.post(reverse("accounts:manage_role", args=[member.pk]), {"role": "emperor"}, follow=True)
    assert "Choose a valid role." in response.content.decode()
    assert User.objects.get(pk=member.pk).role == "member"


def test_deactivate_and_reactivate_through_pages(admin_client, member):
    admin_client.post(reverse("accounts:manage_deactivate", args=[member.pk]))
    assert not User.objects.get(pk=member.pk).is_active
    admin_client.post(reverse("accounts:manage_reactivate", args=[member.pk]))
    assert User.objects.get(pk=member.pk).is_active


def test_admin_cannot_deactivate_self(admin):
    with pytest.raises(ValidationFailed):
        services.user_deactivate(actor=admin, user=admin)


def _png() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (600, 300), "navy").save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "logo.png"
    return buffer


def test_organisation_settings_save_and_bump_guidelines(admin_client, admin, member):
    response = admin_client.post(
        reverse("accounts:manage_organisation"),
        {
            "name": "Acme",
            "allowed_domains": "acme.example, @Acme.example, shop.acme.example",
            "guidelines": "Be kind.",
            "logo": _png(),
        },
    )
    assert response.status_code == 302
    org = organisation_get()
    assert org.name == "Acme"
    assert org.allowed_domains == ["acme.example", "shop.acme.example"]
    assert org.guidelines_version == 1
    assert org.logo.name.endswith(".webp")
    # The admin who wrote them has accepted; a member is sent to read them first.
    assert admin_client.get(reverse("feed:home")).status_code == 200
    client = signed_in(member)
    gate = client.get(reverse("directory:list"))
    assert gate.status_code == 302 and gate["Location"].startswith(reverse("accounts:guidelines"))
    client.post(reverse("accounts:guidelines"), {"next": "/people/"})
    assert client.get(reverse("directory:list")).status_code == 200
    # Unchanged guidelines keep the version; changed ones ask again.
    services.organisation_update(actor=admin, name="Acme", allowed_domains=[], guidelines="Be kind.")
    assert organisation_get().guidelines_version == 1
    services.organisation_update(actor=admin, name="Acme", allowed_domains=[], guidelines="Be kind. Be brief.")
    assert client.get(reverse("directory:list")).status_code == 302


def test_organisation_settings_bad_input_changes_nothing(admin_client):
    before = organisation_get()
    bad_logo = io.BytesIO(b"<svg onload=alert(1)>")
    bad_logo.name = "logo.png"
    response = admin_client.post(
        reverse("accounts:manage_organisation"),
        {"name": "", "allowed_domains": "not a domain!", "guidelines": "x", "logo": bad_logo},
    )
    assert response.status_code == 400
    after = Organisation.objects.get(pk=before.pk)
    assert (after.name, after.allowed_domains, after.guidelines) == (
        before.name,
        before.allowed_domains,
        before.guidelines,
    )


def test_organisation_domain_validation_message(admin):
    with pytest.raises(ValidationFailed, match="not a valid email domain"):
        services.organisation_update(actor=admin, name="Acme", allowed_domains=["exa mple.com"], guidelines="")


def test_logo_is_public_but_avatars_need_signin(admin, admin_client):
    from townhall.directory.services import ProfileChanges, profile_update

    org = services.organisation_update(actor=admin, name="Acme", allowed_domains=[], guidelines="", logo=_png())
    profile_update(actor=admin, person=admin, changes=ProfileChanges(), avatar=_png())
    avatar_url = User.objects.get(pk=admin.pk).profile.avatar.url
    assert Client().get(org.logo.url).status_code == 200
    assert Client().get(avatar_url).status_code == 404
    assert admin_client.get(avatar_url).status_code == 200
