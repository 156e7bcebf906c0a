from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "townhall.feed"
    label = "feed"
