"""Recordings: decoded from every format browsers and phones send, within the limits, and
transcribed by faster-whisper with the packaged model."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.media.audio import decode_recording
from frontdesk.media.errors import DamagedMedia, RecordingTooLong, UnsupportedMedia
from frontdesk.media.sniff import sniff
from frontdesk.media.transcribe import LocalWhisper
from tests.media.samples import silent_wav, spoken_wav, transcode

QUESTION = "How do I reset my password?"


@pytest.fixture(scope="module")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return spoken_wav(QUESTION, tmp_path_factory.mktemp("speech"))


@pytest.mark.parametrize(
    ("container", "codec", "mime"),
    [
        ("ogg", "libopus", "audio/ogg"),
        ("webm", "libopus", "audio/webm"),
        ("mp3", "libmp3lame", "audio/mpeg"),
        ("ipod", "aac", "audio/mp4"),
    ],
)
def test_browser_and_phone_formats_decode(
    question_wav: bytes, container: str, codec: str, mime: str
) -> None:
    data = transcode(question_wav, container, codec)
    assert sniff(data).mime == mime
    recording = decode_recording(data, sniff(data), max_seconds=60)
    assert 1.5 < recording.seconds < 3.5
    assert recording.samples.dtype.name == "float32"


def test_two_hour_recording_is_refused_without_decoding_it() -> None:
    data = silent_wav(2 * 3600)
    with pytest.raises(RecordingTooLong, match=r"2 h 00 min.*3 min 00 s") as info:
        decode_recording(data, sniff(data), max_seconds=180)
    assert info.value.http_status == 413


def test_a_recording_over_the_limit_without_a_declared_length_is_cut_off(
    question_wav: bytes,
) -> None:
    data = transcode(question_wav, "webm", "libopus")  # MediaRecorder's WebM has no duration
    with pytest.raises(RecordingTooLong):
        decode_recording(data, sniff(data), max_seconds=1.0)


def test_unknown_codec_is_unsupported_and_garbage_is_damaged() -> None:
    data = silent_wav(2, rate=8000, codec=0x9999)
    with pytest.raises(UnsupportedMedia) as info:
        decode_recording(data, sniff(data), max_seconds=60)
    assert info.value.http_status == 415
    junk = b"OggS" + b"\x00" * 200
    with pytest.raises(DamagedMedia):
        decode_recording(junk, sniff(junk), max_seconds=60)


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> LocalWhisper:
    return LocalWhisper(tmp_path_factory.mktemp("models"))


async def test_whisper_transcribes_espeak_speech(
    whisper: LocalWhisper, question_wav: bytes, tmp_path: Path
) -> None:
    loaded_before = whisper.loaded
    assert not loaded_before  # lazy: nothing loads until the first recording
    recording = decode_recording(question_wav, sniff(question_wav), max_seconds=60)
    transcript = await whisper.transcribe(recording)
    assert transcript.text.lower().strip(" ?.") == "how do i reset my password"
    assert transcript.language == "en"
    assert whisper.loaded
    webm = transcode(question_wav, "webm", "libopus")
    again = await whisper.transcribe(decode_recording(webm, sniff(webm), max_seconds=60))
    assert "reset my password" in again.text.lower()


def test_a_tampered_model_is_refused(tmp_path: Path) -> None:
    from frontdesk.media import whisper_model
    from frontdesk.media.errors import MediaUnavailable

    folder = whisper_model.model_dir(tmp_path)
    assert whisper_model.sha256_of(folder / "model.bin") == whisper_model.MODEL_SHA256
    with (folder / "model.bin").open("r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02\x03")
    rebuilt = whisper_model.model_dir(tmp_path)  # the damaged copy is rebuilt, not used
    assert whisper_model.sha256_of(rebuilt / "model.bin") == whisper_model.MODEL_SHA256
    (rebuilt / "tokenizer.json").write_text("{}")
    assert whisper_model.model_dir(tmp_path) == rebuilt
    assert (rebuilt / "tokenizer.json").read_text() != "{}"
    assert MediaUnavailable.http_status == 503
