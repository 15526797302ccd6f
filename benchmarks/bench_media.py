"""Media measurements on this machine: OCR latency and accuracy on drawn screenshots,
speech-to-text latency, real-time factor and word error rate on espeak-ng speech.

    nice -n 10 .venv/bin/python benchmarks/bench_media.py [--runs 3] [--beams 5 1]

Needs Debian's tesseract-ocr, tesseract-ocr-eng and espeak-ng (``make media-deps``). The
whisper-base model is joined into a temporary folder, so the first load is a cold start.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from frontdesk.media.audio import decode_recording
from frontdesk.media.images import clean_image
from frontdesk.media.ocr import TesseractReader
from frontdesk.media.sniff import sniff
from frontdesk.media.transcribe import LocalWhisper

DIALOG = [
    "Pipeline run failed",
    "Error NW-408: Connection timed out.",
    "Could not reach the database orders-db within 30 seconds.",
]
PAGE = [
    "Northwind Data - Pipelines",
    "Run run_8f2c1a failed at step 3 of 5 (load to warehouse)",
    "Error NW-507: Destination is full or read-only.",
    "The warehouse rejected the write: permission denied for schema analytics.",
    "Retry now     View logs     Contact support",
    "Last successful run: 2 hours ago. Next retry in 10 minutes.",
]
SPEECH = {
    "question (2 s)": "How do I reset my password?",
    "request (9 s)": (
        "Hi, our nightly pipeline from Salesforce failed again with a rate limit error. "
        "Can you tell me how to reduce the schedule frequency?"
    ),
    "story (25 s)": (
        "Good morning. Since yesterday every run of our orders pipeline stops at the load "
        "step. The run page says the destination is full or read only. We checked the "
        "warehouse and there is plenty of storage left, and nobody changed the privileges of "
        "the Northwind Data user as far as I know. Could you please look at the logs for the "
        "last two days and tell me what is going on?"
    ),
}


def draw(lines: list[str], size: tuple[int, int], font_px: int) -> bytes:
    img = Image.new("RGB", size, (245, 246, 250))
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=font_px)
    d.rectangle((0, 0, size[0], font_px * 2 + 8), fill=(52, 73, 94))
    y = 8
    for n, line in enumerate(lines):
        d.text((16, y), line, fill=(255, 255, 255) if n == 0 else (25, 25, 25), font=font)
        y += int(font_px * (2.6 if n == 0 else 1.8))
    import io

    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def ocr_case(name: str, data: bytes, expected: list[str], runs: int) -> str:
    reader = TesseractReader()
    decode_ms, ocr_s, found = [], [], 0
    for _ in range(runs):
        t = time.perf_counter()
        image = clean_image(data, sniff(data), max_pixels=24_000_000)
        decode_ms.append((time.perf_counter() - t) * 1000)
        read = asyncio.run(reader.read(image.pixels))
        ocr_s.append(read.seconds)
        found = sum(" ".join(line.split()) in read.text for line in expected)
    w, h = image.width, image.height
    return (
        f"| {name} | {w}×{h} | {statistics.median(decode_ms):.0f} | "
        f"{statistics.median(ocr_s):.2f} | {max(ocr_s):.2f} | {found}/{len(expected)} |"
    )


def speak(text: str, folder: Path, name: str) -> bytes:
    target = folder / f"{name}.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(target), text],
        check=True,
        capture_output=True,
    )
    return target.read_bytes()


def words(text: str) -> list[str]:
    return [w.strip(".,?!;:'\"").lower() for w in text.split() if w.strip(".,?!;:'\"")]


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
            prev, row[j] = row[j], cur
    return row[-1] / max(1, len(ref))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--beams", type=int, nargs="+", default=[5, 1])
    args = parser.parse_args()

    print("## OCR (Tesseract 5, eng, one thread, 2x upscale below 1.5 MP)\n")
    print("| image | size | decode+clean ms | OCR s p50 | OCR s max | lines read exactly |")
    print("|---|---|---|---|---|---|")
    print(ocr_case("error dialog", draw(DIALOG, (640, 220), 16), DIALOG, args.runs))
    print(ocr_case("app page 1080p", draw(PAGE, (1920, 1080), 22), PAGE, args.runs))
    print(ocr_case("app page 720p", draw(PAGE, (1280, 720), 15), PAGE, args.runs))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clips = {
            name: decode_recording(
                data := speak(text, folder, f"clip{n}"), sniff(data), max_seconds=600
            )
            for n, (name, text) in enumerate(SPEECH.items())
        }
        print("\n## Speech to text (faster-whisper 1.2.1, whisper-base int8, 2 threads)\n")
        cold = LocalWhisper(folder / "models")
        t = time.perf_counter()
        cold.load()
        cold_s = time.perf_counter() - t
        warm = LocalWhisper(folder / "models")
        t = time.perf_counter()
        warm.load()
        warm_s = time.perf_counter() - t
        print(
            f"Model load: {cold_s:.1f} s cold (join the two parts, sha256, load), "
            f"{warm_s:.1f} s warm (sha256 check of the joined file, load).\n"
        )
        print("| clip | audio s | beam | transcribe s p50 | real-time factor | WER |")
        print("|---|---|---|---|---|---|")
        for beam in args.beams:
            warm.beam_size = beam
            for name, recording in clips.items():
                elapsed, text = [], ""
                for _ in range(args.runs):
                    result = warm.transcribe_sync(recording)
                    elapsed.append(result.seconds)
                    text = result.text
                p50 = statistics.median(elapsed)
                print(
                    f"| {name} | {recording.seconds:.1f} | {beam} | {p50:.2f} | "
                    f"{p50 / recording.seconds:.2f} | {wer(SPEECH[name], text):.2f} |"
                )


if __name__ == "__main__":
    main()
