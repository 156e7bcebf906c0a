from django.apps import AppConfig


class PostsConfig(AppConfig):
    name = "townhall.posts"
    label = "posts"
