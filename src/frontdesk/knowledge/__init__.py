"""Knowledge base: loaders, chunking, stores, ingestion, hybrid retrieval, evaluation.

Public entry points (import them from their modules; this package imports nothing):

- ``knowledge.embedding``: ``EmbeddingProvider`` (Protocol), ``LocalEmbedder.load()``
  (all-MiniLM-L6-v2 int8 ONNX, sha256-pinned), ``HashEmbedder`` (deterministic, for tests).
- ``knowledge.embedding_openai.OpenAIEmbedder``: any OpenAI-compatible embeddings endpoint.
- ``knowledge.stores.factory.open_store(database_url)``: SQLite or PostgreSQL store.
- ``knowledge.ingest``: ``ingest(paths, store=, embedder=, collection=, tenant=, prune=,
  reembed=, progress=)`` and ``ingest_bytes(data, name, ...)`` for uploads.
- ``knowledge.retrieval``: ``Retriever(store, embedder, collection=, tenant=, options=)``
  with ``await retrieve(query)`` and ``citations(hits)``.
- ``knowledge.eval.evaluate_beir(directory, embedder)`` for ``frontdesk eval retrieval``.
- ``knowledge.schema.metadata``: the ``kb_*`` tables for Alembic.
"""
