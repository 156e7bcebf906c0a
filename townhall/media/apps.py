from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "townhall.media"
    label = "media"
