"""Markdown: sections follow the heading tree (markdown-it tokens, so '#' in code is safe)."""

from __future__ import annotations

from markdown_it import MarkdownIt

from frontdesk.knowledge.documents import (
    DocumentSkipped,
    LoadedDocument,
    Section,
    SkipReason,
    content_hash,
    slugify,
    tidy,
)
from frontdesk.knowledge.loaders.text import decode_text


def _front_matter(lines: list[str]) -> tuple[dict[str, str], int]:
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for i in range(1, min(len(lines), 50)):
        if lines[i].strip() == "---":
            meta = {}
            for line in lines[1:i]:
                key, sep, value = line.partition(":")
                if sep:
                    meta[key.strip().lower()] = value.strip().strip("\"'")
            return meta, i + 1
    return {}, 0


def load_markdown(data: bytes, source: str, stem: str) -> LoadedDocument:
    raw = decode_text(data)
    lines = raw.replace("\r\n", "\n").split("\n")
    meta, body_start = _front_matter(lines)
    tokens = MarkdownIt("commonmark").parse("\n".join(lines[body_start:]))
    headings: list[tuple[int, int, str]] = []  # (line, level, text)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map is not None:
            inline = tokens[i + 1]
            headings.append((tok.map[0] + body_start, int(tok.tag[1]), inline.content.strip()))
    title = meta.get("title") or next((h[2] for h in headings if h[1] == 1), "") or stem

    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    bounds = [*headings, (len(lines), 0, "")]
    pre = tidy("\n".join(lines[body_start : bounds[0][0]]))
    if pre:
        sections.append(Section(text=pre))
    used: dict[str, int] = {}
    for (line, level, text), nxt in zip(headings, bounds[1:], strict=False):
        path = [p for p in path if p[0] < level] + [(level, text)]
        body = tidy("\n".join(lines[line + 1 : nxt[0]]))
        anchor = slugify(text)
        seen = used.get(anchor, 0)
        used[anchor] = seen + 1
        if seen:
            anchor = f"{anchor}-{seen}"
        if body:
            heading_path = tuple(t for lvl, t in path if not (lvl == 1 and t == title))
            sections.append(Section(text=body, heading_path=heading_path, anchor=anchor))
    if not sections:
        raise DocumentSkipped(SkipReason.EMPTY, "no text under any heading")
    return LoadedDocument(
        source=source,
        title=title,
        format="markdown",
        sections=tuple(sections),
        content_hash=content_hash(data),
        url=meta.get("url"),
    )
