"""Account pages: thin adapters over accounts.services and accounts.selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from townhall.accounts import forms, selectors, services
from townhall.accounts.http import AuthedRequest
from townhall.accounts.selectors import organisation_for_request
from townhall.core.errors import NotFound, TownhallError
from townhall.core.forms import apply_error


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def signin_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("feed:home")
    form = forms.SigninForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.signin(
                    request=request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
                )
            except services.Throttled as exc:
                apply_error(form, exc)
                status = 429
            except TownhallError as exc:
                apply_error(form, exc)
                status = 400
            else:
                return redirect(_safe_next(request, reverse("feed:home")))
        else:
            status = 400
    org = organisation_for_request(request)
    return render(
        request,
        "accounts/signin.html",
        {
            "form": form,
            "next": _safe_next(request, ""),
            "signup_open": bool(org.allowed_domains),
            "page_title": "Sign in",
        },
        status=status,
    )


@require_POST
def signout_view(request: HttpRequest) -> HttpResponse:
    services.signout(request=request)
    messages.info(request, "You have signed out.")
    return redirect("accounts:signin")


# --- Password reset (Django's views, Townhall's templates and rules) -------------

password_reset = auth_views.PasswordResetView.as_view(
    template_name="accounts/password_reset.html",
    email_template_name="accounts/email/password_reset.txt",
    html_email_template_name="accounts/email/password_reset.html",
    subject_template_name="accounts/email/password_reset_subject.txt",
    form_class=forms.TownhallPasswordResetForm,
    success_url=reverse_lazy("accounts:password_reset_sent"),
    extra_context={"page_title": "Reset your password"},
)
password_reset_sent = auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/password_reset_sent.html", extra_context={"page_title": "Check your email"}
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="accounts/password_reset_confirm.html",
    form_class=forms.TownhallSetPasswordForm,
    success_url=reverse_lazy("accounts:password_reset_done"),
    extra_context={"page_title": "Choose a new password"},
)
password_reset_done = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_done.html", extra_context={"page_title": "Password changed"}
)


# --- Sign-up and invitations --------------------------------------------------


def signup_view(request: HttpRequest) -> HttpResponse:
    org = organisation_for_request(request)
    if not org.allowed_domains:
        return render(request, "accounts/signup_closed.html", {"page_title": "Sign up"}, status=200)
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.signup_request(email=form.cleaned_data["email"])
            except TownhallError as exc:
                apply_error(form, exc)
            else:
                return render(
                    request,
                    "accounts/signup_sent.html",
                    {"email": form.cleaned_data["email"], "page_title": "Check your email"},
                )
        return render(
            request,
            "accounts/signup.html",
            {"form": form, "domains": org.allowed_domains, "page_title": "Sign up"},
            status=400,
        )
    return render(
        request, "accounts/signup.html", {"form": form, "domains": org.allowed_domains, "page_title": "Sign up"}
    )


def signup_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        email = services.signup_email_from_token(token=token)
    except TownhallError as exc:
        return render(
            request, "accounts/link_invalid.html", {"message": exc.message, "page_title": "Link not valid"}, status=400
        )
    form = forms.NewAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.signup_complete(
                token=token, full_name=form.cleaned_data["full_name"], password=form.cleaned_data["password"]
            )
        except TownhallError as exc:
            apply_error(form, exc)
        else:
            services.start_session(request=request, user=user)
            messages.success(request, "Welcome to Townhall! Tell your colleagues a bit about yourself.")
            return redirect("directory:edit", user_id=user.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "accounts/account_create.html",
        {"form": form, "email": email, "page_title": "Create your account"},
        status=status,
    )


def invite_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    invitation = selectors.invitation_by_token(token=token)
    if invitation is None:
        return render(
            request,
            "accounts/link_invalid.html",
            {
                "message": "This invitation link has expired or has already been used. Ask for a new one.",
                "page_title": "Invitation not valid",
            },
            status=404,
        )
    fixed = invitation.email or None
    form = forms.InviteAcceptForm(request.POST or None, fixed_email=fixed)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                email=fixed or form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password"],
            )
        except TownhallError as exc:
            apply_error(form, exc)
        else:
            if request.user.is_authenticated:
                services.signout(request=request)
            services.start_session(request=request, user=user)
            messages.success(request, "Welcome! Your account is ready.")
            return redirect("directory:edit", user_id=user.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "accounts/account_create.html",
        {"form": form, "email": fixed, "invited": True, "page_title": "Join"},
        status=status,
    )


@login_required
def guidelines_view(request: AuthedRequest) -> HttpResponse:
    org = organisation_for_request(request)
    next_url = _safe_next(request, reverse("feed:home"))
    if request.method == "POST":
        services.guidelines_accept(actor=request.user)
        return redirect(next_url)
    pending = selectors.guidelines_pending(user=request.user, organisation=org)
    return render(
        request,
        "accounts/guidelines.html",
        {"org": org, "pending": pending, "next": next_url, "page_title": "Usage guidelines"},
    )


# --- Sessions and tokens ----------------------------------------------------------


@login_required
def sessions_view(request: AuthedRequest) -> HttpResponse:
    rows = selectors.session_list(actor=request.user)
    return render(
        request,
        "accounts/sessions.html",
        {"sessions": rows, "current_key": request.session.session_key, "page_title": "Sessions", "nav": "settings"},
    )


@login_required
@require_POST
def session_end_view(request: AuthedRequest, session_id: int) -> HttpResponse:
    try:
        ended_key = services.session_end(actor=request.user, session_id=session_id)
    except NotFound as exc:
        raise Http404 from exc
    if ended_key == request.session.session_key:
        # This browser's own session: finish signing out here too.
        services.signout(request=request)
        return redirect("accounts:signin")
    messages.success(request, "That session has been signed out.")
    return redirect("accounts:sessions")


@login_required
@require_POST
def sessions_end_all_view(request: AuthedRequest) -> HttpResponse:
    count = services.sessions_end_all(actor=request.user)
    services.signout(request=request)
    messages.info(request, f"Signed out of {count} session{'s' if count != 1 else ''} everywhere.")
    return redirect("accounts:signin")


@login_required
def tokens_view(request: AuthedRequest) -> HttpResponse:
    form = forms.TokenForm(request.POST or None)
    created_secret = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _, created_secret = services.token_create(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_days=form.cleaned_data["expires_days"],
                )
            except TownhallError as exc:
                apply_error(form, exc)
                status = 400
            else:
                form = forms.TokenForm()
        else:
            status = 400
    return render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "tokens": selectors.token_list(actor=request.user),
            "created_secret": created_secret,
            "page_title": "API tokens",
            "nav": "settings",
        },
        status=status,
    )


@login_required
@require_POST
def token_revoke_view(request: AuthedRequest, token_id: int) -> HttpResponse:
    try:
        services.token_revoke(actor=request.user, token_id=token_id)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, "The token has been revoked.")
    return redirect("accounts:tokens")
