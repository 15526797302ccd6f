"""A loopback stand-in for Frontdesk's native chat API, for the browser tests.

It speaks the same wire format as ``/api`` (JSON errors as ``{"error": {...}}``,
server-sent events ``start``/``delta``/``citations``/``notice``/``retracted``/
``escalated``/``done``/``error`` and ``: ping`` heartbeats) and decides what to
answer from keywords in the user's message, so one test can exercise a
behaviour the real pipeline only shows under particular conditions.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from frontdesk.web import CONTENT_SECURITY_POLICY, index_html, static_dir

GREETING = "Hi! I'm **Ada**, the Acme support assistant. How can I help?"

ANSWER = (
    "To reset your password:\n\n"
    "1. Open **Settings** → *Security*.\n"
    "2. Click `Reset password` and follow the email link [1].\n\n"
    "```bash\nacme auth reset --email you@example.com\n```\n\n"
    "More in the [help centre](https://help.example.com/reset)."
)
CITATIONS = [
    {
        "index": 1,
        "title": "Resetting your password",
        "section": "Account security",
        "snippet": "Open Settings, choose Security and click Reset password.",
        "url": "https://help.example.com/reset",
    }
]
XSS_ANSWER = (
    "Careful: <script>window.__pwned = 'script'</script> and "
    "<img src=x onerror=\"window.__pwned = 'img'\"> and "
    "[click me](javascript:window.__pwned='link') and "
    '![pic](https://tracker.example.com/p.png "t") end.'
)
RETRACTED_SECRET = "The admin password is hunter2."
REPLACEMENT = "Sorry, I can't share that. Please contact security@example.com."


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _frame(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def _words(text: str) -> list[str]:
    out: list[str] = []
    for part in text.split(" "):
        out.append(part if not out else " " + part)
    return out


@dataclass
class FakeChat:
    """In-memory conversations plus a record of what the browser sent."""

    max_chars: int = 200
    token_delay: float = 0.0
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    sends: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    # when set, the default answer pauses after its first words until the test opens it
    gate: threading.Event | None = None
    # events pushed by the test to every open /events stream: (name, data)
    live: queue.Queue[tuple[str, dict[str, Any]]] = field(default_factory=queue.Queue)
    live_connections: int = 0

    def messages(self, cid: str) -> list[dict[str, Any]]:
        msgs: list[dict[str, Any]] = self.conversations[cid]["messages"]
        return msgs

    def add(self, cid: str, role: str, content: str, status: str, **extra: Any) -> dict[str, Any]:
        message = {
            "id": uuid.uuid4().hex,
            "role": role,
            "content": content,
            "status": status,
            "created_at": _now(),
            "error": None,
            "citations": [],
            "seq": len(self.messages(cid)) + 1,
            **extra,
        }
        self.messages(cid).append(message)
        return message


def build_app(chat: FakeChat, *, csp: bool = False) -> Starlette:
    """The fake API plus the real static files and page."""

    async def page(request: Request) -> Response:
        headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY} if csp else {}
        return HTMLResponse(index_html(bot_name="Ada from Acme"), headers=headers)

    async def blank(request: Request) -> Response:
        return HTMLResponse("<!doctype html><html><head><title>modules</title></head></html>")

    async def create(request: Request) -> Response:
        cid = uuid.uuid4().hex
        chat.conversations[cid] = {
            "id": cid,
            "status": "bot",
            "created_at": _now(),
            "greeting": GREETING,
            "messages": [],
        }
        public = {k: v for k, v in chat.conversations[cid].items() if k != "messages"}
        return JSONResponse(public, status_code=201)

    async def show(request: Request) -> Response:
        conv = chat.conversations.get(request.path_params["cid"])
        if conv is None:
            return _error(404, "not_found", "Unknown conversation")
        return JSONResponse(conv)

    async def rate(request: Request) -> Response:
        chat.feedback.append({"message_id": request.path_params["mid"], **await request.json()})
        return _error(404, "not_found", "Feedback is not available yet")

    async def send(request: Request) -> Response:
        cid = request.path_params["cid"]
        if cid not in chat.conversations:
            return _error(404, "not_found", "Unknown conversation")
        body = await request.json()
        content = body.get("content", "")
        chat.sends.append(body)
        if not content.strip():
            return _error(422, "empty_message", "Please type a message.")
        if len(content) > chat.max_chars:
            limit = chat.max_chars
            return _error(413, "too_long", f"Messages can be at most {limit} characters.")
        if "rate limit" in content and chat.attempts.get("rate", 0) == 0:
            chat.attempts["rate"] = 1
            return _error(
                429, "rate_limited", "Too many messages. Slow down.", **{"Retry-After": "1"}
            )
        stream = _Stream(chat, cid, content, body.get("client_message_id") or uuid.uuid4().hex)
        return StreamingResponse(
            stream.frames(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    async def events(request: Request) -> Response:
        cid = request.path_params["cid"]
        if cid not in chat.conversations:
            return _error(404, "not_found", "Unknown conversation")
        chat.live_connections += 1
        after = int(request.query_params.get("after_seq", "0"))
        return StreamingResponse(_live_frames(chat, cid, after), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/api/conversations/{cid}/events", events),
            Route("/", page),
            Route("/blank", blank),
            Route("/api/conversations", create, methods=["POST"]),
            Route("/api/conversations/{cid}", show),
            Route("/api/conversations/{cid}/messages", send, methods=["POST"]),
            Route("/api/messages/{mid}/feedback", rate, methods=["POST"]),
            Mount("/static", StaticFiles(directory=static_dir()), name="static"),
        ]
    )


class _Stream:
    """One streamed answer; stores the assistant message as it goes."""

    def __init__(self, chat: FakeChat, cid: str, content: str, client_id: str) -> None:
        self.chat = chat
        self.cid = cid
        self.content = content
        self.client_id = client_id
        n = chat.attempts.get(client_id, 0) + 1
        chat.attempts[client_id] = n
        self.attempt = n
        existing = next(
            (m for m in chat.messages(cid) if m.get("client_message_id") == client_id), None
        )
        self.user = existing or chat.add(
            cid, "user", content, "complete", client_message_id=client_id
        )
        self.answer = chat.add(cid, "assistant", "", "pending", reply_to=self.user["id"])

    async def frames(self) -> AsyncIterator[bytes]:
        finished = False
        try:
            yield b": ping\n\n"
            yield _frame(
                "start",
                {
                    "conversation_id": self.cid,
                    "user_message_id": self.user["id"],
                    "message_id": self.answer["id"],
                },
            )
            async for chunk in self.script():
                yield chunk
            finished = True
        finally:
            if not finished and self.answer["status"] == "pending":
                self.answer["status"] = "partial"  # the client went away mid-answer

    async def deltas(self, text: str, delay: float = 0.0) -> AsyncIterator[bytes]:
        for word in _words(text):
            self.answer["content"] += word
            yield _frame("delta", {"text": word})
            await asyncio.sleep(delay or self.chat.token_delay)

    def done(self, status: str = "complete") -> bytes:
        self.answer["status"] = status
        usage = {"input_tokens": 12, "output_tokens": len(self.answer["content"].split())}
        return _frame(
            "done",
            {
                "message_id": self.answer["id"],
                "usage": usage,
                "finish_reason": "stop",
                "provider": "fake",
                "model": "fake-1",
                "status": status,
            },
        )

    async def script(self) -> AsyncIterator[bytes]:
        text = self.content.lower()
        if "xss" in text:
            async for chunk in self.deltas(XSS_ANSWER):
                yield chunk
        elif "slow" in text:
            async for chunk in self.deltas("word " * 400, delay=0.05):
                yield chunk
        elif "flaky" in text and self.attempt == 1:
            async for chunk in self.deltas("Let me check that for"):
                yield chunk
            self.answer["status"] = "failed"
            self.answer["error"] = "The model provider timed out."
            payload = {
                "code": "provider_timeout",
                "message": "The model provider timed out.",
                "message_id": self.answer["id"],
                "retryable": True,
            }
            yield _frame("error", payload)
            return
        elif "secret" in text:
            async for chunk in self.deltas(RETRACTED_SECRET):
                yield chunk
            self.answer["content"] = REPLACEMENT
            yield _frame("retracted", {"reason": "policy", "replacement": REPLACEMENT})
        elif "human" in text:
            self.chat.conversations[self.cid]["status"] = "waiting_for_agent"
            async for chunk in self.deltas("I'm passing you to a colleague."):
                yield chunk
            yield _frame("escalated", {"reason": "user_request", "ticket_id": "T-1042"})
        else:
            if "card" in text:
                self.user["content"] = "My card is [REDACTED]"
                notice = {
                    "code": "pii_redacted",
                    "message": "We removed a card number from your message.",
                }
                yield _frame("notice", notice)
            first, rest = ANSWER[:40], ANSWER[40:]
            async for chunk in self.deltas(first):
                yield chunk
            if self.chat.gate is not None:
                await asyncio.to_thread(self.chat.gate.wait, 10.0)
            # one event split across network chunks, in the middle of a multi-byte character
            raw = _frame("delta", {"text": rest})
            cut = raw.index("→".encode()) + 1
            self.answer["content"] += rest
            yield raw[:cut]
            await asyncio.sleep(0.02)
            yield raw[cut:]
            yield b": ping\n\n"
            self.answer["citations"] = CITATIONS
            yield _frame("citations", {"citations": CITATIONS})
        yield self.done()


async def _live_frames(chat: FakeChat, cid: str, after: int) -> AsyncIterator[bytes]:
    conv = chat.conversations[cid]
    status = {
        "status": conv["status"],
        "ticket_id": "T-1042",
        "team": "Support",
        "agent": None,
        "queue_position": 2,
        "estimated_wait_seconds": 180,
        "estimate_basis": 5,
    }
    yield _frame("status", status)
    for m in chat.messages(cid):
        if m["role"] == "agent" and m["seq"] > after:
            yield _frame("message", m)
    while True:
        try:
            name, data = await asyncio.to_thread(chat.live.get, True, 0.2)
        except queue.Empty:
            yield b": ping\n\n"
            continue
        yield _frame(name, data)
        if name == "status" and data.get("status") == "closed":
            return
