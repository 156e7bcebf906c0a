from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "townhall.directory"
    label = "directory"

    def ready(self) -> None:
        from townhall.accounts.hooks import on_user_created
        from townhall.directory import search_docs
        from townhall.directory.services import profile_create_for_user

        on_user_created(profile_create_for_user)
        search_docs.register_sources()
        from townhall.directory import notify

        notify.register()
