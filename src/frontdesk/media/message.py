"""The text a turn answers: the customer's words, their recordings' transcripts, and the
text read from their images, clearly marked as image text.

The marked text is part of the stored user message, so the input guard checks it with the
rest (PII redacted, injected instructions refused), the conversation's memory keeps it for
follow-ups, and agents see it in the transcript.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from frontdesk.errors import PayloadTooLarge, ValidationFailed
from frontdesk.media.store import Attachment

IMAGE_OPEN = "[Text read from the customer's image]"
IMAGE_CLOSE = "[End of image text]"
NO_TEXT = "[The customer's image has no readable text]"
IMAGE_BLOCK = re.compile(
    re.escape(IMAGE_OPEN) + r"\n(.*?)\n" + re.escape(IMAGE_CLOSE) + "|" + re.escape(NO_TEXT),
    re.DOTALL,
)


def message_text(typed: str, attachments: Sequence[Attachment], *, max_chars: int) -> str:
    """The message to store and answer; image text is cut to fit ``max_chars``."""
    words = [typed.strip()] if typed.strip() else []
    words += [a.text for a in attachments if a.kind == "audio" and a.text]
    spoken = "\n\n".join(words)
    images = [a for a in attachments if a.kind == "image"]
    if not images:
        if not spoken:
            raise ValidationFailed("message content must not be empty")
        return spoken
    if not spoken and not any(a.text for a in images):
        raise ValidationFailed(
            "no text could be read in the image: please describe the problem in words"
        )
    overhead = len(IMAGE_OPEN) + len(IMAGE_CLOSE) + 4
    budget = max_chars - len(spoken) - 2 - overhead * len(images)
    if budget < 50 * len(images):
        raise PayloadTooLarge(
            f"the message and its attachments exceed {max_chars} characters", limit=max_chars
        )
    share = budget // len(images)
    blocks = [_block(a.text, share) for a in images]
    return "\n\n".join([*([spoken] if spoken else []), *blocks])


def _block(text: str, limit: int) -> str:
    if not text:
        return NO_TEXT
    if len(text) > limit:
        text = text[: limit - 2].rsplit(" ", 1)[0] + " …"
    return f"{IMAGE_OPEN}\n{text}\n{IMAGE_CLOSE}"


def typed_part(content: str) -> str:
    """A stored message without its image-text blocks (what the customer typed or said)."""
    return IMAGE_BLOCK.sub("", content).strip()


def unmarked(content: str) -> str:
    """The message with our image-text markers taken out and the text read kept: what the
    customer sent, for checks that must not mistake our labels for their words."""
    return IMAGE_BLOCK.sub(lambda m: m.group(1) or "", content)


def has_image_text(content: str) -> bool:
    return IMAGE_OPEN in content or NO_TEXT in content
