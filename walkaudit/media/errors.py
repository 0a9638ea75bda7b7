"""The photo pipeline's errors: one PhotoError whose message names the file and says what to do.

ValueError
└── PhotoError                 cannot read the file at all (e.g. it has disappeared)
    ├── NotAnImageError        empty, or not a JPEG/PNG/WebP/HEIC picture (a text file, …)
    ├── BrokenPhotoError       a picture, but damaged: truncated, corrupt picture data
    ├── PhotoTooLargeError     over max_input_bytes, or too many pixels (decompression bomb)
    └── FormatUnsupportedError a WebP photo where Pillow has no WebP (a phone's Pillow)
        └── HeifUnsupportedError   a HEIC/HEIF photo, but pillow-heif is not available here
"""

from __future__ import annotations


class PhotoError(ValueError):
    """A photo cannot be used; the message names the file and says what to do."""


class NotAnImageError(PhotoError):
    """Empty, or not a JPEG, PNG, WebP or HEIC picture."""


class BrokenPhotoError(PhotoError):
    """A picture, but damaged (truncated or corrupt data)."""


class PhotoTooLargeError(PhotoError):
    """Too many bytes, or too many pixels (a decompression bomb)."""


class FormatUnsupportedError(PhotoError):
    """A picture in a format this device's Pillow cannot read (WebP, HEIC on a phone)."""


class HeifUnsupportedError(FormatUnsupportedError):
    """A HEIC/HEIF photo on a device where pillow-heif is not available."""
