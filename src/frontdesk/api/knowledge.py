"""The knowledge base over HTTP: the citation viewer (customers open cited passages)
and the admin API (list, upload, delete documents).

Access: an admin key sees its own tenant's documents only (another tenant's answer 404).
An anonymous customer sees a document only through a citation of their conversation
(``?conversation=<id>``), and then only the cited passages, unless the bot marks the
collection ``knowledge.public``.
"""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from frontdesk import web
from frontdesk.api.auth_deps import authenticate, bearer_token, require_role
from frontdesk.api.deps import ServicesDep
from frontdesk.api.tenancy import tenant_of
from frontdesk.api.uploads import read_upload
from frontdesk.auth.keys import Principal
from frontdesk.chat.knowledge import KnowledgeBase
from frontdesk.errors import ClientError, NotFound, ValidationFailed
from frontdesk.knowledge.types import SearchFilter, StoredChunk
from frontdesk.memory.base import MemoryStore
from frontdesk.services import Services

viewer = APIRouter(tags=["knowledge"])
admin = APIRouter(prefix="/api/admin/documents", tags=["admin"])

AdminDep = Annotated[Principal, Depends(require_role("admin"))]


def _kb(services: Services) -> KnowledgeBase:
    if services.chat.knowledge is None:
        raise NotFound("this bot has no knowledge base (knowledge.enabled is false)")
    return services.chat.knowledge


def _tenant_kb(services: Services, principal: Principal) -> KnowledgeBase:
    """The knowledge base if it belongs to the caller's tenant; 404 otherwise."""
    kb = _kb(services)
    if tenant_of(principal) != kb.where.tenant:
        raise NotFound("this tenant has no knowledge base")
    return kb


async def _is_tenant_admin(request: Request, kb: KnowledgeBase) -> bool:
    if bearer_token(request) is None:
        return False
    principal = await authenticate(request)  # a wrong key is a 401, not a silent downgrade
    return principal.role == "admin" and tenant_of(principal) == kb.where.tenant


async def cited_passages(
    store: MemoryStore, kb: KnowledgeBase, conversation_id: str, document_id: str
) -> tuple[set[str], set[str]]:
    """(chunk ids, anchors) of ``document_id`` cited by the assistant in the conversation."""
    conversation = await store.get_conversation(conversation_id)
    if conversation is None or conversation.tenant_id != kb.where.tenant:
        return set(), set()
    chunk_ids: set[str] = set()
    anchors: set[str] = set()
    for message in await store.list_messages(conversation_id):
        if message.role != "assistant" or not message.metadata:
            continue
        cites = message.metadata.get("citations")
        for cite in cites if isinstance(cites, list) else []:
            if not isinstance(cite, dict) or cite.get("document_id") != document_id:
                continue
            chunk_ids.add(str(cite.get("chunk_id", "")))
            _, _, anchor = str(cite.get("url", "")).partition("#")
            if anchor:
                anchors.add(anchor)
    return chunk_ids, anchors


@viewer.get("/kb/documents/{document_id}", response_class=HTMLResponse)
async def view_document(
    document_id: str,
    request: Request,
    services: ServicesDep,
    conversation: Annotated[
        str | None, Query(max_length=128, description="The conversation citing it")
    ] = None,
) -> HTMLResponse:
    """A cited document, section by section; the URL fragment marks the cited section.

    Customers see the passages cited to their conversation (the whole document in a public
    collection); an admin key of the tenant sees the whole document.
    """
    kb = _kb(services)
    missing = NotFound(f"document {document_id} not found")
    is_admin = await _is_tenant_admin(request, kb)
    doc = await asyncio.to_thread(kb.store.get_document, kb.where, document_id)
    if doc is None:
        raise missing
    whole = is_admin or kb.config.public
    chunks = await asyncio.to_thread(kb.store.document_chunks, kb.where, document_id)
    if not whole:
        cited_ids, anchors = (
            await cited_passages(services.store, kb, conversation, document_id)
            if conversation
            else (set(), set())
        )
        chunks = [
            c for c in chunks if c.id in cited_ids or (c.anchor or f"part-{c.ordinal}") in anchors
        ]
        if not chunks:
            raise missing  # same answer as an unknown id: existence is not revealed
    return HTMLResponse(
        render_document(doc.title, doc.url, chunks),
        headers={
            "Content-Security-Policy": web.CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        },
    )


