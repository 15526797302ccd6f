"""The escalation policy on realistic customer messages, and its false-positive rate
on real banking customer messages (banking77, CC BY 4.0, PolyAI)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from frontdesk.config import Contact
from frontdesk.escalation import phrases
from frontdesk.escalation.policy import (
    AnswerSignals,
    PolicyConfig,
    answer_failed,
    detect_after_answer,
    detect_on_message,
    route,
    team_topics,
)

BANKING77 = Path("/work/shared/datasets/banking77/train.csv")
CONFIG = PolicyConfig()

ASKS_FOR_HUMAN = [
    "I want to talk to a person",
    "Can I speak to a real human please?",
    "agent please",
    "Agent!!",
    "representative",
    "talk to a human",
    "I need a human, this bot is not getting it",
    "connect me to a live agent",
    "Is there a real person I can talk to?",
    "Let me speak with your manager.",
    "can I chat with someone from customer service",
    "I don't want to talk to a bot, I want a human",
    "Could you transfer me to an agent?",
    "get me a representative please",
    "Ich möchte mit einem Mitarbeiter sprechen",
    "Kann ich bitte mit einem echten Menschen reden?",
    "Verbinden Sie mich mit einer Mitarbeiterin",
]

NOT_ASKING = [
    "I don't need to talk to a person, just tell me the price",
    "How do I add a person to my team workspace?",
    "Can someone help me unblock my pin?",
    "My agent key does not work with the CLI",
    "Does the pipeline agent support Kafka?",
    "I sent money to the wrong person",
    "Do I need to speak to a representative to change my pin?",
    "How do I invite a new user?",
    "What is the rate limit of the REST API?",
]


@pytest.mark.parametrize("text", ASKS_FOR_HUMAN)
def test_requests_for_a_person_escalate(text: str) -> None:
    trigger = detect_on_message(text, [], CONFIG)
    assert trigger is not None
    assert trigger.reason == "customer_request"


@pytest.mark.parametrize("text", NOT_ASKING)
def test_ordinary_questions_do_not_escalate(text: str) -> None:
    assert detect_on_message(text, [], CONFIG) is None


def test_asking_for_a_person_can_be_switched_off() -> None:
    config = PolicyConfig(on_customer_request=False)
    assert detect_on_message("I want to talk to a person", [], config) is None


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("I was charged twice for my subscription this month", "billing"),
        ("I want a refund for the annual plan", "refunds"),
        ("I think my account was hacked, there are logins I don't recognise", "security"),
        ("I'd like to report a vulnerability in your API", "security"),
        ("My lawyer will be in touch about this contract", "legal"),
        ("I am filing a GDPR request for all my data", "legal"),
    ],
)
def test_team_topics_escalate_with_their_topic(text: str, topic: str) -> None:
    trigger = detect_on_message(text, [], CONFIG)
    assert trigger is not None
    assert (trigger.reason, trigger.topic) == ("topic", topic)


@pytest.mark.parametrize(
    "text",
    [
        "How do refunds work for annual plans?",
        "Can I get a refund on my annual plan?",
        "What is your refund policy?",
        "How much does the Growth plan cost?",
    ],
)
def test_questions_about_a_topic_are_answered_by_the_bot(text: str) -> None:
    assert detect_on_message(text, [], CONFIG) is None


@pytest.mark.parametrize(
    "text",
    [
        "How quickly do you notify customers about a data breach?",
        "Do you run a bug bounty for vulnerabilities?",
        "What is your policy on phishing e-mails that use your name?",
        "Will you tell us if you get hacked?",
    ],
)
def test_questions_about_security_practice_are_answered_by_the_bot(text: str) -> None:
    assert detect_on_message(text, [], CONFIG) is None


@pytest.mark.parametrize(
    "text",
    [
        "Do you know why our account was compromised?",
        "Were we affected by the breach?",
        "How do I report a vulnerability I found?",
        "Is our API key compromised? Someone posted it online.",
    ],
)
def test_security_incidents_phrased_as_questions_still_escalate(text: str) -> None:
    trigger = detect_on_message(text, [], CONFIG)
    assert trigger is not None
    assert (trigger.reason, trigger.topic) == ("topic", "security")


def test_topics_without_a_team_stay_with_the_bot() -> None:
    contacts = {"billing": Contact(team="Billing team", email="billing@acme.example")}
    topics = team_topics(CONFIG, contacts)
    assert topics == {"billing", "refunds"}  # refunds fall back to the billing contact
    assert detect_on_message("I want a refund", [], CONFIG, topics) is not None
    assert detect_on_message("My account was hacked", [], CONFIG, topics) is None
    assert detect_on_message("I want a refund", [], CONFIG, team_topics(CONFIG, {})) is None


def test_plain_pricing_questions_stay_with_the_bot() -> None:
    assert detect_on_message("How much does the Pro plan cost per month?", [], CONFIG) is None
    assert detect_on_message("Where do I download my invoices?", [], CONFIG) is None


def test_a_person_request_keeps_the_topic_for_routing() -> None:
    trigger = detect_on_message("I was charged twice, let me talk to a person", [], CONFIG)
    assert trigger is not None
    assert (trigger.reason, trigger.topic) == ("customer_request", "billing")


def test_repeating_the_same_message_escalates_on_the_third_time() -> None:
    text = "My pipeline keeps failing with error E42"
    assert detect_on_message(text, [text], CONFIG) is None
    trigger = detect_on_message("my pipeline keeps failing with error E42!", [text, text], CONFIG)
    assert trigger is not None
    assert trigger.reason == "repeated_message"


def test_strongly_negative_wording_escalates() -> None:
    trigger = detect_on_message("This is useless, a complete waste of my time", [], CONFIG)
    assert trigger is not None
    assert trigger.reason == "frustration"


def test_frustration_builds_over_recent_messages() -> None:
    history = ["that didn't work", "I'm getting annoyed, it is still not syncing"]
    assert detect_on_message("still not working, this is ridiculous", history, CONFIG) is not None
    assert detect_on_message("the sync is still not running", [], CONFIG) is None


def test_failed_answers_count_and_escalate() -> None:
    ok = AnswerSignals(status="complete", content="Go to Settings → Billing to see invoices [1].")
    assert answer_failed(ok, CONFIG) is None
    failed = AnswerSignals(status="failed")
    unsure = AnswerSignals(status="complete", content="I couldn't find that in our documentation.")
    assert answer_failed(failed, CONFIG) == "answer failed"
    assert answer_failed(unsure, CONFIG) is not None
    assert detect_after_answer(unsure, 1, CONFIG) is None
    trigger = detect_after_answer(unsure, 2, CONFIG)
    assert trigger is not None
    assert trigger.reason == "repeated_failures"


def test_low_groundedness_and_guard_reason_codes_escalate() -> None:
    low = AnswerSignals(status="complete", content="Refunds take 3 days.", groundedness=0.1)
    trigger = detect_after_answer(low, 1, CONFIG)
    assert trigger is not None
    assert trigger.reason == "low_groundedness"
    guard = AnswerSignals(status="complete", reason_code="guard:injection")
    trigger = detect_after_answer(guard, 0, CONFIG)
    assert trigger is not None
    assert (trigger.reason, trigger.detail) == ("guard", "guard:injection")
    relaxed = PolicyConfig(escalate_on_low_groundedness=False)
    assert detect_after_answer(low, 1, relaxed) is None


def test_routing_uses_the_bot_contacts_with_fallbacks() -> None:
    contacts = {
        "billing": Contact(team="Billing team", email="billing@acme.example"),
        "security": Contact(team="Security team", email="security@acme.example"),
    }
    assert route("security", contacts).email == "security@acme.example"
    refunds = route("refunds", contacts)
    assert (refunds.topic, refunds.contact_key, refunds.team) == (
        "refunds",
        "billing",
        "Billing team",
    )
    legal = route("legal", contacts)
    assert (legal.topic, legal.team) == ("legal", None)
    assert route(None, contacts).team is None


def _banking77() -> list[str]:
    with BANKING77.open(encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f)]


def test_benign_banking_messages_rarely_ask_for_a_person() -> None:
    """10k real customer messages, none of which asks for a person outright."""
    texts = _banking77()
    assert len(texts) > 10_000
    flagged = [t for t in texts if phrases.asks_for_human(t)]
    assert len(flagged) / len(texts) <= 0.002, flagged[:20]


def test_banking_messages_rarely_read_as_frustrated() -> None:
    texts = _banking77()
    flagged = [t for t in texts if detect_on_message(t, [], CONFIG) is not None]
    frustrated = [t for t in flagged if phrases.negativity(t) >= CONFIG.negativity_threshold]
    assert len(frustrated) / len(texts) <= 0.005, frustrated[:20]
