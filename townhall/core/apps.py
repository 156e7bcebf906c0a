from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "townhall.core"
    label = "core"

    def ready(self) -> None:
        from townhall.core import commit_hooks

        commit_hooks.install()