def render_document(title: str, url: str | None, chunks: list[StoredChunk]) -> str:
    sections: list[tuple[str, str, list[str]]] = []  # (anchor, heading, texts)
    for chunk in chunks:
        anchor = chunk.anchor or f"part-{chunk.ordinal}"
        heading = chunk.section or (f"Page {chunk.page}" if chunk.page else "")
        if sections and sections[-1][0] == anchor:
            sections[-1][2].append(chunk.text)
        else:
            sections.append((anchor, heading, [chunk.text]))
    esc = html.escape
    body = []
    for anchor, heading, texts in sections:
        paragraphs = "".join(
            f"<p>{_inline(p)}</p>" for p in re.split(r"\n\s*\n", _join_overlapping(texts)) if p
        )
        head = f"<h2>{esc(heading)}</h2>" if heading else ""
        body.append(f'<section id="{esc(anchor, quote=True)}">{head}{paragraphs}</section>')
    original = ""
    if url and url.startswith(("https://", "http://")):
        original = f'<a href="{esc(url, quote=True)}" rel="noopener noreferrer">{esc(url)}</a>'
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>"
        '<link rel="stylesheet" href="/static/kb/kb.css"></head><body><main>'
        f'<header><div class="kicker">Help center</div><h1>{esc(title)}</h1>{original}</header>'
        + "".join(body)
        + "</main></body></html>"
    )


def _join_overlapping(texts: list[str]) -> str:
    """Chunks of one section overlap by design; show the text once."""
    out = texts[0]
    for nxt in texts[1:]:
        overlap = 0
        for k in range(min(len(out), len(nxt)), 15, -1):
            if out.endswith(nxt[:k]):
                overlap = k
                break
        out += nxt[overlap:] if overlap else "\n\n" + nxt
    return out


def _inline(text: str) -> str:
    escaped = html.escape(text.strip())
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)


@admin.get("")
async def list_documents(services: ServicesDep, principal: AdminDep) -> dict[str, Any]:
    kb = _tenant_kb(services, principal)
    docs = await asyncio.to_thread(kb.store.list_documents, kb.where)
    return {"documents": [asdict(d) for d in docs]}


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "md, html, pdf, docx, txt or csv",
                        },
                        "source": {
                            "type": "string",
                            "description": "Stable name; default: the file name",
                        },
                    },
                }
            }
        },
    }
}


async def _until_disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


@admin.post("", status_code=201, openapi_extra=UPLOAD_BODY)
async def upload_document(
    request: Request, services: ServicesDep, principal: AdminDep
) -> dict[str, Any]:
    """Ingest one document (idempotent by content hash; a changed file replaces its chunks).

    The body is read as it streams in (HTTP 413 past ``FRONTDESK_UPLOAD_MAX_BYTES``); the
    file is parsed in a worker process with time, memory and decompressed-size limits
    (HTTP 422 over a limit or for any unreadable file), killed if the client leaves."""
    kb = _tenant_kb(services, principal)
    upload = await read_upload(
        request, file_field="file", max_bytes=services.settings.upload_max_bytes
    )
    name = upload.filename or "upload"
    source = upload.fields.get("source") or name
    from frontdesk.knowledge.ingest import ingest_bytes  # the ingest stack: on first upload
    from frontdesk.knowledge.sandbox import limits_from

    work = asyncio.ensure_future(
        ingest_bytes(
            bytes(upload.data),
            name,
            store=kb.store,
            embedder=kb.retriever.embedder,
            collection=kb.where.collection,
            tenant=kb.where.tenant,
            source=source,
            limits=limits_from(services.settings),
        )
    )
    del upload
    gone = asyncio.ensure_future(_until_disconnected(request))
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not work.done():
            work.cancel()  # the client left (or we were cancelled): kill the parser
    if work.cancelled():
        raise ClientError("the client disconnected before the upload was ingested")
    summary = work.result()
    problems = [*summary.skipped, *summary.failed]
    if problems:
        p = problems[0]
        raise ValidationFailed(f"{p.source} was not ingested: {p.reason}: {p.detail}")
    await kb.refresh()
    return {
        "added": summary.added,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "chunks": summary.chunks,
        "summary": summary.describe(),
    }


@admin.delete("/{document_id}", status_code=204)
async def delete_document(document_id: str, services: ServicesDep, principal: AdminDep) -> None:
    kb = _tenant_kb(services, principal)
    removed = await asyncio.to_thread(kb.store.delete_documents, kb.where, [document_id])
    if not removed:
        raise NotFound(f"document {document_id} not found")
    await kb.refresh()


def document_filter(kb: KnowledgeBase, document_id: str) -> SearchFilter:
    return SearchFilter(kb.where.tenant, kb.where.collection, frozenset([document_id]))
