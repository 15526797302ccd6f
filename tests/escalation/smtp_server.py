"""A tiny SMTP responder on 127.0.0.1 (asyncio) that records what it receives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: str


@dataclass
class SmtpRecorder:
    messages: list[Received] = field(default_factory=list)
    reject_rcpt: bool = False
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        sender, recipients = "", list[str]()
        await say("220 localhost test ESMTP")
        try:
            while line := (await reader.readline()).decode(errors="replace").rstrip("\r\n"):
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    await say("250-localhost\r\n250 8BITMIME")
                elif verb == "MAIL":
                    sender, recipients = line.split(":", 1)[1].strip(" <>"), list[str]()
                    await say("250 OK")
                elif verb == "RCPT":
                    if self.reject_rcpt:
                        await say("550 no such user")
                    else:
                        recipients.append(line.split(":", 1)[1].strip(" <>"))
                        await say("250 OK")
                elif verb == "DATA":
                    await say("354 end with <CRLF>.<CRLF>")
                    chunks: list[str] = []
                    while (part := (await reader.readline()).decode()) not in (".\r\n", ""):
                        chunks.append(part)
                    self.messages.append(Received(sender, recipients, "".join(chunks)))
                    await say("250 queued")
                elif verb == "QUIT":
                    await say("221 bye")
                    break
                else:
                    await say("250 OK")
        finally:
            writer.close()


@asynccontextmanager
async def smtp_server() -> AsyncIterator[SmtpRecorder]:
    recorder = SmtpRecorder()
    server = await asyncio.start_server(recorder.handle, "127.0.0.1", 0)
    recorder.port = server.sockets[0].getsockname()[1]
    try:
        yield recorder
    finally:
        server.close()
        await server.wait_closed()
