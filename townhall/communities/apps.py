from django.apps import AppConfig


class CommunitiesConfig(AppConfig):
    name = "townhall.communities"
    label = "communities"
