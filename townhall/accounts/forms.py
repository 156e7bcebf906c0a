from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm

from townhall.accounts.models import Role, Scope, User

NAME_ATTRS = {"autocomplete": "name"}


class SigninForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    password = forms.CharField(
        max_length=4096, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class NewAccountForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=150, widget=forms.TextInput(attrs=NAME_ATTRS))
    password = forms.CharField(
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password.",
    )


class InviteAcceptForm(NewAccountForm):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    field_order = ["email", "full_name", "password"]

    def __init__(self, *args: Any, fixed_email: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if fixed_email:
            # Email invitations are bound to the invited address.
            del self.fields["email"]


class SignupForm(forms.Form):
    email = forms.EmailField(
        label="Work email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We will email you a link to finish signing up.",
    )


class TownhallPasswordResetForm(PasswordResetForm):
    """Also lets people imported without a password set their first one."""

    def get_users(self, email: str) -> Any:
        return User.objects.filter(email=email.strip().lower(), is_active=True)


class TownhallSetPasswordForm(SetPasswordForm):
    pass


class EmailInviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class LinkInviteForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    max_uses = forms.IntegerField(label="How many people may use it", min_value=1, max_value=10_000, initial=50)
    days = forms.IntegerField(label="Valid for (days)", min_value=1, max_value=90, initial=14)


class OrganisationForm(forms.Form):
    name = forms.CharField(max_length=120)
    logo = forms.ImageField(required=False, help_text="Square works best; it is re-encoded and resized.")
    allowed_domains = forms.CharField(
        required=False,
        max_length=2000,
        help_text="Comma-separated. People with these email domains may sign up on their own.",
    )
    guidelines = forms.CharField(
        label="Usage guidelines",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Everyone accepts these on first sign-in, and again whenever you change them.",
    )


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What will use this token, e.g. 'Reporting script'.")
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.READ])
    expires_days = forms.IntegerField(
        label="Expires after (days)", required=False, min_value=1, max_value=365, help_text="Leave empty for no expiry."
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
