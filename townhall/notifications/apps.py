from datetime import timedelta

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "townhall.notifications"
    label = "notifications"

    def ready(self) -> None:
        from townhall.core import periodic
        from townhall.notifications.tasks import enqueue_due_digests

        # Every worker looks for due digests; DigestRun's unique key sends each once.
        periodic.register(name="notifications.digests", every=timedelta(minutes=10), task=enqueue_due_digests)
