"""Why an attachment is refused: part of the one hierarchy in :mod:`frontdesk.errors`."""

from __future__ import annotations

from frontdesk.errors import ClientError, FrontdeskError, PayloadTooLarge, ValidationFailed


class UnsupportedMedia(ClientError):
    """Not a kind of file we read (sniffed from the bytes), or a codec we cannot decode."""

    code = "unsupported_media_type"
    http_status = 415


class DamagedMedia(ValidationFailed):
    """The bytes claim a known format but do not decode: corrupt, truncated or crafted."""

    code = "unreadable_media"


class ImageTooLarge(PayloadTooLarge):
    """More pixels than allowed (a decompression bomb decodes to gigabytes)."""

    code = "image_too_large"


class RecordingTooLong(PayloadTooLarge):
    """A recording longer than the configured limit (``limit`` is in seconds)."""

    code = "recording_too_long"


class MediaUnavailable(FrontdeskError):
    """The engine that reads this kind of attachment is not installed or failed to load."""

    code = "media_unavailable"
    http_status = 503
