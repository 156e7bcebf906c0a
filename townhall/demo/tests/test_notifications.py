from __future__ import annotations

import pytest
from django.core.management import call_command

from townhall.accounts.models import User
from townhall.directory.demo import MEMBER_EMAIL
from townhall.notifications.selectors import notification_page, unread_count
from townhall.notifications.tasks import send_notification_email


@pytest.mark.django_db
def test_demo_members_have_notifications_and_no_email_queued(var_dir, capsys):
    call_command("demo", "--people", "80", "--seed", "5", "--if-empty")
    member = User.objects.get(email=MEMBER_EMAIL)
    items = notification_page(viewer=member).items
    assert len(items) >= 3
    assert 1 <= unread_count(user=member) <= 5
    from django_tasks_db.models import DBTaskResult

    assert not DBTaskResult.objects.filter(task_path=send_notification_email.module_path).exists()
