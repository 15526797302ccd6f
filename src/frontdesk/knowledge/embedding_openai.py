"""OpenAI-compatible embeddings endpoint (``POST {base_url}/embeddings``).

Works with OpenAI (``text-embedding-3-small``) and any server speaking the same wire
format (vLLM, Ollama's OpenAI API, LiteLLM). Vendor failures become our ProviderErrors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from frontdesk.errors import ProviderProtocolError, ProviderTimeout, ProviderUnavailable
from frontdesk.knowledge.embedding import EmbedKind, Vectors, l2_normalise
from frontdesk.providers.errors_map import error_from_status

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIEmbedder:
    def __init__(
        self,
        *,
        api_key: str,
        model: str = "text-embedding-3-small",
        dimensions: int = 1536,
        base_url: str = DEFAULT_BASE_URL,
        batch_size: int = 256,
        timeout: float = 30.0,
        send_dimensions: bool = True,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._model = model
        self._dimensions = dimensions
        self._url = base_url.rstrip("/") + "/embeddings"
        self._batch_size = batch_size
        self._send_dimensions = send_dimensions
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def model_id(self) -> str:
        return f"openai:{self._model}@{self._dimensions}"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def embed(self, texts: Sequence[str], kind: EmbedKind) -> Vectors:
        del kind
        out = np.zeros((len(texts), self._dimensions), dtype=np.float32)
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            out[start : start + len(batch)] = await self._request(batch)
        return l2_normalise(out)

    async def _request(self, batch: list[str]) -> Vectors:
        body: dict[str, Any] = {"model": self._model, "input": batch, "encoding_format": "float"}
        if self._send_dimensions:
            body["dimensions"] = self._dimensions
        try:
            response = await self._client.post(self._url, json=body, headers=self._headers)
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(str(exc) or "timed out", provider="openai-embeddings") from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(str(exc), provider="openai-embeddings") from exc
        if response.status_code >= 400:
            raise error_from_status(
                response.status_code,
                response.text[:500],
                provider="openai-embeddings",
                headers=dict(response.headers),
            )
        try:
            rows = sorted(response.json()["data"], key=lambda r: r["index"])
            vectors = np.array([r["embedding"] for r in rows], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderProtocolError(
                f"unexpected embeddings response: {exc}", provider="openai-embeddings"
            ) from exc
        if vectors.shape != (len(batch), self._dimensions):
            raise ProviderProtocolError(
                f"expected {len(batch)}x{self._dimensions} vectors, got {vectors.shape}",
                provider="openai-embeddings",
            )
        return vectors
