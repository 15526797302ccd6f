"""Escalation to people: policy, hand-off state machine, live events and sinks."""

from frontdesk.escalation.build import Escalation, build_escalation
from frontdesk.escalation.policy import AnswerSignals, PolicyConfig, Trigger
from frontdesk.escalation.service import Decision, EscalationService
from frontdesk.escalation.settings import EscalationSettings

__all__ = [
    "AnswerSignals",
    "Decision",
    "Escalation",
    "EscalationService",
    "EscalationSettings",
    "PolicyConfig",
    "Trigger",
    "build_escalation",
]
