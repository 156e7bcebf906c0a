from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "townhall.core"
    label = "core"

    def ready(self) -> None:
        from datetime import timedelta

        from townhall.core import commit_hooks, periodic, pg_types
        from townhall.core.tasks import prune_idempotency_keys

        commit_hooks.install()
        pg_types.install()
        periodic.register(name="core.prune_idempotency_keys", every=timedelta(hours=1), task=prune_idempotency_keys)
