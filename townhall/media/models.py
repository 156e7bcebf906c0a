from __future__ import annotations

from django.db import models


class LinkPreview(models.Model):
    """What a URL shows when shared: fetched once by the worker under the SSRF rules
    in media/fetch.py, then reused by every post that links to it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    url = models.URLField(max_length=2000)
    url_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    title = models.CharField(max_length=300, blank=True)
    description = models.CharField(max_length=1000, blank=True)
    site_name = models.CharField(max_length=200, blank=True)
    image = models.ImageField(upload_to="previews/", blank=True)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.url
