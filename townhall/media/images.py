"""Image intake: every uploaded image is decoded, bounded and re-encoded.

Nothing the uploader sent is stored as-is: metadata (EXIF GPS included) is dropped,
the type comes from decoding not from the name, and decompression bombs are refused
before their pixels are allocated.
"""

from __future__ import annotations

import io
import uuid
import warnings
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from townhall.core.errors import ValidationFailed

ALLOWED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"}


def reencode_image(
    upload: IO[bytes], *, max_side: int, square: bool = False, field: str = "image"
) -> ContentFile[bytes]:
    """Decode `upload`, fit it within `max_side` (cropped square when asked) and
    return it re-encoded as WebP under a random name. Raises ValidationFailed with a
    message for the person on anything that is not a sane image."""

    def fail(message: str) -> ValidationFailed:
        return ValidationFailed(message, fields={field: [message]})

    size = getattr(upload, "size", None)
    max_bytes = settings.TOWNHALL_AVATAR_MAX_BYTES
    if size is not None and size > max_bytes:
        raise fail(f"The image is too large ({max_bytes // (1024 * 1024)} MB at most).")
    max_pixels = settings.TOWNHALL_IMAGE_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(upload)
            if image.format not in ALLOWED_FORMATS:
                raise fail("Upload a JPEG, PNG, GIF or WebP image.")
            width, height = image.size
            if width * height > max_pixels or width < 1 or height < 1:
                raise fail("The image has too many pixels.")
            image.load()
            image = ImageOps.exif_transpose(image) or image
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise fail("The image has too many pixels.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise fail("That file is not an image we can read. Upload a JPEG, PNG, GIF or WebP image.") from exc
    image = image.convert("RGBA" if image.mode in {"RGBA", "LA", "P"} else "RGB")
    if square:
        image = ImageOps.fit(image, (max_side, max_side), method=Image.Resampling.LANCZOS)
    else:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=85, method=4)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.webp")
