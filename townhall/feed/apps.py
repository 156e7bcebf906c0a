from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "townhall.feed"
    label = "feed"

    def ready(self) -> None:
        # The feeds' "N new posts" bar listens to these channels (feed/live.py).
        from townhall.feed import live

        live.register()
