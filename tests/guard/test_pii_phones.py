"""Phone numbers of many countries, and digit runs that are not phone numbers."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from frontdesk.guard.pii import PiiCheck
from frontdesk.guard.pii_patterns import Span, find_phones, resolve_overlaps


def _found(text: str, number: str) -> bool:
    start = text.index(number)
    end = start + len(number)
    return any(s.start <= start + 1 and s.end >= end - 1 for s in find_phones(text))


def test_example_numbers_of_every_country_are_found() -> None:
    """libphonenumber's example mobile and fixed-line number of every region, written the
    national, international and E.164 way, inside a sentence. Numbers shorter than 7 digits
    (small islands' national formats) are out of reach without a cue; the rest must be found."""
    total = hits = 0
    missed = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for fmt in (
                PhoneNumberFormat.NATIONAL,
                PhoneNumberFormat.INTERNATIONAL,
                PhoneNumberFormat.E164,
            ):
                number = phonenumbers.format_number(example, fmt)
                if sum(ch.isdigit() for ch in number) < 7:
                    continue
                text = f"You can reach me at {number}, thanks"
                total += 1
                if _found(text, number):
                    hits += 1
                else:
                    missed.append(number)
    assert total > 1000
    assert hits / total >= 0.97, missed[:40]


@pytest.mark.parametrize(
    "number",
    [
        "+44(0)20 7946 0958",
        "030/1234567",
        "+1 (555) 123-4567",
        "555.123.4567",
        "06 12 34 56 78",
        "(11) 91234-5678",
        "8 (800) 555-35-35",
        "+7 (495) 123-45-67",
        "090-1234-5678",
        "+86 138 0013 8000",
        "+91 98765 43210",
        "0412 345 678",
        "+234 803 123 4567",
        "+971501234567",
        "+1-202-555-0143 x1234",
        "0688 872 49 99",
        "+46 (0)8 928 571 38",
        "6 71 23 45 67",
    ],
)
def test_national_and_international_formats(number: str) -> None:
    for text in (f"call me on {number} please", number, f"I changed it to {number} yesterday"):
        assert _found(text, number), text


@pytest.mark.parametrize(
    "text",
    [
        "I paid 1 250 000 EUR",
        "it costs $1 299 999",
        "order 1234 5678 arrived",
        "between 2019 and 2021 I paid 300 400 times",
        "on 12.05.2023 at 14:30",
        "version 10.2.3.4 of the app",
        "reference 2020-123456",
        "+45 12 34 56",  # too short for Denmark
        "Your card 4111 1111 1111 1111 is active.",  # a card: no phone inside it
        "account 1234 5678 9012 3456 7890",
        "IBAN DE89 3704 0044 0532 0130 00",  # an IBAN: no phone inside it
    ],
)
def test_amounts_dates_and_references_are_not_phones(text: str) -> None:
    assert find_phones(text) == []


def test_a_postcode_run_into_a_number_is_left_out() -> None:
    text = "Apt. 236 Ribeirão Portugal 30971 21 253 109 8200"
    assert [text[s.start : s.end] for s in find_phones(text)] == ["21 253 109 8200"]


def test_a_trailing_group_is_dropped_from_an_international_number() -> None:
    text = "call +1-984-182-0190 416 thanks"
    assert [text[s.start : s.end] for s in find_phones(text)] == ["+1-984-182-0190"]


def test_an_address_ends_where_a_phone_number_begins() -> None:
    spans = resolve_overlaps(
        [Span("ADDRESS", 0, 40, 0.6, "address"), Span("PHONE", 25, 40, 0.8, "phone-intl")]
    )
    assert [(s.kind, s.start, s.end) for s in spans] == [("ADDRESS", 0, 25), ("PHONE", 25, 40)]


def test_phone_redacted_without_the_name_engine() -> None:
    out = PiiCheck().scan("Please ring +48 512 345 678 after six").redacted
    assert out == "Please ring [PHONE] after six"
