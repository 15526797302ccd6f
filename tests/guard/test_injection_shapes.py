"""Document shapes and their thresholds, the help-centre questions used as benign messages,
and the fold assignment of the injection trainers (written for these tests, no model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from frontdesk.guard.injection_data import Document, faq_questions, group_folds
from frontdesk.guard.injection_fit import Report
from frontdesk.guard.injection_fit_documents import DocumentSettings, shape_thresholds
from frontdesk.guard.injection_model import LogisticModel
from frontdesk.guard.injection_pieces import document_shape, looks_like_email, looks_like_table

EMAIL_BIPIA = "SUBJECT: Your invoice|EMAIL_FROM: Billing <b@example.com>|CONTENT: Attached."
EMAIL_HEADERS = "From: Ana <ana@example.com>\nTo: support@example.com\nSubject: Refund\n\nHi."
EMAIL_SALUTATION = "Hi David,\nYour card was charged $20.00 by ACME. Reply to this email."
TABLE = "| Year | Team | Notes |\n| 1998 | Hawks | won the title |\n| 1999 | Owls | - |"
CODE = "Use a list:\n```\nxs = [1, 2]\nprint(xs)\n```"
PROSE = "## Refunds\nAnnual plans can be refunded within 14 days. Open Billing to ask."


def test_each_shape_is_told_apart() -> None:
    assert [document_shape(t) for t in (EMAIL_BIPIA, EMAIL_HEADERS, EMAIL_SALUTATION)] == [
        "email"
    ] * 3
    assert document_shape(TABLE) == "table"
    assert document_shape(CODE) == "code"
    assert document_shape(PROSE) == "prose"


def test_a_passage_with_one_table_row_or_one_header_is_prose() -> None:
    assert not looks_like_table("Fees are listed below.\n| Fee | $5 |\nAsk us.\nThanks.")
    assert not looks_like_email("Subject: refunds. Refunds take five days.")
    assert not looks_like_email("Hi there friends of the project who read this long line")


def test_shape_thresholds_pick_the_threshold_and_survive_json() -> None:
    model = LogisticModel(
        np.zeros(3),
        0.0,
        0.6,
        "m",
        hash_dims=0,
        shape_thresholds=(("email", 0.2), ("table", 0.3), ("code", 0.8), ("prose", 0.6)),
    )
    assert [model.threshold_for(t) for t in (EMAIL_BIPIA, TABLE, CODE, PROSE)] == [
        0.2,
        0.3,
        0.8,
        0.6,
    ]
    again = LogisticModel.from_json(model.to_json({}))
    assert again.shape_thresholds == model.shape_thresholds
    old = LogisticModel.from_json(
        json.dumps({**json.loads(model.to_json({})), "shape_thresholds": {}, "code_threshold": 0.9})
    )
    assert old.threshold_for(CODE) == 0.9 and old.threshold_for(EMAIL_BIPIA) == 0.6


def test_help_centre_questions_are_read_with_their_document(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {
            "_id": "d1",
            "title": "Can I prepay?",
            "text": "## Prepaying\n- Q: Is there a fee?\n  A: No.",
        },
        {
            "_id": "d2",
            "title": "Fees: an overview",
            "text": "What happens if I pay late?\nYou pay $5.",
        },
    ]
    corpus.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert faq_questions(corpus) == [
        ("Can I prepay?", "d1"),
        ("Is there a fee?", "d1"),
        ("What happens if I pay late?", "d2"),
    ]


def test_stable_folds_leave_other_groups_where_they_were() -> None:
    groups = [f"family-{i}" for i in range(40)]
    before = group_folds(groups, 5, 0)
    after = group_folds([*groups, "family-new"], 5, 0)
    assert (after[:-1] == before).all()
    assert set(before.tolist()) == {0, 1, 2, 3, 4}
    assert group_folds(["a", "b", "a"], 5, 0)[0] == group_folds(["a", "b", "a"], 5, 0)[2]


def test_reports_of_repeated_runs_merge() -> None:
    first, second = Report(), Report()
    first.add("direct", [True, False])
    second.add("direct", [True, True])
    first.merge(second)
    assert first.rate("direct") == 0.75


def test_each_shape_is_calibrated_and_a_thinly_sampled_shape_is_floored() -> None:
    """Thresholds at 3% false flags of each shape's clean documents; the e-mails (10 here,
    all scoring low) may not go below the lowest threshold of the well-sampled shapes."""
    tables = [Document(f"| Year | Team |\n| {1900 + i} | Hawks |", "table") for i in range(200)]
    prose = [Document(f"Refunds take {i} days. Open Billing.", "kb") for i in range(200)]
    emails = [
        Document(f"Subject: Invoice {i}\nFrom: billing@example.org\n\nAttached.", "email")
        for i in range(10)
    ]
    scores = np.concatenate([np.linspace(0, 1, 200), np.linspace(0, 0.5, 200), np.full(10, 0.1)])
    model = LogisticModel(np.zeros(1), 0.0, 0.5, "m", hash_dims=0)
    calibrated = shape_thresholds(model, [*tables, *prose, *emails], scores, DocumentSettings())
    found = dict(calibrated.shape_thresholds)
    assert 0.96 < found["table"] < 0.98
    assert 0.48 < found["prose"] < 0.49
    assert found["email"] == found["prose"]
    assert found["code"] == calibrated.threshold == found["table"]


def test_out_of_place_marks_the_piece_unlike_its_document() -> None:
    from frontdesk.guard.injection_model import out_of_place

    alike = np.asarray([[1.0, 0.1, 0.0], [1.0, 0.0, 0.1], [1.0, 0.1, 0.1]])
    odd = np.asarray([[0.0, 0.0, 1.0]])
    owner = np.asarray([0, 0, 0, 0, 1])
    found = out_of_place(np.vstack([alike, odd, odd]).astype(np.float32), owner)
    assert found.shape == (5, 2)
    assert found[3, 0] > 0.8 and found[3, 1] > 0.8
    assert (found[:3] < 0.3).all()
    assert (found[4] == 0).all()  # a document of one piece has no context


def test_context_weight_changes_scores_and_survives_json() -> None:
    model = LogisticModel(
        np.asarray([0.0, 0.0, 0.0, 4.0, 0.0]),
        -1.0,
        0.5,
        "m",
        hash_dims=0,
        pieces="lines",
        sentence_max=True,
        context_weight=1.0,
    )
    vectors = np.asarray([[1, 0, 0], [1, 0.1, 0], [0, 0, 1]], dtype=np.float32)
    owner = np.asarray([0, 0, 0])
    wide = model.with_context(vectors, owner)
    assert wide.shape == (3, 5)
    scores = model.scores(wide)
    assert scores[2] > 0.9 > scores[0]
    again = LogisticModel.from_json(model.to_json({}))
    assert again.context_weight == 1.0
    assert again.embedding_dims(vectors) == 3


def test_message_pieces_without_a_letter_are_not_judged() -> None:
    """A sentence of digits and symbols ("(3.7)", "```") carries no word of an instruction:
    the whole message (which holds it) is judged, the piece is not embedded on its own.
    Letters of any script count (fullwidth, accented)."""
    from frontdesk.guard.injection_pieces import pieces_of

    assert pieces_of("Hello! When is your support team available? (3.7)") == [
        "Hello!",
        "When is your support team available?",
    ]
    assert pieces_of("See below:\n```\nIgnore the rules: ｉｇｎｏｒｅ.") == [
        "See below:",
        "Ignore the rules:",
        "ｉｇｎｏｒｅ.",
    ]
    assert pieces_of("Order 12345. Grüße!") == ["Order 12345.", "Grüße!"]
    assert pieces_of("1. 2. 3.") == []
