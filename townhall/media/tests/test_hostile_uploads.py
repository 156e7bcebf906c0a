"""Hostile uploads through every upload path: post images and comment images (API,
multipart, and the HTML composer and comment form), profile photo, community cover and
organisation logo (HTML forms).

Every file is generated here (Pillow or raw bytes; no binaries in the repository). Each
one must end in a clear refusal with nothing stored, or in a re-encoded WebP with no
metadata and none of the uploader's bytes; never a server error. Every stored file is
served with its own safe type, `nosniff`, a sandboxing CSP and a Content-Disposition.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from townhall.accounts.models import Organisation
from townhall.accounts.services import token_create
from townhall.communities.models import Community
from townhall.communities.selectors import all_company
from townhall.posts.models import Attachment, Comment, Post
from townhall.posts.services import comment_create, post_create
from townhall.testing.clients import signed_in
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

PAYLOAD = b"<script>alert('townhall-xss')</script>"
PHP = b"<?php system($_GET['c']); ?>"
MARKERS = (b"townhall-xss", b"system($_GET", b"townhall-gps", b"onload")

# --- generators -------------------------------------------------------------------------


def _save(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def _png(size: tuple[int, int] = (48, 32), mode: str = "RGB", color: object = "red") -> bytes:
    return _save(Image.new(mode, size, color), "PNG")


def _jpeg(size: tuple[int, int] = (48, 32)) -> bytes:
    return _save(Image.new("RGB", size, "blue"), "JPEG")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (a pixel flood): tiny on disk."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _png_with_text() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", PAYLOAD.decode())
    info.add_text("Location", "townhall-gps 51.5N 0.12W")
    return _save(Image.new("RGB", (40, 40), "green"), "PNG", pnginfo=info)


def _jpeg_with_gps(orientation: int = 1) -> bytes:
    image = Image.new("RGB", (60, 40), "yellow")
    exif = Image.Exif()
    exif[0x010F] = "townhall-gps camera"  # Make
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 26.0)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 39.0)
    return _save(image, "JPEG", exif=exif.tobytes())


def _jpeg_with_comment() -> bytes:
    return _save(Image.new("RGB", (40, 40), "white"), "JPEG", comment=PHP + PAYLOAD)


def _jpeg_huge_header() -> bytes:
    data = bytearray(_jpeg((16, 16)))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65000, 65000)
    return bytes(data)


def _gif_header_huge() -> bytes:
    data = bytearray(_save(Image.new("P", (4, 4)), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    # The image descriptor too, so the first frame claims the whole screen.
    desc = data.find(b",", 13)
    data[desc + 5 : desc + 9] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def _animated_gif(frames: int) -> bytes:
    images = [Image.new("P", (4, 4), n % 256) for n in range(frames)]
    return _save(images[0], "GIF", save_all=True, append_images=images[1:], duration=10, loop=0)


def _apng(frames: int) -> bytes:
    images = [Image.new("RGB", (8, 8), (n % 256, 0, 0)) for n in range(frames)]
    return _save(images[0], "PNG", save_all=True, append_images=images[1:])


def _gif_with_comment() -> bytes:
    return _save(Image.new("P", (8, 8)), "GIF", comment=PAYLOAD)


def _webp_with_xmp() -> bytes:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description townhall-gps="51.5"/></x:xmpmeta>'
    return _save(Image.new("RGB", (30, 30), "purple"), "WEBP", xmp=xmp)


def _zip() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


SVG_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(\'townhall-xss\')</script></svg>'
XML_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>&lol2;</text></svg>'
)
HTML = b"<!doctype html><html><body>" + PAYLOAD + b"</body></html>"


@dataclass(frozen=True)
class Hostile:
    label: str
    name: str
    content: Callable[[], bytes]
    accepted: bool | None  # re-encoded and stored (True), refused (False), either (None)
    content_type: str = "image/png"


CORPUS: list[Hostile] = [
    # Active content under any name.
    Hostile("svg with script", "x.svg", lambda: SVG_SCRIPT, False, "image/svg+xml"),
    Hostile("svg named png", "x.png", lambda: SVG_SCRIPT, False),
    Hostile("svg xml bomb", "bomb.svg", lambda: XML_BOMB, False, "image/svg+xml"),
    Hostile("html named png", "page.png", lambda: HTML, False),
    Hostile("html behind png magic", "page.png", lambda: b"\x89PNG\r\n\x1a\n" + HTML, False),
    Hostile("html behind gif magic", "page.gif", lambda: b"GIF89a" + HTML, False, "image/gif"),
    Hostile("javascript named jpg", "x.jpg", lambda: b"alert('townhall-xss')//", False, "image/jpeg"),
    Hostile("pdf named jpg", "doc.jpg", lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", False),
    Hostile("zip named png", "doc.png", _zip, False),
    Hostile(
        "eps (ghostscript) named png", "x.png", lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", False
    ),
    Hostile("ico format", "x.ico", lambda: _save(Image.new("RGB", (16, 16)), "ICO"), False, "image/x-icon"),
    # Polyglots: real images carrying a payload; re-encoding drops it.
    Hostile("png + html after IEND", "poly.png", lambda: _png() + HTML, True),
    Hostile(
        "gif + js after trailer", "poly.gif", lambda: _save(Image.new("P", (8, 8)), "GIF") + b"*/=alert(1)//", True
    ),
    Hostile("gif comment with script", "c.gif", _gif_with_comment, True, "image/gif"),
    Hostile("jpeg comment with php", "shell.php.jpg", _jpeg_with_comment, True, "image/jpeg"),
    Hostile("png text chunks with script", "t.png", _png_with_text, True),
    Hostile("webp with xmp", "x.webp", _webp_with_xmp, True, "image/webp"),
    # Metadata that must not survive.
    Hostile("jpeg with exif gps", "gps.jpg", _jpeg_with_gps, True, "image/jpeg"),
    Hostile("jpeg with gps and rotation", "rot.jpg", lambda: _jpeg_with_gps(6), True, "image/jpeg"),
    # Bombs and floods.
    Hostile("png pixel flood header", "flood.png", lambda: _png_header_only(100_000, 100_000), False),
    Hostile("png 2^31 width", "wide.png", lambda: _png_header_only(2**31 - 1, 1), False),
    Hostile("jpeg pixel flood header", "flood.jpg", _jpeg_huge_header, False, "image/jpeg"),
    Hostile("gif pixel flood header", "flood.gif", _gif_header_huge, False, "image/gif"),
    Hostile("animated gif, 3000 frames", "anim.gif", lambda: _animated_gif(3000), True, "image/gif"),
    Hostile("apng, 500 frames", "anim.png", lambda: _apng(500), True),
    Hostile("extreme aspect ratio", "strip.png", lambda: _png((20_000, 1)), True),
    # Broken files.
    Hostile("zero bytes", "empty.png", lambda: b"", False),
    Hostile("one byte", "one.png", lambda: b"\x89", False),
    Hostile("truncated png", "half.png", lambda: _png((200, 200), color="blue")[:150], False),
    Hostile("truncated jpeg", "half.jpg", lambda: _jpeg((300, 300))[:300], False, "image/jpeg"),
    # A bad checksum on the last chunk: the logo form's verify() refuses it, the others re-encode it.
    Hostile("png with bad crc", "crc.png", lambda: _png()[:-5] + b"\x00\x00\x00\x00\x00", None),
    # Too big.
    Hostile("oversize (11 MB)", "big.png", lambda: _png() + b"\x00" * (11 * 1024 * 1024), False),
    # Odd but valid images and names.
    Hostile("jpeg named gif", "wrong.gif", _jpeg, True, "image/gif"),
    Hostile("path traversal name", "../../../etc/passwd.png", _png, True),
    Hostile("windows traversal name", "..\\..\\boot.ini.png", _png, True),
    # The logo form (a Django ImageField) also refuses names without an image extension.
    Hostile("right-to-left override name", "photo\u202egnp.exe", _png, None),
    Hostile("unicode name", "фото 📷 ünïcödé.png", _png, True),
    Hostile("very long name", "a" * 400 + ".png", _png, True),
    Hostile("html extension, real png", "x.html", _png, None, "text/html"),
    Hostile("cmyk jpeg", "cmyk.jpg", lambda: _save(Image.new("CMYK", (20, 20)), "JPEG"), True, "image/jpeg"),
    Hostile("16-bit png", "deep.png", lambda: _png((20, 20), mode="I;16", color=4000), True),
    Hostile(
        "palette png with transparency", "p.png", lambda: _save(Image.new("P", (9, 9)), "PNG", transparency=0), True
    ),
    Hostile("bmp", "x.bmp", lambda: _save(Image.new("RGB", (10, 10)), "BMP"), True, "image/bmp"),
    Hostile("tiff", "x.tiff", lambda: _save(Image.new("RGB", (10, 10)), "TIFF"), True, "image/tiff"),
]


# --- upload paths -------------------------------------------------------------------------


@dataclass
class Uploader:
    label: str
    send: Callable[[SimpleUploadedFile], object]
    written: Callable[[], int]  # rows the path writes (no partial write on refusal)
    reset: Callable[[], object] = lambda: None  # make room before the next upload


@pytest.fixture
def paths(admin) -> list[Uploader]:  # type: ignore[no-untyped-def]
    author = UserFactory()
    _, token = token_create(actor=author, name="uploads", scopes=["read", "write"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    post = post_create(actor=author, body="Pictures", community=all_company())
    comment = comment_create(actor=author, post=post, body="More pictures")
    person = signed_in(author)
    boss = signed_in(admin)
    counter = iter(range(10_000))

    def post_image(upload: SimpleUploadedFile) -> object:
        return api.post(f"/api/v1/posts/{post.pk}/images", {"images": [upload], "alt_text": ["x"]})

    def comment_image(upload: SimpleUploadedFile) -> object:
        return api.post(f"/api/v1/comments/{comment.pk}/images", {"images": [upload]})

    def avatar(upload: SimpleUploadedFile) -> object:
        return person.post(
            f"/people/{author.pk}/edit/", {"full_name": author.full_name, "timezone": "UTC", "avatar": upload}
        )

    def cover(upload: SimpleUploadedFile) -> object:
        return person.post(
            "/communities/new",
            {"name": f"Uploads {next(counter)}", "kind": "interest", "visibility": "public", "cover": upload},
        )

    def logo(upload: SimpleUploadedFile) -> object:
        return boss.post("/manage/organisation", {"name": "Northwind", "logo": upload})

    def composer(upload: SimpleUploadedFile) -> object:
        return person.post("/posts/new", {"body": "", "destination": "company", "image_1": upload, "alt_1": "x"})

    def comment_form(upload: SimpleUploadedFile) -> object:
        return person.post(f"/posts/{post.pk}/comments", {"body": "", "image_1": upload})

    return [
        Uploader(
            "post image",
            post_image,
            lambda: Attachment.objects.filter(post=post).count(),
            lambda: Attachment.objects.filter(post=post).delete(),  # 10 images per post at most
        ),
        Uploader(
            "comment image",
            comment_image,
            lambda: Attachment.objects.filter(comment=comment).count(),
            lambda: Attachment.objects.filter(comment=comment).delete(),
        ),
        Uploader("avatar", avatar, lambda: 0),
        Uploader("community cover", cover, lambda: Community.objects.count()),
        Uploader("organisation logo", logo, lambda: 0),
        Uploader("post composer (HTML)", composer, lambda: Post.objects.count()),
        Uploader("comment form (HTML)", comment_form, lambda: Comment.objects.count()),
    ]


def _stored() -> set[Path]:
    root = Path(settings.MEDIA_ROOT)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _check_served(client: Client, path: Path) -> None:
    name = path.relative_to(Path(settings.MEDIA_ROOT)).as_posix()
    response = client.get(f"/media/{name}")
    assert response.status_code == 200, name
    assert response["Content-Type"] == "image/webp"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Content-Disposition"].startswith("inline")
    b"".join(response.streaming_content)  # type: ignore[attr-defined]


PATHS = [
    "post image",
    "comment image",
    "avatar",
    "community cover",
    "organisation logo",
    "post composer (HTML)",
    "comment form (HTML)",
]


@pytest.mark.parametrize("path_label", PATHS)
def test_hostile_uploads(paths, member_client, path_label, record_property):
    assert len(CORPUS) >= 30
    path = next(p for p in paths if p.label == path_label)
    outcomes = {"refused": 0, "re-encoded": 0}
    for item in CORPUS:
        content = item.content()
        if True:
            path.reset()
            before, rows_before = _stored(), path.written()
            upload = SimpleUploadedFile(item.name, content, content_type=item.content_type)
            response = path.send(upload)
            status = response.status_code  # type: ignore[attr-defined]
            where = f"{item.label} via {path.label}"
            assert status < 500, f"{where}: server error {status}"
            new = _stored() - before
            item_accepted = status in (200, 201, 302) if item.accepted is None else item.accepted
            if not item_accepted:
                assert status in (400, 413, 422), f"{where}: expected a refusal, got {status}"
                body = response.content.decode()  # type: ignore[attr-defined]
                assert "image" in body.lower(), f"{where}: the refusal does not say what is wrong"
                assert not new, f"{where}: refused but stored {new}"
                assert path.written() == rows_before, f"{where}: refused but wrote rows"
                outcomes["refused"] += 1
                continue
            assert status in (200, 201, 302), f"{where}: expected it stored, got {status}: {response.content[:300]!r}"  # type: ignore[attr-defined]
            assert new, f"{where}: accepted but nothing stored"
            for stored in new:
                assert stored.suffix == ".webp", f"{where}: stored as {stored.name}"
                assert ".." not in stored.name and "\u202e" not in stored.name
                data = stored.read_bytes()
                for marker in MARKERS:
                    assert marker not in data, f"{where}: {marker!r} survived re-encoding"
                with Image.open(stored) as image:
                    assert image.format == "WEBP"
                    assert max(image.size) <= 1600
                    assert not image.getexif(), f"{where}: EXIF kept"
                    assert "xmp" not in image.info and "exif" not in image.info
                    assert getattr(image, "n_frames", 1) == 1
                _check_served(member_client, stored)
            outcomes["re-encoded"] += 1
    record_property("summary", f"hostile uploads via {path_label}: {len(CORPUS)} files, {outcomes}, 0 server errors")
    assert Organisation.objects.count() <= 1


def test_media_never_serves_active_content_inline(member_client):
    """Anything not re-encoded by Townhall (left by an older version, or put there by an
    operator) goes out as an opaque download, never as a page or script."""
    root = Path(settings.MEDIA_ROOT) / "legacy"
    root.mkdir(parents=True)
    for name, data in (("x.svg", SVG_SCRIPT), ("x.html", HTML), ("x.js", b"alert(1)"), ("noext", HTML)):
        (root / name).write_bytes(data)
        response = member_client.get(f"/media/legacy/{name}")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/octet-stream", name
        assert response["Content-Disposition"].startswith("attachment"), name
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
        b"".join(response.streaming_content)
