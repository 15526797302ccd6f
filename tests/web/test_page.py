"""The page template: placeholders filled, values escaped, assets present."""

from __future__ import annotations

import re

from frontdesk.web import CONTENT_SECURITY_POLICY, index_html, static_dir


def test_index_html_escapes_the_bot_name_and_sets_prefixes() -> None:
    page = index_html(
        bot_name='Ada <script>alert("x")</script>',
        static_base="/assets/",
        api_base="/support/",
        storage_key="acme",
    )
    assert "<script>alert" not in page
    assert 'data-bot-name="Ada &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"' in page
    assert 'data-api-base="/support"' in page
    assert 'data-storage-key="acme"' in page
    assert 'src="/assets/chat.js"' in page
    assert 'href="/assets/chat.css"' in page
    assert "/static/" not in page
    assert "<title>Ada &lt;script&gt;" in page


def test_page_references_only_files_that_exist_and_has_no_inline_code() -> None:
    raw = (static_dir() / "index.html").read_text(encoding="utf-8")
    for ref in re.findall(r'(?:src|href)="/static/([^"]+)"', raw):
        assert (static_dir() / ref).is_file(), ref
    # nothing the strict policy would block: no inline script, handler or style attribute
    assert re.search(r"<script(?![^>]*\bsrc=)", raw) is None
    assert re.search(r"\son[a-z]+=", raw) is None
    assert "style=" not in raw
    for module in static_dir().glob("*.js"):
        source = module.read_text(encoding="utf-8")
        assert "innerHTML" not in source, module.name
        assert "insertAdjacentHTML" not in source, module.name
        assert "eval(" not in source, module.name
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
