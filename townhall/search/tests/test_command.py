from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from townhall.search.models import Document
from townhall.testing.posts_factories import PostFactory

pytestmark = pytest.mark.django_db


def test_reindex_command_rebuilds_and_reports(member, capsys):
    PostFactory(body="Bulk written, never indexed")
    assert not Document.objects.filter(kind="post").exists()
    call_command("reindex")
    out = capsys.readouterr().out
    assert "Search index rebuilt" in out
    assert any(line.split()[:3] == ["post:", "1", "documents"] for line in out.splitlines())
    assert Document.objects.filter(kind="post").count() == 1
    call_command("reindex", "--kind", "post")
    assert Document.objects.filter(kind="post").count() == 1
    with pytest.raises(CommandError, match="Unknown kind"):
        call_command("reindex", "--kind", "nonsense")
