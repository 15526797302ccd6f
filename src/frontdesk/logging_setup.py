"""Structured logs: one JSON object per line (or plain text for a terminal)."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_control(text: str) -> str:
    """Control characters as visible escapes (``\\n``, ``\\x1b``): a logged value
    cannot start a new line or drive the terminal."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def redact_url(url: str) -> str:
    """A URL safe to log: no user, password, query string or fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_") and key != "color_message":
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        # json escapes U+0000-U+001F itself; U+2028/9 and C1 controls would split some readers
        line = json.dumps(out, default=str, ensure_ascii=False)
        return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


class TextFormatter(logging.Formatter):
    """One line per record for a terminal: message, then the structured fields."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = escape_control(f"{record.levelname} {record.name}: {record.getMessage()}")
        extras = {k: v for k, v in vars(record).items() if k not in _RESERVED and k[0] != "_"}
        extras.pop("color_message", None)
        if extras:
            line += " " + " ".join(f"{k}={escape_control(str(v))}" for k, v in extras.items())
        if record.exc_info:  # a traceback keeps its lines, indented under the record
            line += "\n" + self.formatException(record.exc_info).replace("\n", "\n    ")
        return line


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
