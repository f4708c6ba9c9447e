"""Staff photos: whatever was uploaded is decoded and drawn again, so that nothing but pixels is
ever served.

``reencode`` takes the uploaded bytes and returns a square PNG of at most ``PHOTO_SIDE`` pixels
a side, built from the decoded pixels alone (no metadata, no colour profile, no text chunks, no
second frame). The format is told by the content (Pillow's signatures), never by a name or a
declared type, and only PNG, JPEG, WebP and GIF decoders are tried. An image that claims more
than ``MAX_SOURCE_PIXELS`` is refused from its header, before any pixel is decoded (Pillow's
``MAX_IMAGE_PIXELS`` is set to the same limit, a second guard), so a small file that would
expand into gigabytes (a decompression bomb) costs nothing. Anything that does not decode is a
``BadImage`` (422). CPU-bound: the service runs it in a worker thread.

``reencode_logo`` does the same for a workgroup's logo (the widget's header), keeping its shape
within ``LOGO_BOX``.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from parley.domain.errors import BadImage

#: The largest upload (the body limit of ``PUT /api/v1/me/photo`` is the ``max_photo_bytes``
#: setting, this by default).
MAX_PHOTO_BYTES = 2 * 1024 * 1024
#: The most pixels an uploaded image may have (4096 x 4096): decoded as RGBA, 64 MiB.
MAX_SOURCE_PIXELS = 4096 * 4096
#: The side of the square served (smaller sources are not enlarged).
PHOTO_SIDE = 256
#: A workgroup's logo fits in this box (width, height), its shape kept.
LOGO_BOX = (480, 160)
MEDIA_TYPE = "image/png"
FORMATS = ("PNG", "JPEG", "WEBP", "GIF")

# Pillow's own bomb guard: a warning above this, an error above twice this.
Image.MAX_IMAGE_PIXELS = MAX_SOURCE_PIXELS


@dataclass(frozen=True, slots=True)
class Photo:
    media_type: str
    data: bytes
    #: A hash of ``data`` (the ETag and the version in the photo URL).
    etag: str


def _decode(data: bytes, what: str, draft_side: int) -> Image.Image:
    """The upload's pixels as RGBA, upright, reduced (a fast box filter) to no less than about
    ``draft_side`` pixels on its shorter side; ``BadImage`` for anything else."""
    if not data:
        raise BadImage(f"the {what} is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width < 1 or height < 1 or width * height > MAX_SOURCE_PIXELS:
                    raise BadImage(
                        f"the {what} has {width} x {height} pixels; "
                        f"at most {MAX_SOURCE_PIXELS} are accepted"
                    )
                if image.format == "JPEG":
                    # Decode at a reduced scale where the codec can: fewer pixels, less memory.
                    image.draft("RGB", (draft_side, draft_side))
                image.load()
                upright = ImageOps.exif_transpose(image)
                if upright.mode not in ("RGB", "RGBA", "L", "LA"):
                    upright = upright.convert("RGBA")
                # A fast box reduction first: a 4096-pixel side is resampled from 512, not
                # whole (a second instead of a few tens of milliseconds).
                factor = min(upright.width, upright.height) // draft_side
                if factor > 1:
                    upright = upright.reduce(factor)
                return upright.convert("RGBA")
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(f"the {what} has more than {MAX_SOURCE_PIXELS} pixels") from None
    except Exception:  # any decoder failure is a bad upload, never a 500
        raise BadImage(
            f"the {what} is not a PNG, JPEG, WebP or GIF image that can be read"
        ) from None


def _png(image: Image.Image) -> Photo:
    # A new image from the raw pixels: nothing of the upload's info (EXIF, ICC, text) follows.
    clean = Image.frombytes("RGBA", image.size, image.tobytes())
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    encoded = out.getvalue()
    return Photo(MEDIA_TYPE, encoded, hashlib.sha256(encoded).hexdigest()[:32])


def reencode(data: bytes) -> Photo:
    rgba = _decode(data, "photo", PHOTO_SIDE * 2)
    side = min(PHOTO_SIDE, rgba.width, rgba.height)
    return _png(ImageOps.fit(rgba, (side, side), Image.Resampling.LANCZOS))


def reencode_logo(data: bytes) -> Photo:
    """A workgroup's logo: like a photo, but its shape kept, scaled down (never up) to fit
    ``LOGO_BOX`` pixels."""
    rgba = _decode(data, "logo", LOGO_BOX[1])
    scale = min(1.0, LOGO_BOX[0] / rgba.width, LOGO_BOX[1] / rgba.height)
    size = (max(1, round(rgba.width * scale)), max(1, round(rgba.height * scale)))
    if size != rgba.size:
        rgba = rgba.resize(size, Image.Resampling.LANCZOS)
    return _png(rgba)


#: A chat attachment's thumbnail fits in this box, its shape kept.
THUMBNAIL_BOX = (320, 320)
#: What each image type is served as once re-encoded: JPEG stays JPEG, the rest become PNG
#: (a GIF's first frame, a WebP's pixels).
ATTACHMENT_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}


@dataclass(frozen=True, slots=True)
class ReencodedImage:
    #: The whole image, drawn again from its pixels (``image/png`` or ``image/jpeg``).
    image: Photo
    thumbnail: Photo
    width: int
    height: int


def _encoded(image: Image.Image, jpeg: bool) -> Photo:
    """A new image from the raw pixels (nothing of the upload's info follows): JPEG, or PNG
    (RGB when nothing is transparent). Zlib level 3, not ``optimize``: on a noisy 1920 x 1080
    PNG level 6 takes about 3 s of CPU here, level 3 about 1 s; a screenshot of text grows by
    a fifth (154 KB against 129 KB)."""
    clean = Image.frombytes("RGBA", image.size, image.tobytes())
    alpha = clean.getchannel("A").getextrema()
    if jpeg or alpha[0] == 255:
        clean = clean.convert("RGB")
    out = io.BytesIO()
    if jpeg:
        clean.save(out, format="JPEG", quality=88)
    else:
        clean.save(out, format="PNG", compress_level=3)
    encoded = out.getvalue()
    media_type = "image/jpeg" if jpeg else MEDIA_TYPE
    return Photo(media_type, encoded, hashlib.sha256(encoded).hexdigest()[:32])


def reencode_attachment(data: bytes, media_type: str) -> ReencodedImage:
    """A chat attachment of ``media_type`` (one of ``ATTACHMENT_FORMATS``, already checked
    against the bytes' signature): decoded by that format's decoder alone (a file that is
    something else fails), its pixels drawn again whole, and a thumbnail within
    ``THUMBNAIL_BOX``. The same guards as a photo: at most ``MAX_SOURCE_PIXELS`` (a bomb is
    refused from its header), ``BadImage`` for whatever does not decode."""
    fmt = ATTACHMENT_FORMATS.get(media_type)
    if fmt is None:
        raise BadImage(f"{media_type} is not an image type Parley re-encodes")
    if not _opens_as(data, fmt):
        raise BadImage(f"the image is not a {fmt} image that can be read")
    rgba = _decode(data, "image", 1 << 30)
    jpeg = fmt == "JPEG"
    whole = _encoded(rgba, jpeg)
    thumb = rgba.copy()
    thumb.thumbnail(THUMBNAIL_BOX, Image.Resampling.LANCZOS)
    return ReencodedImage(whole, _encoded(thumb, jpeg), rgba.width, rgba.height)


def _opens_as(data: bytes, fmt: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=(fmt,)) as image:
                return image.format == fmt
    except Image.DecompressionBombError:
        raise BadImage(f"the image has more than {MAX_SOURCE_PIXELS} pixels") from None
    except Exception:
        return False
