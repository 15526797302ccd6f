"""Knowledge-base errors (subclasses of the shared hierarchy)."""

from __future__ import annotations

from frontdesk.errors import ConfigError, Conflict


class EmbeddingMismatch(ConfigError):
    """The index was built with a different embedding model or dimension."""

    code = "embedding_mismatch"

    def __init__(
        self, *, tenant: str, collection: str, stored: tuple[str, int], current: tuple[str, int]
    ) -> None:
        super().__init__(
            f"collection {collection!r} (tenant {tenant!r}) was embedded with "
            f"{stored[0]} ({stored[1]} dimensions) but the configured embedder is "
            f"{current[0]} ({current[1]} dimensions); re-embed it with "
            f"`frontdesk ingest --collection {collection} --reembed PATH...` "
            f"or switch back to {stored[0]}"
        )
        self.stored = stored
        self.current = current


class DuplicateChunk(Conflict):
    code = "duplicate_chunk"
