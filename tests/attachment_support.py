"""Real photos for attachment tests: JPEGs made with Pillow, with a GPS position in their EXIF."""

from __future__ import annotations

import io
import random

from PIL import Image

GPS_IFD = 0x8825


def photo(
    width: int = 640, height: int = 480, *, pad_to: int | None = None, seed: int = 1
) -> bytes:
    """A JPEG of noise (so it does not compress to nothing) with GPS EXIF; `pad_to` makes it
    that many bytes (trailing bytes after the image, which readers ignore)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    exif = Image.Exif()
    exif[0x010F] = "gridlink test camera"  # Make
    exif[GPS_IFD] = {1: "N", 2: (31.0, 13.0, 48.0), 3: "E", 4: (121.0, 28.0, 12.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    data = out.getvalue()
    if pad_to is not None:
        assert pad_to >= len(data), (pad_to, len(data))
        data += bytes(pad_to - len(data))
    return data


def png(width: int = 32, height: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return GPS_IFD in image.getexif()
