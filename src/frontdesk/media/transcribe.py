"""Speech to text: faster-whisper with the packaged model, or a vendor's transcription API.

The local model loads on first use, once per process (the instance lives in the app's
services, not in module state), and transcribes one recording at a time: the machine's
cores are shared with the chat.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from frontdesk.media.errors import MediaUnavailable
from frontdesk.media.whisper_model import model_dir

if TYPE_CHECKING:
    from frontdesk.media.audio import Recording  # numpy: on the first recording


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str | None
    seconds: float
    """Time spent transcribing (the recording's own length is on the Recording)."""


class Transcriber(Protocol):
    async def transcribe(self, recording: Recording) -> Transcript: ...


@dataclass
class LocalWhisper:
    """faster-whisper (CTranslate2, int8 on the CPU) with the packaged whisper-base model."""

    cache_dir: Path
    language: str | None = "en"
    threads: int = 2
    beam_size: int = 5
    _model: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> Any:
        """The model, joined, checked and loaded on first call (thread-safe)."""
        with self._lock:
            if self._model is None:
                try:
                    from faster_whisper import WhisperModel
                except ImportError as exc:  # pragma: no cover - a broken install
                    raise MediaUnavailable("voice messages need faster-whisper") from exc
                folder = model_dir(self.cache_dir)
                self._model = WhisperModel(
                    str(folder),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=self.threads,
                    local_files_only=True,
                )
            return self._model

    def transcribe_sync(self, recording: Recording) -> Transcript:
        model = self.load()
        started = time.perf_counter()
        with self._lock:  # one at a time: each already uses every thread it is given
            segments, info = model.transcribe(
                recording.samples,
                language=self.language,
                beam_size=self.beam_size,
                condition_on_previous_text=False,
                without_timestamps=True,
                vad_filter=False,
            )
            text = " ".join(s.text.strip() for s in segments).strip()
        return Transcript(text, getattr(info, "language", None), time.perf_counter() - started)

    async def transcribe(self, recording: Recording) -> Transcript:
        import asyncio

        return await asyncio.to_thread(self.transcribe_sync, recording)


@dataclass
class VendorTranscriber:
    """An OpenAI-compatible ``POST {base_url}/audio/transcriptions`` (multipart, JSON reply)."""

    base_url: str
    api_key: str
    model: str = "whisper-1"
    timeout_seconds: float = 60.0
    transport: httpx.AsyncBaseTransport | None = None

    async def transcribe(self, recording: Recording) -> Transcript:
        started = time.perf_counter()
        url = self.base_url.rstrip("/") + "/audio/transcriptions"
        files = {"file": (f"recording.{recording.extension}", recording.data, recording.mime)}
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout_seconds, transport=self.transport, follow_redirects=False
            ) as client:
                resp = await client.post(
                    url,
                    headers={"Authorization": f"Bearer {self.api_key}"},
                    data={"model": self.model, "response_format": "json"},
                    files=files,
                )
        except httpx.HTTPError as exc:
            failure = type(exc).__name__
            raise MediaUnavailable(f"the transcription service failed: {failure}") from exc
        if resp.status_code != 200:
            raise MediaUnavailable(f"the transcription service answered HTTP {resp.status_code}")
        try:
            text = str(resp.json()["text"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise MediaUnavailable("the transcription service sent an unreadable answer") from exc
        return Transcript(text, None, time.perf_counter() - started)
