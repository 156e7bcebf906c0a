"""Media in S3-compatible object storage (MEDIA_STORAGE_URL, config/env.py).

The bucket stays private: every URL Townhall renders for a stored file is its own
`/media/<name>` (core.views.media), which checks `media_access` for the viewer and
then streams the object from the bucket with the same safe headers as local files.
So a hidden post's image is exactly as hidden in S3 as on disk, and no presigned link
outlives a permission change.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage


class MediaS3Storage(S3Storage):
    """S3Storage whose URLs go through Townhall's permission-checked media view."""

    def url(self, name: str, parameters: Any = None, expire: Any = None, http_method: Any = None) -> str:
        return f"{settings.MEDIA_URL}{filepath_to_uri(name)}"
