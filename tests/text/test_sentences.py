"""Sentence segmentation: never inside numbers, versions, e-mails, URLs or abbreviations;
Markdown list items, steps and table rows stay whole."""

from __future__ import annotations

import pytest

from frontdesk.text.sentences import SentenceSplitter, split_sentences


@pytest.fixture(scope="module")
def splitter() -> SentenceSplitter:
    return SentenceSplitter.load()


def _sents(splitter: SentenceSplitter, text: str) -> list[str]:
    return splitter.sentences(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "If you sync more rows than your plan includes, additional rows are billed at $1.50 "
            "per million on Starter and $1.00 per million on Growth. Pipelines are never stopped.",
            [
                "If you sync more rows than your plan includes, additional rows are billed at "
                "$1.50 per million on Starter and $1.00 per million on Growth.",
                "Pipelines are never stopped.",
            ],
        ),
        (
            "It adds a 99.9% uptime SLA. Credits are 10% of the fee.",
            ["It adds a 99.9% uptime SLA.", "Credits are 10% of the fee."],
        ),
        (
            "Email support@northwinddata.example from your address. Include the run ID.",
            ["Email support@northwinddata.example from your address.", "Include the run ID."],
        ),
        (
            "See https://docs.northwinddata.example/api/v2.1/limits. Then retry.",
            ["See https://docs.northwinddata.example/api/v2.1/limits.", "Then retry."],
        ),
        (
            "Version v2.1 removed the old API. Upgrade soon.",
            ["Version v2.1 removed the old API.", "Upgrade soon."],
        ),
        (
            "Connect a source, e.g. Snowflake or PostgreSQL. Then add a schedule.",
            ["Connect a source, e.g. Snowflake or PostgreSQL.", "Then add a schedule."],
        ),
        (
            "Runs take approx. 5 minutes. Larger ones take longer.",
            ["Runs take approx. 5 minutes.", "Larger ones take longer."],
        ),
        (
            "Requests per min. are capped at 600. Bursts are allowed.",
            ["Requests per min. are capped at 600.", "Bursts are allowed."],
        ),
        (
            "Logs, metrics, etc. are kept for 30 days. Exports are kept longer.",
            ["Logs, metrics, etc. are kept for 30 days.", "Exports are kept longer."],
        ),
        (
            "The limit (`https://api.example/v2`) is per workspace. Ask us to raise it.",
            ["The limit (`https://api.example/v2`) is per workspace.", "Ask us to raise it."],
        ),
        (
            "Write to security@northwinddata.example. For billing, write to "
            "billing@northwinddata.example.",
            [
                "Write to security@northwinddata.example.",
                "For billing, write to billing@northwinddata.example.",
            ],
        ),
        (
            "See invoice No. 5 for details. The answer is no. We do not refund setup fees.",
            [
                "See invoice No. 5 for details.",
                "The answer is no.",
                "We do not refund setup fees.",
            ],
        ),
        (
            "Schedules run every 5 min. Larger plans run faster.",
            ["Schedules run every 5 min.", "Larger plans run faster."],
        ),
    ],
)
def test_never_splits_inside_a_fact(
    splitter: SentenceSplitter, text: str, expected: list[str]
) -> None:
    assert _sents(splitter, text) == expected


def test_markdown_units(splitter: SentenceSplitter) -> None:
    text = (
        "# Reset your password\n"
        "\n"
        "To reset it:\n"
        "1. Open the sign-in page. Click Forgot password.\n"
        "2. Enter your e-mail.\n"
        "   The link expires in 1 hour.\n"
        "3. Choose a new password.\n"
        "\n"
        "| Plan | Price |\n"
        "|------|-------|\n"
        "| Growth | $299 |\n"
        "\n"
        "- Starter: $49\n"
        "- Growth: $299\n"
        "That is all. Thanks.\n"
    )
    assert _sents(splitter, text) == [
        "# Reset your password",
        "To reset it:",
        "1. Open the sign-in page. Click Forgot password.",
        "2. Enter your e-mail.\n   The link expires in 1 hour.",
        "3. Choose a new password.",
        "| Plan | Price |",
        "| Growth | $299 |",
        "- Starter: $49",
        "- Growth: $299",
        "That is all.",
        "Thanks.",
    ]


def test_spans_index_the_original_text(splitter: SentenceSplitter) -> None:
    text = "  First one costs $1.50.\n\nSecond one\nwraps a line.  "
    spans = splitter.spans(text)
    assert [text[a:b] for a, b in spans] == ["First one costs $1.50.", "Second one\nwraps a line."]
    assert all(text[a] != " " and text[b - 1] != " " for a, b in spans)


def test_empty_and_blank(splitter: SentenceSplitter) -> None:
    assert splitter.spans("") == []
    assert splitter.spans(" \n\n \t") == []


def test_module_function_uses_a_shared_splitter() -> None:
    text = "Billed at $1.00 per million. Uptime is 99.9%."
    assert split_sentences(text) == [(0, 28), (29, 45)]
