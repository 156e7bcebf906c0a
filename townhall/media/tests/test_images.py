"""Image intake: what comes out is always a bounded WebP, whatever came in."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from townhall.core.errors import ValidationFailed
from townhall.media.images import reencode_image


def jpeg_with_exif(size: tuple[int, int] = (640, 480), orientation: int = 1) -> bytes:
    """A real camera-like JPEG: EXIF with a GPS block and an orientation tag."""
    image = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "CanonTestMaker"  # Make
    exif[0x8825] = {1: "N", 2: (60.0, 10.0, 0.0), 3: "E", 4: (24.0, 56.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (32, 32), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG")
    return out.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose IHDR (CRC fixed up) claims width x height pixels:
    a decompression bomb's header without the bomb."""
    data = bytearray(png_bytes((8, 8)))
    # Signature (8) + length (4) + b"IHDR" (4), then width and height.
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def upload(content: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def decoded(result: object) -> Image.Image:
    image = Image.open(io.BytesIO(result.read()))  # type: ignore[attr-defined]
    image.load()
    return image


def test_reencode_image_jpeg_with_exif_becomes_square_webp_without_metadata() -> None:
    raw = jpeg_with_exif()
    assert Image.open(io.BytesIO(raw)).getexif()[0x010F] == "CanonTestMaker"

    result = reencode_image(upload(raw), max_side=256, square=True, field="avatar")

    image = decoded(result)
    assert image.format == "WEBP"
    assert image.size == (256, 256)
    assert not image.getexif()
    assert result.name.endswith(".webp")
    assert "photo" not in result.name


def test_reencode_image_applies_exif_orientation() -> None:
    # Orientation 6: the camera was turned; a landscape sensor image is portrait.
    result = reencode_image(upload(jpeg_with_exif((400, 200), orientation=6)), max_side=100)

    assert decoded(result).size == (50, 100)


def test_reencode_image_keeps_transparency_of_png() -> None:
    result = reencode_image(upload(png_bytes((40, 20), mode="RGBA"), "a.png", "image/png"), max_side=256)

    image = decoded(result)
    assert image.mode == "RGBA"
    assert image.size == (40, 20)  # never upscaled


def test_reencode_image_rejects_text_named_png() -> None:
    fake = upload(b"<html><script>alert(1)</script></html>" * 10, "photo.png", "image/png")

    with pytest.raises(ValidationFailed) as caught:
        reencode_image(fake, max_side=256, field="avatar")

    assert "not an image" in caught.value.message
    assert caught.value.fields == {"avatar": [caught.value.message]}


def test_reencode_image_rejects_oversized_file_before_decoding(settings) -> None:  # type: ignore[no-untyped-def]
    big = upload(b"\xff\xd8\xff" + b"\0" * settings.TOWNHALL_AVATAR_MAX_BYTES)

    with pytest.raises(ValidationFailed) as caught:
        reencode_image(big, max_side=256, field="avatar")

    assert "too large" in caught.value.message


def test_reencode_image_rejects_pixel_flood_header() -> None:
    bomb = upload(png_claiming_size(100_000, 100_000), "bomb.png", "image/png")

    with pytest.raises(ValidationFailed) as caught:
        reencode_image(bomb, max_side=256, field="avatar")

    assert "too many pixels" in caught.value.message


def test_reencode_image_rejects_image_over_the_configured_pixel_limit(settings) -> None:  # type: ignore[no-untyped-def]
    # Below Pillow's own bomb threshold, above ours: our limit must still apply.
    settings.TOWNHALL_IMAGE_MAX_PIXELS = 1_000_000
    big = upload(png_claiming_size(2_000, 1_000), "wide.png", "image/png")

    with pytest.raises(ValidationFailed) as caught:
        reencode_image(big, max_side=256)

    assert "too many pixels" in caught.value.message


def test_reencode_image_rejects_truncated_image() -> None:
    whole = jpeg_with_exif()

    with pytest.raises(ValidationFailed) as caught:
        reencode_image(upload(whole[: len(whole) // 2]), max_side=256)

    assert "not an image we can read" in caught.value.message


def test_reencode_image_rejects_format_outside_the_allowlist() -> None:
    out = io.BytesIO()
    Image.new("RGB", (16, 16)).save(out, format="ICO")

    with pytest.raises(ValidationFailed) as caught:
        reencode_image(upload(out.getvalue(), "x.ico", "image/x-icon"), max_side=256)

    assert "JPEG, PNG, GIF or WebP" in caught.value.message
