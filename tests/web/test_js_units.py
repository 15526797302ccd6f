"""The chat's JavaScript modules (Markdown renderer, SSE parser) run in the real browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.servers import serve
from tests.web.fake_api import FakeChat, build_app

pytestmark = pytest.mark.browser

RENDER = """async ([source, citations]) => {
  const { renderMarkdown } = await import('/static/markdown.js');
  const box = document.createElement('div');
  box.appendChild(renderMarkdown(source, { citations }));
  return box.innerHTML;
}"""


@pytest.fixture(scope="module")
def module_url() -> Iterator[str]:
    with serve(build_app(FakeChat())) as url:
        yield url


@pytest.fixture(scope="module")
def module_page(browser: Browser, module_url: str) -> Iterator[Page]:
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(module_url + "/blank")  # same origin as the modules, the chat app not running
    yield page
    ctx.close()


def render(page: Page, source: str, citations: list[dict[str, Any]] | None = None) -> str:
    html = page.evaluate(RENDER, [source, citations or []])
    assert isinstance(html, str)
    return html


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# Title", '<h3 class="md-heading">Title</h3>'),
        ("**b** *i* ~~d~~ `c`", "<p><strong>b</strong> <em>i</em> <del>d</del> <code>c</code></p>"),
        ("***both***", "<p><strong><em>both</em></strong></p>"),
        ("**a *b***", "<p><strong>a <em>b</em></strong></p>"),
        ("snake_case_name and 2*3", "<p>snake_case_name and 2*3</p>"),
        ("\\*not em\\* and `**x**`", "<p>*not em* and <code>**x**</code></p>"),
        ("a\nb", "<p>a<br>b</p>"),
        ("- a\n  - b\n- c", "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>"),
        ("3. x\n4. y", '<ol start="3"><li>x</li><li>y</li></ol>'),
        ("- a\n\n- b", "<ul><li><p>a</p></li><li><p>b</p></li></ul>"),
        ("> quoted\n> more", "<blockquote><p>quoted<br>more</p></blockquote>"),
        ("---", "<hr>"),
        ("<b>bold</b> &amp; <i>", "<p>&lt;b&gt;bold&lt;/b&gt; &amp;amp; &lt;i&gt;</p>"),
    ],
)
def test_markdown_blocks_and_inlines(module_page: Page, source: str, expected: str) -> None:
    assert render(module_page, source) == expected


def test_code_fences_tables_and_streaming_fence(module_page: Page) -> None:
    html = render(module_page, "```py\nx = '<script>'\n```")
    assert "<code class=\"language-py\">x = '&lt;script&gt;'</code>" in html
    assert "<span>py</span>" in html
    # still streaming: the fence is not closed yet
    assert "<code>print(1)\n</code>" in render(module_page, "```\nprint(1)\n")
    table = render(module_page, "| A | B |\n|:--|--:|\n| 1 | **2** |")
    assert '<th class="align-left">A</th><th class="align-right">B</th>' in table
    assert '<td class="align-right"><strong>2</strong></td>' in table


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
    ],
)
def test_unsafe_link_schemes_are_not_links(module_page: Page, href: str) -> None:
    html = render(module_page, f"[label](<{href}>) and [x]({href.strip()})")
    assert "<a" not in html
    assert '<span class="md-unsafe-link">' in html


def test_safe_links_open_in_a_new_tab(module_page: Page, module_url: str) -> None:
    html = render(module_page, "[help](/help 'Title') and see https://example.com/a_(b).")
    assert (
        f'<a href="{module_url}/help" target="_blank" rel="noopener noreferrer" '
        'title="Title">help</a>'
    ) in html
    assert '<a href="https://example.com/a_(b)" target="_blank"' in html
    assert html.endswith("https://example.com/a_(b)</a>.</p>")
    image = render(module_page, "![a cat](https://img.example.com/cat.png)")
    assert "<img" not in image
    assert ">a cat</a>" in image


def test_citation_markers_link_to_their_source(module_page: Page) -> None:
    cites = [{"index": 1, "title": "Refunds", "url": "https://help.example.com/refunds"}]
    html = render(module_page, "Refunds take 5 days [1], see [2].", cites)
    assert '<sup class="md-cite"><a href="https://help.example.com/refunds"' in html
    assert 'aria-label="Source 1: Refunds"' in html
    assert "see [2]." in html  # unknown index stays text


def test_hostile_nesting_renders_without_error(module_page: Page) -> None:
    html = render(module_page, ">" * 5000 + " deep\n" + "- " * 3000 + "x\n" + "*" * 20000)
    assert "deep" in html


SSE_SPLITS = """async (text) => {
  const { SseParser, readEvents } = await import('/static/sse.js');
  const parse = (chunks) => {
    const events = [];
    const comments = [];
    const parser = new SseParser((e) => events.push(e), (c) => comments.push(c));
    for (const chunk of chunks) parser.push(chunk);
    parser.end();
    return JSON.stringify([events, comments]);
  };
  const whole = parse([text]);
  const mismatches = [];
  for (let k = 0; k <= text.length; k += 1) {
    if (parse([text.slice(0, k), text.slice(k)]) !== whole) mismatches.push(k);
  }
  if (parse(Array.from(text)) !== whole) mismatches.push('per-char');
  // bytes split inside multi-byte characters, through fetch's ReadableStream
  const bytes = new TextEncoder().encode(text);
  const viaStream = [];
  for (let k = 1; k < bytes.length; k += 7) {
    const body = new ReadableStream({ start(c) {
      c.enqueue(bytes.slice(0, k)); c.enqueue(bytes.slice(k)); c.close();
    } });
    const got = [];
    for await (const e of readEvents(new Response(body))) got.push(e);
    viaStream.push(JSON.stringify(got));
  }
  return { whole: JSON.parse(whole), mismatches, streams: [...new Set(viaStream)] };
}"""


def test_sse_parser_handles_any_chunk_boundary(module_page: Page) -> None:
    text = (
        ": ping\r\n\r\n"
        'event: delta\r\ndata: {"text":"caf\u00e9 \u2192 \U0001f600"}\r\n\r\n'
        'event: start\rdata: {"a":1}\r\r'
        "data: line one\ndata: line two\n\n"
        'id: 7\nevent: done\ndata:{"status":"complete"}\n\n'
        "event: ignored-without-data\n\n"
        'event: cut\ndata: {"never":"dispatched"}'
    )
    result = module_page.evaluate(SSE_SPLITS, text)
    assert result["mismatches"] == []
    events, comments = result["whole"]
    assert comments == ["ping"]
    assert events == [
        {"event": "delta", "data": '{"text":"caf\u00e9 \u2192 \U0001f600"}'},
        {"event": "start", "data": '{"a":1}'},
        {"event": "message", "data": "line one\nline two"},
        {"event": "done", "data": '{"status":"complete"}'},
    ]
    assert len(result["streams"]) == 1
    decoded = [
        {"event": "delta", "data": {"text": "caf\u00e9 \u2192 \U0001f600"}},
        {"event": "start", "data": {"a": 1}},
        {"event": "message", "data": "line one\nline two"},
        {"event": "done", "data": {"status": "complete"}},
    ]
    assert json.loads(result["streams"][0]) == decoded
