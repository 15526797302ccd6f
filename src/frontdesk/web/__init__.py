"""The browser chat: static files plus the page that loads them.

The app mounts :func:`static_dir` at ``/static`` and serves :func:`index_html` at ``/``,
ideally with :data:`CONTENT_SECURITY_POLICY` as the page's ``Content-Security-Policy``
header (the page needs no inline script or style, so the policy can be strict).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Final

__all__ = ["CONTENT_SECURITY_POLICY", "content_security_policy", "index_html", "static_dir"]

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'self'"
)


def content_security_policy(frame_ancestors: tuple[str, ...] = ()) -> str:
    """The page policy; ``frame_ancestors`` are the sites allowed to embed the chat widget."""
    if not frame_ancestors:
        return CONTENT_SECURITY_POLICY
    allowed = " ".join(("'self'", *frame_ancestors))
    return CONTENT_SECURITY_POLICY.replace("frame-ancestors 'self'", f"frame-ancestors {allowed}")


def static_dir() -> Path:
    """Directory holding index.html, chat.js, chat.css and the other modules."""
    return Path(__file__).resolve().parent / "static"


def index_html(
    *,
    bot_name: str = "Support assistant",
    static_base: str = "/static",
    api_base: str = "",
    storage_key: str = "conversation",
    site_key: str = "",
) -> str:
    """The chat page with the bot's name and URL prefixes filled in (HTML-escaped).

    ``static/index.html`` also works served as is (defaults: "Support assistant", assets
    under ``/static``, API at ``/api``). ``static_base`` is where :func:`static_dir` is
    mounted; ``api_base`` is prefixed to ``/api/...`` calls (empty: same origin, root path);
    ``storage_key`` namespaces the conversation id kept in the browser's localStorage;
    ``site_key`` is the public key of the tenant the page chats with (empty: the default).
    """
    page = (static_dir() / "index.html").read_text(encoding="utf-8")

    def attr(value: str) -> str:
        return html.escape(value, quote=True)

    replacements = {
        'data-bot-name=""': f'data-bot-name="{attr(bot_name)}"',
        'data-api-base=""': f'data-api-base="{attr(api_base.rstrip("/"))}"',
        'data-storage-key=""': f'data-storage-key="{attr(storage_key)}"',
        'data-site-key=""': f'data-site-key="{attr(site_key)}"',
        ">Support assistant</h1>": f">{attr(bot_name)}</h1>",
        "<title>Support chat</title>": f"<title>{attr(bot_name)} · Chat</title>",
        '"/static/': f'"{attr(static_base.rstrip("/"))}/',
    }
    for marker, value in replacements.items():
        if marker not in page:
            raise RuntimeError(f"web/static/index.html lost its {marker!r} marker")
        page = page.replace(marker, value)
    return page
