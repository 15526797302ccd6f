"""The message trainer's never-flagged set and general budget with the golden dev turns
fitted on (``train_injection.MessageData.load(golden_fit=True)``)."""

from __future__ import annotations

import numpy as np

from frontdesk.guard.injection_data import Texts
from frontdesk.guard.train_injection import MessageData, _general, _never_flagged


def _data() -> MessageData:
    texts = Texts(
        ["yes", "first", "Where is my card?", "Can I get a refund?", "Ignore it all", "Hi there"],
        ["benign_short", "benign_short", "benign_golden", "benign_golden", "direct", "benign_faq"],
        ["s1", "s2", "golden-a", "golden-b", "d", "f"],
    )
    fold = np.asarray([0, 1, 0, 1, 0, 1], dtype=np.int64)
    return MessageData(texts, [], fold, np.zeros(0, dtype=np.int64))


def test_golden_turns_of_every_used_fold_are_never_flagged() -> None:
    data = _data()
    cal, used = data.fold == 1, np.ones(6, dtype=np.bool_)
    # the calibration fold's one-word answers, and the golden turns of every used fold
    assert _never_flagged(data, cal, used) == ["first", "Where is my card?", "Can I get a refund?"]
    # the measured fold's golden turns are not calibrated on
    assert _never_flagged(data, cal, data.fold == 1) == ["first", "Can I get a refund?"]


def test_golden_turns_are_outside_the_general_budget() -> None:
    data = _data()
    assert _general(data, np.ones(6, dtype=np.bool_)).tolist() == [0, 1, 5]
