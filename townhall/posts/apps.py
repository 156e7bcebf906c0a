from django.apps import AppConfig


class PostsConfig(AppConfig):
    name = "townhall.posts"
    label = "posts"

    def ready(self) -> None:
        # Posts and comments take reactions; the reactions app knows them only through
        # this registration (it imports no content app).
        from townhall.core import media_access
        from townhall.posts import search_docs
        from townhall.posts.selectors import (
            can_read_attachment,
            reactable_comment_ids,
            reactable_post_ids,
            visible_comment_ids,
            visible_post_ids,
        )
        from townhall.posts.services import refresh_comment_reactions, refresh_engagement
        from townhall.reactions.registry import TargetType, register

        media_access.register("posts/", can_read_attachment)
        search_docs.register_sources()
        # Notifications: targets, owners and the digest (posts/notify.py).
        from townhall.posts import notify

        notify.register()
        # Real-time events: who may see a post, checked at delivery (posts/live.py).
        from townhall.posts import live

        live.register()

        register(
            TargetType(
                name="post",
                visible_ids=visible_post_ids,
                after_change=refresh_engagement,
                reactable_ids=reactable_post_ids,
            )
        )
        register(
            TargetType(
                name="comment",
                visible_ids=visible_comment_ids,
                after_change=refresh_comment_reactions,
                reactable_ids=reactable_comment_ids,
            )
        )
