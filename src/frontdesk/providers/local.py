"""The embedded chat provider: SmolLM2 on llama-cpp-python, streamed off the event loop.

Each ``stream`` call tokenizes the prompt exactly (chat template included),
queues one generation on the shared :class:`LocalModel`'s worker thread and
receives text pieces through an ``asyncio.Queue`` fed with
``call_soon_threadsafe``. Closing the iterator (a client disconnect) or
cancelling the consuming task sets a flag the worker checks before every
token, so generation stops promptly and the next queued request starts.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Sequence

from frontdesk.domain import ChatMessage, Usage
from frontdesk.errors import ConfigError, ContextTooLong, ProviderError, ProviderUnavailable
from frontdesk.events import Finish, ProviderEvent, TextDelta, UsageReport
from frontdesk.providers.base import Capabilities, ChatRequest
from frontdesk.providers.local_model import GenerationDone, LocalModel, SamplingParams
from frontdesk.providers.report import reported

_Item = str | GenerationDone | BaseException


class LlamaTokenCounter:
    """Exact counts with the embedded model's own tokenizer."""

    exact = True

    def __init__(self, model: LocalModel) -> None:
        self._model = model

    def count(self, text: str) -> int:
        return len(self._model.tokenize_text(text))

    def count_messages(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of the whole prompt as the model sees it (BOS, ChatML markers, reply prime)."""
        return len(self._model.tokenize_prompt(messages))


class LocalProvider:
    """A :class:`~frontdesk.providers.base.ChatProvider` over the shared embedded model."""

    def __init__(self, model: LocalModel, *, name: str = "local", model_name: str = "smollm2"):
        self._model = model
        self._name = name
        self._model_name = model_name
        self._tokens = LlamaTokenCounter(model)

    @property
    def name(self) -> str:
        return self._name

    @property
    def model(self) -> str:
        return self._model_name

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(context_length=self._model.n_ctx)

    @property
    def tokens(self) -> LlamaTokenCounter:
        return self._tokens

    async def _ensure_loaded(self) -> None:
        if self._model.loaded:
            return
        try:
            await asyncio.wrap_future(self._model.submit_load())
        except ConfigError as exc:
            raise ProviderUnavailable(exc.message, provider=self._name, retryable=False) from exc
        except RuntimeError as exc:  # the worker was shut down with the app
            raise ProviderUnavailable(
                "the embedded model is closed", provider=self._name, retryable=False
            ) from exc

    def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        return reported(self.name, self.model, self._call(request))

    async def _call(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        await self._ensure_loaded()
        prompt = self._model.tokenize_prompt(request.messages)
        if len(prompt) >= self._model.n_ctx:
            raise ContextTooLong(
                f"prompt is {len(prompt)} tokens; the embedded model's context is "
                f"{self._model.n_ctx} tokens (FRONTDESK_LOCAL_N_CTX)",
                provider=self._name,
            )
        params = SamplingParams(
            max_tokens=request.max_output_tokens,
            temperature=request.temperature,
            stop=tuple(request.stop),
        )
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        cancelled = threading.Event()

        def emit(item: _Item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                cancelled.set()

        try:
            self._model.submit(prompt, params, emit, cancelled)
        except RuntimeError as exc:  # the worker was shut down with the app
            raise ProviderUnavailable(
                "the embedded model is closed", provider=self._name, retryable=False
            ) from exc
        try:
            while True:
                item = await queue.get()
                if isinstance(item, str):
                    yield TextDelta(item)
                elif isinstance(item, GenerationDone):
                    yield UsageReport(Usage(len(prompt), item.completion_tokens))
                    yield Finish(item.reason)
                    return
                else:
                    raise self._translate(item)
        finally:
            cancelled.set()

    def _translate(self, exc: BaseException) -> ProviderError:
        if isinstance(exc, ProviderError):
            return exc
        text = str(exc) or type(exc).__name__
        if isinstance(exc, ValueError) and "context" in text.lower():
            return ContextTooLong(text, provider=self._name)
        error = ProviderError(f"embedded model failed: {text}", provider=self._name)
        error.__cause__ = exc
        return error

    async def check(self) -> None:
        """Ready when the model file verifies and loads."""
        await self._ensure_loaded()

    async def aclose(self) -> None:
        """Nothing per provider: the shared model is closed by its owner (SharedModels)."""
        return None
