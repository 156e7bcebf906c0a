from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "townhall.notifications"
    label = "notifications"
