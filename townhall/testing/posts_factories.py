"""Factories for posts and comments.

`PostFactory` / `CommentFactory` write rows directly (fast, any state: deleted,
pinned, in an archived community); use the services when the behaviour under test
is the service's. `png_upload()` makes a real image file for upload tests.

    post = PostFactory(author=alice, community=design, body="Hello #launch")
    PostFactory(author=alice, community=None, profile_user=bob)   # on Bob's profile
    CommentFactory(post=post, author=bob)
"""

from __future__ import annotations

import io

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from townhall.core.markdown import render_markdown
from townhall.posts.models import Comment, Post
from townhall.posts.ranking import hot_score


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    author = factory.SubFactory("townhall.testing.factories.UserFactory")
    community = factory.SubFactory("townhall.testing.communities_factories.CommunityFactory")
    profile_user = None
    body = factory.Sequence(lambda n: f"Post number {n}")
    body_html = factory.LazyAttribute(lambda o: render_markdown(o.body))
    created_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.LazyAttribute(lambda o: o.created_at)
    hot_score = factory.LazyAttribute(lambda o: hot_score(o.created_at, 0, 0, 0))


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory("townhall.testing.factories.UserFactory")
    parent = None
    body = factory.Sequence(lambda n: f"Comment number {n}")
    body_html = factory.LazyAttribute(lambda o: render_markdown(o.body))
    created_at = factory.LazyFunction(timezone.now)


def png_bytes(width: int = 40, height: int = 30, color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def png_upload(name: str = "photo.png", width: int = 40, height: int = 30) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(width, height), content_type="image/png")
