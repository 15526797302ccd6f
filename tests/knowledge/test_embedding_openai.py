"""OpenAIEmbedder against a loopback server speaking the OpenAI embeddings wire format."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from frontdesk.errors import ProviderAuthFailed, ProviderProtocolError, ProviderRateLimited
from frontdesk.knowledge.embedding import EmbeddingProvider
from frontdesk.knowledge.embedding_openai import OpenAIEmbedder
from tests.servers import serve

SEEN: list[dict[str, Any]] = []


async def embeddings(request: Request) -> JSONResponse:
    body = await request.json()
    SEEN.append({"body": body, "auth": request.headers.get("authorization")})
    if request.headers.get("authorization") != "Bearer good":
        return JSONResponse({"error": {"message": "bad key"}}, status_code=401)
    if body["input"] == ["slow down"]:
        return JSONResponse({"error": {"message": "rate"}}, 429, headers={"retry-after": "3"})
    if body["input"] == ["garbage"]:
        return JSONResponse({"object": "list"})
    dim = body.get("dimensions", 4)
    data = [
        {"object": "embedding", "index": i, "embedding": [float(len(t))] + [1.0] * (dim - 1)}
        for i, t in enumerate(body["input"])
    ]
    data.reverse()  # the index field, not the order, says which input a vector belongs to
    return JSONResponse({"object": "list", "data": data, "model": body["model"]})


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = Starlette(routes=[Route("/v1/embeddings", embeddings, methods=["POST"])])
    with serve(app) as url:
        yield url + "/v1"


async def test_batches_order_and_normalisation(base_url: str) -> None:
    SEEN.clear()
    embedder = OpenAIEmbedder(api_key="good", dimensions=4, base_url=base_url, batch_size=2)
    assert isinstance(embedder, EmbeddingProvider)
    vectors = await embedder.embed(["a", "bbb", "cc"], "document")
    await embedder.aclose()
    assert vectors.shape == (3, 4)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    expected = np.array([[1, 1, 1, 1], [3, 1, 1, 1], [2, 1, 1, 1]], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert [len(s["body"]["input"]) for s in SEEN] == [2, 1]
    assert SEEN[0]["body"]["model"] == "text-embedding-3-small"
    assert SEEN[0]["body"]["dimensions"] == 4
    assert embedder.model_id == "openai:text-embedding-3-small@4"


async def test_vendor_errors_are_translated(base_url: str) -> None:
    bad_key = OpenAIEmbedder(api_key="wrong", dimensions=4, base_url=base_url)
    with pytest.raises(ProviderAuthFailed):
        await bad_key.embed(["x"], "query")
    await bad_key.aclose()
    embedder = OpenAIEmbedder(api_key="good", dimensions=4, base_url=base_url)
    with pytest.raises(ProviderRateLimited) as info:
        await embedder.embed(["slow down"], "query")
    assert info.value.retry_after == 3.0 and info.value.retryable
    with pytest.raises(ProviderProtocolError):
        await embedder.embed(["garbage"], "query")
    await embedder.aclose()
