"""Administration pages. To anyone but an admin they answer 404, like absent pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from townhall.accounts import forms, selectors, services
from townhall.accounts.http import AuthedRequest
from townhall.accounts.models import Invitation, Role, User
from townhall.accounts.permissions import can_administer
from townhall.accounts.selectors import organisation_for_request
from townhall.core.errors import NotFound, TownhallError
from townhall.core.forms import apply_error

View = Callable[..., HttpResponse]


def admin_only(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_administer(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _ctx(**extra: Any) -> dict[str, Any]:
    return {"nav": "manage", **extra}


@admin_only
def manage_home(request: AuthedRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    people = Paginator(selectors.user_list_for_admin(actor=request.user, query=query), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "accounts/manage/people.html",
        _ctx(page_title="Admin · People", people=people, query=query, roles=Role.choices, tab="people"),
    )


def _target(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise Http404
    return user


@admin_only
@require_POST
def person_role(request: AuthedRequest, user_id: int) -> HttpResponse:
    user = _target(user_id)
    form = forms.RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
    else:
        try:
            services.user_set_role(actor=request.user, user=user, role=form.cleaned_data["role"])
        except TownhallError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{user.display_name} is now {user.get_role_display()}.")
    return redirect("accounts:manage")


@admin_only
@require_POST
def person_deactivate(request: AuthedRequest, user_id: int) -> HttpResponse:
    user = _target(user_id)
    try:
        services.user_deactivate(actor=request.user, user=user)
    except TownhallError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{user.display_name} is deactivated; their sessions and tokens have ended.")
    return redirect("accounts:manage")


@admin_only
@require_POST
def person_reactivate(request: AuthedRequest, user_id: int) -> HttpResponse:
    user = _target(user_id)
    services.user_reactivate(actor=request.user, user=user)
    messages.success(request, f"{user.display_name} is active again.")
    return redirect("accounts:manage")


@admin_only
def invitations(request: AuthedRequest) -> HttpResponse:
    email_form = forms.EmailInviteForm(request.POST if request.POST.get("kind") == "email" else None, prefix="e")
    link_form = forms.LinkInviteForm(request.POST if request.POST.get("kind") == "link" else None, prefix="l")
    new_link = None
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("kind") == "email" and email_form.is_valid():
                services.invitation_create_email(
                    actor=request.user, email=email_form.cleaned_data["email"], role=email_form.cleaned_data["role"]
                )
                messages.success(request, f"Invitation sent to {email_form.cleaned_data['email']}.")
                return redirect("accounts:manage_invitations")
            if request.POST.get("kind") == "link" and link_form.is_valid():
                _, token = services.invitation_create_link(
                    actor=request.user,
                    role=link_form.cleaned_data["role"],
                    max_uses=link_form.cleaned_data["max_uses"],
                    days=link_form.cleaned_data["days"],
                )
                new_link = request.build_absolute_uri(f"/invite/{token}")
                link_form = forms.LinkInviteForm(prefix="l")
            else:
                status = 400
        except TownhallError as exc:
            apply_error(email_form if request.POST.get("kind") == "email" else link_form, exc)
            status = 400
    return render(
        request,
        "accounts/manage/invitations.html",
        _ctx(
            page_title="Admin · Invitations",
            email_form=email_form,
            link_form=link_form,
            new_link=new_link,
            invitations=selectors.invitation_list(actor=request.user)[:100],
            kinds=Invitation.Kind,
            tab="invitations",
        ),
        status=status,
    )


@admin_only
@require_POST
def invitation_revoke(request: AuthedRequest, invitation_id: int) -> HttpResponse:
    try:
        services.invitation_revoke(actor=request.user, invitation_id=invitation_id)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, "The invitation has been revoked.")
    return redirect("accounts:manage_invitations")


@admin_only
def organisation(request: AuthedRequest) -> HttpResponse:
    org = organisation_for_request(request)
    initial = {"name": org.name, "allowed_domains": ", ".join(org.allowed_domains), "guidelines": org.guidelines}
    form = forms.OrganisationForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.organisation_update(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    allowed_domains=form.cleaned_data["allowed_domains"].split(","),
                    guidelines=form.cleaned_data["guidelines"],
                    logo=request.FILES.get("logo"),
                )
            except TownhallError as exc:
                apply_error(form, exc)
                status = 400
            else:
                messages.success(request, "Organisation settings saved.")
                return redirect("accounts:manage_organisation")
        else:
            status = 400
    return render(
        request,
        "accounts/manage/organisation.html",
        _ctx(page_title="Admin · Organisation", form=form, org=org, tab="organisation"),
        status=status,
    )
