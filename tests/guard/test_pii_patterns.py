"""Pattern detectors: checksums, secret formats, placeholders, and audit records without data."""

from __future__ import annotations

import pytest

from frontdesk.guard.base import GuardContext
from frontdesk.guard.pii import PiiCheck, customer_message
from frontdesk.guard.pii_patterns import find_cards, find_ibans, find_phones, iban_ok, luhn_ok

CTX = GuardContext()


def redact(text: str) -> str:
    return PiiCheck().check(text, CTX).text


def test_luhn_and_iban_checksums() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert iban_ok("DE89370400440532013000")
    assert iban_ok("GB82WEST12345698765432")
    assert not iban_ok("DE89370400440532013001")


@pytest.mark.parametrize(
    "text",
    [
        "my card is 4111 1111 1111 1111 thanks",
        "card: 4111-1111-1111-1111",
        "4111111111111111",
        "amex 378282246310005 please",
    ],
)
def test_valid_cards_are_redacted(text: str) -> None:
    out = redact(text)
    assert "[CARD]" in out
    assert "1111" not in out and "8282" not in out


def test_luhn_invalid_numbers_are_not_cards() -> None:
    assert find_cards("order 4111 1111 1111 1112 shipped") == []
    assert find_cards("tracking 0000000000000000") == []


def test_ssn_iban_email_phone() -> None:
    out = redact(
        "SSN 123-45-6789, IBAN DE89 3704 0044 0532 0130 00, mail jane.doe@example.org, "
        "call +1 415-555-0132"
    )
    assert out == "SSN [SSN], IBAN [IBAN], mail [EMAIL], call [PHONE]"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Fax: 9498777106", "9498777106"),
        ("Desk: +1-903-140-4508x769", "+1-903-140-4508x769"),
        ("They're not answering at 99 668472", "99 668472"),
        ("Office 020 7946 0958 ext. 214", "020 7946 0958 ext. 214"),
        ("call me on (64) 3591-3246 tomorrow", "(64) 3591-3246"),
    ],
)
def test_labelled_and_extension_phone_numbers(text: str, number: str) -> None:
    found = {text[s.start : s.end] for s in find_phones(text)}
    assert number in found, found


@pytest.mark.parametrize(
    "text",
    ["my driver's license number is 2270-66-1551", "My zip code is 90010-170"],
)
def test_identifiers_in_other_context_are_not_phones(text: str) -> None:
    assert find_phones(text) == []


def test_iban_with_bad_checksum_is_kept() -> None:
    assert find_ibans("DE89 3704 0044 0532 0130 01") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my password is hunter2!", "my password is [PASSWORD]"),
        ("Passwort: Geheim123", "Passwort: [PASSWORD]"),
        ("key sk-proj-abcdefghijklmnopqrstuvwxyz0123", "key [API_KEY]"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "token [API_KEY]"),
        ("AKIAIOSFODNN7EXAMPLE is my aws key", "[API_KEY] is my aws key"),
        ("slack xoxb-1234567890-abcdefghij", "slack [API_KEY]"),
        (
            "Authorization: Bearer abcdefghijklmnop0123456789",
            "Authorization: Bearer [API_KEY]",
        ),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9",
            "jwt [API_KEY]",
        ),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- there",
            "[PRIVATE_KEY] there",
        ),
    ],
)
def test_secrets(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_secret_needles_never_skip_a_match() -> None:
    """find_secrets skips a pattern when its literal text is absent: on every example of
    every secret kind, embedded in text and in other cases (and non-ASCII text, where the
    case-insensitive patterns always run), it finds what running every pattern finds."""
    import itertools
    import random

    from frontdesk.guard import pii_patterns as pp

    def every_pattern(text: str) -> list[pp.Span]:
        spans = []
        for kind, pattern, _needles in pp._SECRET_PATTERNS:
            group = "value" if "value" in pattern.groupindex else 0
            spans += [
                pp.Span(kind, m.start(group), m.end(group), 1.0, "secret")
                for m in pattern.finditer(text)
            ]
        return spans

    secrets = [
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
        "sk-abcdefghijklmnopqrstuvwx",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "ghs_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_" + "a1" * 21,
        "glpat-abcdefghijklmnopqrstu",
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAIOSFODNN7EXAMPLE",
        "AIza" + "b" * 35,
        "xoxb-1234567890-abcdefghij",
        "sk_live_abcdefghijklmnop12",
        "pk_test_abcdefghijklmnop12",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9",
        "Authorization: Bearer abcdefghijklmnop0123456789",
        "BEARER abcdefghijklmnop0123456789",
        "api key is abcdefghijklmnop0123",
        "API_KEY=abcdefghijklmnop0123",
        "Token: abcdefghijklmnop0123",
        "SECRET = abcdefghijklmnop0123",
        "access-key: abcdefghijklmnop0123",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\nMIIEow",
        "ſecret: abcdefghijklmnop0123",
        "Bearer abcdefghijklmnop0123456789 naïve",
    ]
    fillers = ["", "Your key: ", "here it is ", "Grüße, ", "(", "\n", "The 14-day refund. "]
    rng = random.Random(5)
    texts = [f + s + g for s, f, g in itertools.product(secrets, fillers, fillers)]
    texts += [" ".join(rng.sample(secrets, 3)) for _ in range(200)]
    texts += [t.swapcase() for t in texts[:400]] + ["", "no secrets here at all", "ﬁle ſk-"]
    found = 0
    for text in texts:
        want = every_pattern(text)
        assert pp.find_secrets(text) == want, text
        found += bool(want)
    assert found > len(texts) // 2


@pytest.mark.parametrize(
    "text",
    [
        "I paid 25.50 EUR on 2024-03-01 for 3 items",
        "Why was I charged an extra 1% fee?",
        "My top-up of 100 pounds failed twice",
        "version 1.2.3 of the app",
    ],
)
def test_ordinary_messages_are_untouched(text: str) -> None:
    verdict = PiiCheck().check(text, CTX)
    assert verdict.action == "allow"
    assert verdict.text == text


def test_verdict_records_type_and_position_but_never_the_data() -> None:
    text = "card 4111 1111 1111 1111 and password is s3cretpass"
    verdict = PiiCheck().check(text, CTX)
    assert verdict.action == "redact"
    assert verdict.reason == "pii_redacted"
    record = verdict.to_record()
    assert {f["kind"] for f in record["findings"]} == {"CARD", "PASSWORD"}
    card = next(f for f in record["findings"] if f["kind"] == "CARD")
    assert text[card["start"] : card["end"]] == "4111 1111 1111 1111"
    flat = repr(record)
    assert "4111" not in flat and "s3cretpass" not in flat
    assert "password" in verdict.message and "card number" in verdict.message


def test_block_kinds_block_but_still_redact() -> None:
    verdict = PiiCheck(block_kinds=["CARD"]).check("card 4111111111111111", CTX)
    assert verdict.action == "block"
    assert verdict.text == "card [CARD]"


def test_customer_message_lists_kinds() -> None:
    assert customer_message([]) == ""
    msg = customer_message(["EMAIL", "PHONE"])
    assert "an email address and a phone number" in msg


def test_unknown_detector_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown PII detectors"):
        PiiCheck(detectors=["nope"])
