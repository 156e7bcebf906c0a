from django.apps import AppConfig


class ReactionsConfig(AppConfig):
    name = "townhall.reactions"
    label = "reactions"
