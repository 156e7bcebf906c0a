from django.apps import AppConfig


class CommunitiesConfig(AppConfig):
    name = "townhall.communities"
    label = "communities"
    verbose_name = "Communities"

    def ready(self) -> None:
        from townhall.accounts.hooks import on_user_created
        from townhall.communities import search_docs
        from townhall.communities.selectors import can_read_cover
        from townhall.communities.sync import department_changed, run_bulk_sync, user_created
        from townhall.core import media_access
        from townhall.directory.hooks import on_bulk_directory_change, on_department_changed

        # Runs after directory's own hook (INSTALLED_APPS order), so the profile exists.
        on_user_created(user_created)
        media_access.register("communities/", can_read_cover)
        search_docs.register_sources()
        on_department_changed(department_changed)
        on_bulk_directory_change(run_bulk_sync)
        from townhall.communities import notify

        notify.register()
        # Real-time events about a community (not a post): who may read it now.
        from townhall.communities import live

        live.register()
