"""The upload copy's pixels: 8-bit modes, transparency on white, sRGB, a JPEG without metadata.

An embedded colour profile is converted, not dropped (an iPhone's Display P3 read as sRGB looks
dull); the JPEG carries nothing but pixels.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

from PIL import Image


def normalise(im: Image.Image) -> Image.Image:
    """Any decoded mode -> RGB, RGBA, L or CMYK with 8 bits per channel."""
    mode = im.mode
    if mode.startswith("I"):  # 16-bit grey: scale to 8 bits (a plain convert would clip)
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode in ("RGBA", "LA", "La", "PA", "RGBa") or "transparency" in im.info:
        return im.convert("RGBA")
    if mode in ("RGB", "L", "CMYK"):
        return im
    return im.convert("L" if mode in ("1", "F") else "RGB")


def to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Flatten transparency onto white, then give plain sRGB pixels. An embedded colour profile
    is *converted* to sRGB (not just dropped): the upload carries no profile, and e.g. an iPhone's
    Display P3 pixels read as sRGB look dull. If conversion is impossible the profile is dropped."""
    if im.mode == "RGBA":
        white = Image.new("RGB", im.size, (255, 255, 255))
        white.paste(im, mask=im.getchannel("A"))
        im = white
    if icc and im.mode in ("RGB", "CMYK"):
        transform = _srgb_transform(icc, im.mode)
        if transform is not None:
            from PIL import ImageCms

            converted = ImageCms.applyTransform(im, transform)
            if converted is not None:
                return converted
    return im if im.mode == "RGB" else im.convert("RGB")


@lru_cache(maxsize=8)
def _srgb_transform(icc: bytes, mode: str) -> Any:
    """A cached profile -> sRGB transform; None if the profile is sRGB already or unusable."""
    try:
        from PIL import ImageCms

        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if mode == "RGB" and "srgb" in ImageCms.getProfileDescription(profile).lower():
            return None
        srgb = ImageCms.createProfile("sRGB")
        return ImageCms.buildTransform(profile, srgb, mode, "RGB")
    except Exception:  # no littlecms on this device, or a broken profile: drop it
        return None


def encode_jpeg(im: Image.Image, quality: int) -> bytes:
    im.info = {}  # Pillow copies e.g. a JPEG comment from info into the output; start empty
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)  # optimize=True: 1-3 % smaller, encoding twice as slow
    return out.getvalue()
