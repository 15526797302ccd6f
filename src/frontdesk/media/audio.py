"""Decode a recording (WAV, MP3, OGG, WebM, M4A) to 16 kHz mono, within a duration limit.

PyAV (FFmpeg's libraries, bundled in its wheel) decodes. A duration the container declares
is checked before decoding; recordings that declare none (a browser's MediaRecorder WebM)
are decoded up to the limit and refused past it, so a long recording never costs more than
``max_seconds`` of decoding. Call it in a worker thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from frontdesk.media.errors import DamagedMedia, RecordingTooLong, UnsupportedMedia
from frontdesk.media.sniff import Sniffed

SAMPLE_RATE = 16_000
_EXTENSIONS = {
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/webm": "webm",
    "audio/mp4": "m4a",
}


@dataclass(frozen=True, slots=True)
class Recording:
    data: bytes
    """The recording as uploaded (stored, and sent to a vendor transcriber)."""
    mime: str
    samples: npt.NDArray[np.float32]
    """16 kHz mono, -1..1."""
    seconds: float

    @property
    def extension(self) -> str:
        return _EXTENSIONS.get(self.mime, "bin")


def _too_long(seconds: float, limit: float) -> RecordingTooLong:
    return RecordingTooLong(
        f"the recording is {_duration(seconds)} long; the limit is {_duration(limit)}",
        limit=int(limit),
    )


def _duration(seconds: float) -> str:
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    if whole >= 60:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{seconds:.1f} s"


def decode_recording(data: bytes, sniffed: Sniffed, *, max_seconds: float) -> Recording:
    import av

    try:
        container: Any = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise DamagedMedia("the recording could not be read: the file is damaged") from exc
    with container:
        if not container.streams.audio:
            raise DamagedMedia("the recording has no sound track")
        stream = container.streams.audio[0]
        if stream.codec_context is None:
            raise UnsupportedMedia("the recording's codec is not supported")
        declared = _declared_seconds(container, stream)
        if declared is not None and declared > max_seconds + 0.5:
            raise _too_long(declared, max_seconds)
        limit = int((max_seconds + 0.5) * SAMPLE_RATE)
        chunks: list[npt.NDArray[np.float32]] = []
        total = 0
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                for out in [*resampler.resample(frame)]:
                    chunk = _samples(out)
                    total += chunk.size
                    chunks.append(chunk)
                if total > limit:
                    raise _too_long(total / SAMPLE_RATE, max_seconds)
            for out in [*resampler.resample(None)]:
                chunks.append(_samples(out))
        except av.error.DecoderNotFoundError as exc:
            raise UnsupportedMedia("the recording's codec is not supported") from exc
        except av.FFmpegError as exc:
            raise DamagedMedia("the recording could not be decoded: the file is damaged") from exc
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if samples.size < SAMPLE_RATE // 10:
        raise DamagedMedia("the recording is empty")
    return Recording(bytes(data), sniffed.mime, samples, samples.size / SAMPLE_RATE)


def _samples(frame: Any) -> npt.NDArray[np.float32]:
    pcm = np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)
    scaled: npt.NDArray[np.float32] = pcm * np.float32(1 / 32768)
    return scaled


def _declared_seconds(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000  # av.time_base
    return None
