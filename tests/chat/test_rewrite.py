"""Follow-ups made standalone by the model (vendor endpoints), the deterministic pairing
on any failure; the scripted provider stands in for the vendor model."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.chat.followup import Question, standalone
from frontdesk.chat.rewrite import ModelRewriter, clean_rewrite
from frontdesk.chat.service import ChatService
from frontdesk.domain import ChatMessage
from frontdesk.errors import ProviderUnavailable
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider, Step
from tests.conftest import make_bot

EARLIER = [
    ChatMessage("user", "Which IP addresses do you use for the US region?"),
    ChatMessage("assistant", "For the US region allow 44.210.3.17 and 44.210.3.18 [1]."),
]


def _follow_up() -> Question:
    question = standalone("What about Europe?", EARLIER)
    assert question.previous is not None  # the deterministic pairing
    return question


async def test_the_model_puts_the_follow_up_in_full() -> None:
    provider = ScriptedProvider.from_texts(["Which IP addresses do you use for the EU region?"])
    question = await ModelRewriter(provider).rewrite(_follow_up(), EARLIER)
    assert question.rewritten == "Which IP addresses do you use for the EU region?"
    assert question.search_text == "Which IP addresses do you use for the EU region?"
    assert question.text == "What about Europe?"  # the customer's words stay for the answer
    (request,) = provider.requests
    assert request.max_output_tokens == 60 and request.temperature == 0.0
    prompt = request.messages[-1].content
    assert "Customer: Which IP addresses do you use for the US region?" in prompt
    assert "Assistant: For the US region allow" in prompt
    assert prompt.endswith("Last customer message: What about Europe?")


async def test_a_standalone_question_costs_no_call() -> None:
    provider = ScriptedProvider.from_texts(["unused"])
    question = standalone("How long is run history kept on the Growth plan?", EARLIER)
    assert await ModelRewriter(provider).rewrite(question, EARLIER) == question
    assert provider.requests == []


@pytest.mark.parametrize(
    "step",
    [
        Step(fail_before=ProviderUnavailable("down", provider="scripted")),
        Step(text="Which IP addresses for the EU region?", first_token_delay=2.0),  # too slow
        Step(text="The EU region uses 34.90.12.8."),  # an answer, not the question
        Step(text="   "),
    ],
)
async def test_any_failure_keeps_the_deterministic_pairing(step: Step) -> None:
    provider = ScriptedProvider(steps=[step])
    question = _follow_up()
    rewritten = await ModelRewriter(provider, timeout_seconds=0.3).rewrite(question, EARLIER)
    assert rewritten == question
    assert rewritten.search_text == (
        "Which IP addresses do you use for the US region?\nWhat about Europe?"
    )


def test_clean_rewrite_takes_one_question_line() -> None:
    assert clean_rewrite('Rewritten question: "What does Growth cost per year?"\n') == (
        "What does Growth cost per year?"
    )
    assert clean_rewrite("What does Growth cost per year?\nIt costs $2,990.") == (
        "What does Growth cost per year?"
    )
    assert clean_rewrite("Growth costs $2,990 per year.") is None
    assert clean_rewrite("x" * 400 + "?") is None


def test_long_conversations_send_only_recent_bounded_messages() -> None:
    earlier = [ChatMessage("user", f"question {i} " + "word " * 300) for i in range(10)]
    (system, user) = ModelRewriter(ScriptedProvider()).prompt("And that?", earlier)
    assert system.role == "system"
    assert "question 3 " not in user.content and "question 4 " in user.content
    assert len(user.content) < 6 * 620 + 200


def _service(dialect: str | None, provider: ScriptedProvider, tmp_path: Path) -> ChatService:
    store = SqlMemoryStore.from_url(f"sqlite+aiosqlite:///{tmp_path / 'memory.db'}")
    return ChatService(store=store, provider=provider, bot=make_bot(), serving_dialect=dialect)


@pytest.mark.parametrize(
    ("dialect", "rewrites"),
    [("openai", True), ("anthropic", True), ("gemini", True), ("local", False), (None, False)],
)
def test_only_vendor_endpoints_rewrite(dialect: str | None, rewrites: bool, tmp_path: Path) -> None:
    provider = ScriptedProvider()
    deps = _service(dialect, provider, tmp_path).deps()
    assert (deps.rewriter is not None) is rewrites


async def test_the_service_rewrites_through_the_bots_chain(tmp_path: Path) -> None:
    def responder(request: ChatRequest) -> str:
        assert request.metadata.get("purpose") == "follow_up_rewrite"
        return "What does the Growth plan cost per year?"

    provider = ScriptedProvider(responder=responder)
    rewriter = _service("openai", provider, tmp_path).deps().rewriter
    assert rewriter is not None
    earlier = [ChatMessage("user", "How much does the Growth plan cost per month?")]
    follow_up = standalone("And if I pay for a whole year?", earlier)
    question = await rewriter.rewrite(follow_up, earlier)
    assert question.search_text == "What does the Growth plan cost per year?"
