"""Media in S3-compatible storage by configuration (MEDIA_STORAGE_URL): moto's S3
server on loopback stands for the bucket. An image posted through the API lands in
the private bucket, its URL is Townhall's own /media/ view, and that view streams the
object to a member of the community and answers 404 to anyone else."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

from townhall.config.env import media_storage
from townhall.posts.models import Attachment
from townhall.testing.clients import signed_in
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import png_upload

BUCKET = "townhall-media"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3_bucket() -> Iterator[tuple[str, object]]:
    moto_server = pytest.importorskip("moto.server")
    import boto3

    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    client.create_bucket(Bucket=BUCKET)
    url = f"s3://k:s@{BUCKET}/media?endpoint_url={endpoint}&region=us-east-1&addressing_style=path"
    try:
        yield url, client
    finally:
        server.stop()


def test_media_storage_url_parsing() -> None:
    assert media_storage("")["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    config = media_storage("s3://AK:s%2Fcret@bucket-1/some/prefix?endpoint_url=https://s3.example.com&region=eu-west-1")
    assert config["BACKEND"] == "townhall.core.storage.MediaS3Storage"
    assert config["OPTIONS"] == {
        "bucket_name": "bucket-1",
        "location": "some/prefix",
        "default_acl": None,
        "file_overwrite": False,
        "querystring_auth": True,
        "access_key": "AK",
        "secret_key": "s/cret",
        "endpoint_url": "https://s3.example.com",
        "region_name": "eu-west-1",
    }
    with pytest.raises(ValueError, match="unknown option"):
        media_storage("s3://bucket?acl=public-read")
    with pytest.raises(ValueError, match="must look like"):
        media_storage("ftp://bucket")


@pytest.mark.django_db
def test_post_image_lands_in_the_bucket_and_is_served_only_through_the_permission_checked_view(s3_bucket) -> None:  # type: ignore[no-untyped-def]
    url, client = s3_bucket
    author, outsider = UserFactory(), UserFactory()
    CommunityFactory(slug="inner", visibility="private", admin=author)
    storages = {**settings.STORAGES, "default": media_storage(url)}
    with override_settings(STORAGES=storages):
        author_client = signed_in(author)
        created = author_client.post(
            "/api/v1/posts",
            data=json.dumps({"body": "in the bucket", "community": "inner"}),
            content_type="application/json",
        )
        assert created.status_code == 201, created.content
        post_id = created.json()["id"]
        uploaded = author_client.post(f"/api/v1/posts/{post_id}/images", {"images": [png_upload("p.png")]})
        assert uploaded.status_code == 200, uploaded.content
        image_url = uploaded.json()["images"][0]["url"]

        attachment = Attachment.objects.get(post_id=post_id)
        key = f"media/{attachment.image.name}"
        listed = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]  # type: ignore[attr-defined]
        assert listed == [key]
        stored = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()  # type: ignore[attr-defined]
        assert stored[:4] == b"RIFF" and stored[8:12] == b"WEBP"  # re-encoded before it was stored
        assert not (settings.MEDIA_ROOT / attachment.image.name).exists()  # nothing on local disk

        # The URL Townhall gives out is its own view, never a bucket or presigned link.
        assert image_url == f"/media/{attachment.image.name}"
        page = author_client.get(f"/posts/{post_id}/")
        assert image_url in page.content.decode() and "X-Amz" not in page.content.decode()

        served = author_client.get(image_url)
        assert served.status_code == 200
        assert b"".join(served.streaming_content) == stored
        assert served["Content-Type"] == "image/webp"
        assert served["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in served["Content-Security-Policy"]

        # Hidden answers like absent: an outsider, a signed-out visitor, a missing key,
        # a traversal attempt.
        assert signed_in(outsider).get(image_url).status_code == 404
        assert author_client.__class__().get(image_url).status_code in (302, 404)
        assert author_client.get("/media/posts/never-there.webp").status_code == 404
        assert author_client.get("/media/posts/../org/x.webp").status_code == 404
