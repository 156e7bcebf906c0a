"""factory-boy factories. Users are created through the real service so every user
gets a profile exactly as in production."""

from __future__ import annotations

from typing import Any

import factory

from townhall.accounts.models import User
from townhall.accounts.services import user_create
from townhall.directory.models import Department, Location, Profile

TEST_PASSWORD = "correct-horse-battery-42"  # noqa: S105 - test fixture only


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Sequence(lambda n: f"Person Number{n}")
    role = "member"

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        password = kwargs.pop("password", TEST_PASSWORD)
        is_active = kwargs.pop("is_active", True)
        user = user_create(
            email=kwargs["email"], full_name=kwargs["full_name"], password=password, role=kwargs.get("role", "member")
        )
        if not is_active:
            User.objects.filter(pk=user.pk).update(is_active=False)
            user.refresh_from_db()
        return user


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Department {n}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"City {n}")


def profile_of(user: User) -> Profile:
    return Profile.objects.select_related("user").get(user=user)
