"""HTML: the main text (navigation, header, footer, scripts dropped), split at headings."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

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

_DROP = (
    "script, style, noscript, template, nav, header, footer, aside, form, iframe, svg, "
    "[role=navigation], [role=banner], [role=contentinfo], [aria-hidden=true]"
)
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "tr", "dt", "dd")
_BLOCK_SET = set(_BLOCKS)


def _inside_block(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in _BLOCK_SET:
            return True
        parent = parent.parent
    return False


def _block_text(node: Node) -> str:
    if node.tag == "tr":
        cells = [c.text(separator=" ", strip=True) for c in node.css("th, td")]
        return " | ".join(c for c in cells if c)
    if node.tag == "pre":
        return str(node.text(strip=False)).strip("\n")
    text = node.text(separator=" ", strip=True)
    return f"- {text}" if node.tag == "li" and text else text


def _main(tree: HTMLParser) -> Node | None:
    for selector in ("main", "article", "[role=main]", "#content", ".content", "body"):
        node = tree.css_first(selector)
        if node is not None:
            return node
    return tree.root


class _SectionBuilder:
    def __init__(self, title: str) -> None:
        self.title = title
        self.sections: list[Section] = []
        self.path: list[tuple[int, str]] = []
        self.anchor: str | None = None
        self.buffer: list[str] = []

    def flush(self) -> None:
        text = tidy("\n\n".join(self.buffer))
        self.buffer = []
        if text:
            path = tuple(t for lvl, t in self.path if not (lvl == 1 and t == self.title))
            self.sections.append(Section(text=text, heading_path=path, anchor=self.anchor))

    def heading(self, level: int, text: str, node_id: str | None) -> None:
        self.flush()
        self.path = [p for p in self.path if p[0] < level] + [(level, text)]
        self.anchor = node_id or slugify(text)


def load_html(data: bytes, source: str, stem: str) -> LoadedDocument:
    tree = HTMLParser(decode_text(data))
    title_node = tree.css_first("title")
    h1 = tree.css_first("h1")
    title = (
        (h1.text(strip=True) if h1 else "")
        or (title_node.text(strip=True) if title_node else "")
        or stem
    )
    canonical = tree.css_first("link[rel=canonical]")
    url = (canonical.attributes.get("href") or None) if canonical else None
    for node in tree.css(_DROP):
        node.decompose()
    main = _main(tree)
    if main is None:
        raise DocumentSkipped(SkipReason.EMPTY, "no HTML body")
    builder = _SectionBuilder(title)
    for node in main.css(", ".join(_BLOCKS)):
        if _inside_block(node):
            continue
        text = _block_text(node)
        if not text:
            continue
        if node.tag in _HEADINGS:
            builder.heading(int(str(node.tag)[1]), text, node.attributes.get("id"))
        else:
            builder.buffer.append(text)
    builder.flush()
    if not builder.sections:
        loose = tidy(main.text(separator="\n", strip=True))
        if not loose:
            raise DocumentSkipped(SkipReason.EMPTY, "no text in the HTML main content")
        builder.sections.append(Section(text=loose))
    return LoadedDocument(
        source=source,
        title=title,
        format="html",
        sections=tuple(builder.sections),
        content_hash=content_hash(data),
        url=url,
    )
