"""Offline token counters for vendor models."""

from __future__ import annotations

import pytest
import quicktok

from frontdesk.domain import ChatMessage
from frontdesk.providers.base import ChatRequest, TokenCounter
from frontdesk.providers.fallback import surely_fits
from frontdesk.providers.tokens import (
    CL100K,
    O200K,
    EstimatingTokenCounter,
    OpenAITokenCounter,
    counter_for,
    openai_encoding_name,
    warm,
)


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", O200K),
        ("gpt-4o-mini-2024-07-18", O200K),
        ("openai/gpt-4.1-nano", O200K),
        ("o1", O200K),
        ("o3-mini", O200K),
        ("o4-mini", O200K),
        ("gpt-5", O200K),
        ("gpt-5-mini", O200K),
        ("chatgpt-4o-latest", O200K),
        ("gpt-4", CL100K),
        ("gpt-4-turbo", CL100K),
        ("gpt-4-0613", CL100K),
        ("gpt-3.5-turbo", CL100K),
        ("gpt-35-turbo", CL100K),
        ("text-embedding-3-small", CL100K),
        ("text-embedding-ada-002", CL100K),
        ("llama3.1:8b", None),
        ("claude-sonnet-4-5", None),
        ("gpt-4oo", None),
        ("o10", None),
    ],
)
def test_encoding_for_model(model: str, encoding: str | None) -> None:
    assert openai_encoding_name(model) == encoding


@pytest.mark.parametrize("encoding", [CL100K, O200K])
def test_token_ids_match_the_reference_encodings(encoding: str) -> None:
    # The ids OpenAI's cookbook shows for this sentence, in both encodings.
    expected = {
        CL100K: [83, 1609, 5963, 374, 2294, 0],
        O200K: [83, 8251, 2488, 382, 2212, 0],
    }[encoding]
    assert quicktok.get_encoding(encoding).encode("tiktoken is great!") == expected
    assert OpenAITokenCounter(encoding).count("tiktoken is great!") == 6


def test_chat_overhead_follows_openai_formula() -> None:
    counter = OpenAITokenCounter(O200K)
    messages = [
        ChatMessage("system", "You are a helpful support assistant."),
        ChatMessage("user", "tiktoken is great!"),
        ChatMessage("assistant", "Glad you like it."),
    ]
    body = sum(counter.count(m.content) for m in messages)
    roles = sum(counter.count(m.role) for m in messages)
    assert roles == 3  # "system", "user", "assistant" are one token each
    # 3 tokens per message + role + content, plus 3 priming the reply.
    assert counter.count_messages(messages) == body + roles + 3 * len(messages) + 3
    assert counter.count_messages([ChatMessage("user", "tiktoken is great!")]) == 13


def test_special_token_text_counts_as_ordinary_text() -> None:
    counter = OpenAITokenCounter(CL100K)
    assert counter.count("<|endoftext|>") == len(
        quicktok.get_encoding(CL100K).encode_ordinary("<|endoftext|>")
    )
    assert counter.count("<|endoftext|>") > 1


def test_counter_for_chooses_exact_or_honest_estimate() -> None:
    exact = counter_for("openai", "gpt-4o")
    assert isinstance(exact, OpenAITokenCounter)
    assert exact.exact
    assert exact.encoding_name == O200K
    guess: TokenCounter = counter_for("openai", "qwen2.5:7b")
    assert isinstance(guess, EstimatingTokenCounter)
    assert not guess.exact
    assert isinstance(counter_for("anthropic", "claude-sonnet-4-5"), EstimatingTokenCounter)
    with pytest.raises(ValueError, match="own tokenizer"):
        counter_for("local", "smollm2")


def test_estimate_errs_high() -> None:
    text = "Our refund policy allows returns within thirty days of purchase."
    exact = OpenAITokenCounter(O200K).count(text)
    estimate = EstimatingTokenCounter().count(text)
    assert estimate > exact
    assert estimate <= exact * 1.2 + 1
    messages = [ChatMessage("user", text)]
    assert EstimatingTokenCounter().count_messages(messages) > OpenAITokenCounter(
        O200K
    ).count_messages(messages)


ADVERSARIAL = [
    "",
    "Hello! When is your support team available?",
    "🙂" * 300,
    "日本語のテキスト、句読点。" * 50,
    " " * 1000,
    "a" * 4000,
    "\n\n\t\t" * 200,
    "<|endoftext|>" * 40,
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 " * 100,
]


@pytest.mark.parametrize(
    "counter", [OpenAITokenCounter(O200K), OpenAITokenCounter(CL100K), EstimatingTokenCounter()]
)
def test_the_no_tokenizer_bound_is_never_below_the_count(counter: TokenCounter) -> None:
    """Fallback skips counting when ``surely_fits``: no window smaller than the exact need
    may pass (the check is monotone in the window, so testing need - 1 covers them all)."""
    for role in ("system", "user", "assistant"):
        for text in ADVERSARIAL:
            for n in (1, 3):
                request = ChatRequest([ChatMessage(role, text)] * n, max_output_tokens=100)
                needed = counter.count_messages(request.messages) + request.max_output_tokens
                assert not surely_fits(request, needed - 1), (role, text[:20], n)


def test_the_bound_spares_ordinary_requests_the_tokenizer() -> None:
    request = ChatRequest([ChatMessage("user", ADVERSARIAL[1])], max_output_tokens=1024)
    assert surely_fits(request, 128_000)
    assert not surely_fits(request, 1_200)


def test_the_encoding_loads_on_first_use_and_warm_loads_it_ahead() -> None:
    counter = OpenAITokenCounter(O200K)

    def loaded() -> bool:
        return counter._enc._enc is not None  # constructing a provider loads no tokenizer

    assert not loaded()
    warm(counter)
    assert loaded()
    assert counter.count("tiktoken is great!") == 6
