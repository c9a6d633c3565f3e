"""Checking and processing uploaded photos with Pillow.

Uploads are untrusted: the bytes must decode as JPEG, PNG or WebP whatever the file is called,
stay under a byte and a pixel budget (a tiny file can declare a gigantic canvas), and lose their
EXIF block (phone photos carry the GPS position of the farm). What is kept is a set of WebP
variants sized for phones.

Decoding is bounded before it starts: a JPEG is decoded at the smallest scale (1/2 to 1/8,
``Image.draft``) that still covers the largest variant; PNG and WebP, which cannot be, have a
lower pixel limit; and each client has a budget of decoded pixels per second
(farmgate/ops/ratelimit.py), so a stream of legitimate-sized images cannot pin the CPU.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, UnidentifiedImageError

from farmgate.config import settings
from farmgate.errors import FarmgateError, ValidationFailed
from farmgate.ops import ratelimit

# MPO is how Pillow names a JPEG carrying extra frames (many phones add a depth or preview
# image); it is still a JPEG, and only its first frame is kept.
ALLOWED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}
WEBP_QUALITY = 80
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class ProcessedImage:
    width: int
    height: int
    variants: dict[int, bytes]  # target width -> WebP bytes (no metadata)


def _reject(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={"file": message})


def process_upload(data: bytes, widths: tuple[int, ...] | None = None) -> ProcessedImage:
    """Validate an uploaded photo and render its WebP variants; raise ValidationFailed."""
    widths = widths or settings.image_widths
    # Pillow's own bomb guard, set from our budget (process-wide; the value never changes).
    Image.MAX_IMAGE_PIXELS = settings.max_image_pixels
    if len(data) > settings.max_upload_bytes:
        limit_mb = settings.max_upload_bytes / 1024 / 1024
        raise _reject(f"图片不能超过 {limit_mb:.0f} MB", "file_too_large")
    if not data:
        raise _reject("上传的文件是空的", "empty_file")

    # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make every excess an error.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                size = probe.size
                if fmt not in ALLOWED_FORMATS:
                    raise _reject("只支持 JPEG、PNG 或 WebP 格式的图片", "unsupported_image")
                if size[0] * size[1] > settings.max_image_pixels:
                    raise _reject("图片尺寸过大", "image_too_large")
                probe.verify()  # structural check (truncated or corrupt files)
                if fmt not in ("JPEG", "MPO") and size[0] * size[1] > settings.max_lossless_pixels:
                    raise _reject("PNG、WebP 图片尺寸过大，请上传 JPEG 照片", "image_too_large")
            with Image.open(io.BytesIO(data)) as img:
                if img.format in ("JPEG", "MPO"):
                    # Decode at 1/2..1/8 scale when the largest variant still fits: a
                    # 48 Mpx photo then costs 3 Mpx of memory and time. (Either side may
                    # end up the width once the EXIF rotation is applied.)
                    largest = max(widths)
                    img.draft("RGB", (largest, largest))
                wait = ratelimit.spend_decoded_pixels(img.size[0] * img.size[1])
                if wait is not None:
                    raise FarmgateError(
                        f"图片处理太频繁，请 {wait} 秒后再试", code="rate_limited", status=429
                    )
                img.load()
                return _render(_upright(img), widths)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _reject("图片尺寸过大", "image_too_large") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise _reject("文件不是有效的图片", "not_an_image") from None


def _upright(img: Image.Image) -> Image.Image:
    """Honour the phone's EXIF rotation. The EXIF block itself is dropped, never re-encoded
    (ImageOps.exif_transpose would re-encode it, and raises on the malformed ones phones and
    editing apps produce)."""
    method = _ORIENTATION.get(img.getexif().get(ExifTags.Base.Orientation, 1))
    return img if method is None else img.transpose(method)


def _render(img: Image.Image, widths: tuple[int, ...]) -> ProcessedImage:
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
    width, height = img.size
    variants: dict[int, bytes] = {}
    for target in sorted(set(widths)):
        # Never upscale: the first size at or past the original keeps the original width,
        # and larger sizes are not made.
        w = min(target, width)
        h = max(1, round(height * w / width))
        resized = img if w == width else img.resize((w, h), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        # No exif=/icc_profile= arguments: the WebP carries pixels only.
        resized.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
        variants[target] = out.getvalue()
        if w == width:
            break
    return ProcessedImage(width=width, height=height, variants=variants)
