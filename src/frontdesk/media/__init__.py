"""Images and voice from customers: sniffed, decoded within limits, cleaned, read and stored.

``sniff`` tells the type from the bytes (never the file name); ``images`` decodes with pixel
limits, takes a GIF's first frame and re-encodes without metadata (EXIF is dropped);
``ocr`` reads the text with Tesseract; ``audio`` decodes a recording within a duration
limit and ``transcribe`` turns it into words with faster-whisper; ``store`` keeps the cleaned
bytes content-addressed per conversation (erased with it); ``service`` ties them together,
and ``message`` turns attachments into the marked text a turn answers.

Nothing heavy is imported here: Pillow, PyAV and faster-whisper load when first used.
"""
