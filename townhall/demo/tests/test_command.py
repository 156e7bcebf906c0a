from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from townhall.accounts.models import User
from townhall.directory.demo import ADMIN_EMAIL, MEMBER_EMAIL, saved_password
from townhall.posts.models import Post
from townhall.search.models import Document


@pytest.mark.django_db
def test_demo_command_if_empty_is_idempotent(var_dir, capsys):
    call_command("demo", "--people", "80", "--seed", "5", "--if-empty")
    first = capsys.readouterr().out
    password = saved_password(var_dir / "demo-credentials.txt")
    assert f"as {ADMIN_EMAIL} or {MEMBER_EMAIL} with password {password}" in first
    assert User.objects.count() == 80
    posts = Post.objects.count()
    assert posts > 0
    # Search works on the demo at once: the command indexes what it loaded.
    assert Document.objects.filter(kind="post").count() == Post.objects.filter(deleted_at__isnull=True).count()
    assert Document.objects.filter(kind="person").count() == 80

    call_command("demo", "--if-empty")
    second = capsys.readouterr().out
    assert second.startswith("Demo data already loaded")
    assert f"with password {password}" in second
    assert User.objects.count() == 80
    assert Post.objects.count() == posts

    with pytest.raises(CommandError, match="already has people"):
        call_command("demo")


@pytest.mark.django_db
def test_demo_command_reports_bad_sizes(var_dir):
    with pytest.raises(CommandError, match="between 50"):
        call_command("demo", "--people", "5")
    assert not User.objects.exists()
