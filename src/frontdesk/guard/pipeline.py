"""The guard pipeline: builds the configured checks and runs them in order.

Build the heavy, shareable parts once (``GuardServices.load`` in the app's lifespan), then a
``GuardPipeline`` per bot config. Per turn:

    result = await pipeline.run_input(text, context)   # worker thread; never the raw PII out
    if result.action in ("block", "escalate"): ...      # refuse with result.message / hand off
    canary = make_canary(); system_prompt += canary_instruction(canary)  # guard.base
    guard = pipeline.output_guard(GuardContext(..., canary=canary,
                                  user_values=result.user_values, sources=...))
    for delta in stream: sv = guard.feed(delta) ...; final = guard.finish(full_text)
    turn.verdicts = result.records() + [final.verdict.to_record()]
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from frontdesk.guard.base import (  # InputResult lives in base: the chat path imports it cheaply
    ACTION_RANK,
    Action,
    GuardContext,
    Guardrail,
    InputResult,
    PolicyRule,
    Verdict,
)
from frontdesk.guard.config import GuardConfig, PolicyRuleConfig
from frontdesk.guard.grounding import Grounder
from frontdesk.guard.injection import InjectionCheck, InjectionDetector
from frontdesk.guard.injection_model import DOCUMENT_MODEL, LogisticModel, SyncEmbedder
from frontdesk.guard.injection_sources import SourceScreen
from frontdesk.guard.length import LengthCheck
from frontdesk.guard.ner import NerEngine
from frontdesk.guard.output import OutputGuard, OutputOptions, resolve_rules
from frontdesk.guard.pii import PiiCheck


@dataclass(frozen=True, slots=True)
class GuardServices:
    """Loaded models, shared by every pipeline (read-only after loading)."""

    ner: NerEngine | None = None
    embedder: SyncEmbedder | None = None
    classifier: LogisticModel | None = None
    document_classifier: LogisticModel | None = None
    """Scores retrieved passages and documents for hidden instructions."""
    known_term: Callable[[str], bool] | None = None
    """Whether a word belongs to the company's documents (plan and product names)."""

    @classmethod
    def load(
        cls,
        config: GuardConfig,
        *,
        embedder: SyncEmbedder | None = None,
        known_term: Callable[[str], bool] | None = None,
        nlp: Any | None = None,
    ) -> GuardServices:
        """Load what ``config`` needs: spaCy (~0.5 s) and the classifier weights.

        ``embedder`` is the app's shared embedder (the MiniLM one the classifier was
        trained on); without it the injection check runs its rules only. ``nlp``: the
        process's loaded spaCy pipeline (``guard.ner.load_english``), shared with the
        answer composer; loaded here when not given.
        """
        wants_ner = config.input.pii_names and "pii" in config.input.checks
        ner = NerEngine.load(nlp) if wants_ner else None
        classifier = documents = None
        if embedder is not None and config.input.injection_classifier:
            classifier = LogisticModel.load()
            documents = LogisticModel.load(name=DOCUMENT_MODEL)
        return cls(
            ner=ner,
            embedder=embedder,
            classifier=classifier,
            document_classifier=documents,
            known_term=known_term,
        )


class GuardPipeline:
    def __init__(self, config: GuardConfig, services: GuardServices) -> None:
        self._config = config
        self._pii: PiiCheck | None = None
        self._checks: list[Guardrail] = []
        self._screen: SourceScreen | None = None
        cfg = config.input
        for name in cfg.checks:
            if name == "pii":
                self._pii = PiiCheck(
                    ner=services.ner,
                    block_kinds=cfg.pii_block_kinds,
                    known_term=services.known_term,
                )
                self._checks.append(self._pii)
            elif name == "length":
                self._checks.append(LengthCheck(max_chars=cfg.max_chars))
            else:
                detector = InjectionDetector(
                    embedder=services.embedder if services.classifier is not None else None,
                    classifier=services.classifier,
                    threshold=cfg.injection_threshold,
                    document_classifier=services.document_classifier,
                )
                self._checks.append(InjectionCheck(detector, action=cfg.injection_action))
                self._screen = SourceScreen(detector) if config.enabled else None
        out = config.output
        self._grounder = (
            Grounder(
                embedder=services.embedder,
                sentence_threshold=out.sentence_threshold,
                min_answer_words=out.min_answer_words,
            )
            if out.on_ungrounded != "off"
            else None
        )
        self._rules = resolve_rules([_to_rule(r) for r in out.policy_rules])
        self._options = OutputOptions(
            holdback=out.holdback_chars,
            window=out.window_chars,
            on_ungrounded=out.on_ungrounded,
            min_grounding=out.min_grounding,
        )

    @property
    def config(self) -> GuardConfig:
        return self._config

    @property
    def source_screen(self) -> SourceScreen | None:
        """Screens retrieved passages for hidden instructions (with the injection check)."""
        return self._screen

    def run_input_sync(self, text: str, context: GuardContext) -> InputResult:
        if not self._config.enabled:
            return InputResult(text, "allow", "", (), frozenset())
        verdicts: list[Verdict] = []
        values: frozenset[str] = frozenset()
        current = text
        pii_done = False
        for check in self._checks:
            if check is self._pii:
                verdict, scan = self._pii.evaluate(current)
                values, pii_done = scan.values, True
            else:
                verdict = check.check(current, context)
            verdicts.append(verdict)
            current = verdict.text if verdict.action != "block" or check is self._pii else current
            if verdict.action in ("block", "escalate"):
                break
        if self._pii is not None and not pii_done:  # a block never lets raw PII through
            verdict, scan = self._pii.evaluate(current)
            current, values = verdict.text, scan.values
            verdicts.append(verdict)
        action: Action = max(
            (v.action for v in verdicts), key=ACTION_RANK.__getitem__, default="allow"
        )
        messages = [v.message for v in verdicts if v.message]
        if action in ("block", "escalate"):
            messages = [v.message for v in verdicts if v.action == action and v.message]
        return InputResult(current, action, " ".join(messages), tuple(verdicts), values)

    async def run_input(self, text: str, context: GuardContext) -> InputResult:
        """Run the input checks in a worker thread (they are CPU work)."""
        return await asyncio.to_thread(self.run_input_sync, text, context)

    def output_guard(
        self,
        context: GuardContext,
        *,
        extract: Callable[[str, Sequence[str]], str] | None = None,
    ) -> OutputGuard:
        """A fresh streaming guard for one answer; adds the configured phrases and rules."""
        out = self._config.output
        context = replace(
            context,
            blocked_phrases=(*context.blocked_phrases, *out.blocked_phrases),
            policy_rules=(*context.policy_rules, *self._rules),
        )
        return OutputGuard(context, options=self._options, grounder=self._grounder, extract=extract)


def _to_rule(item: str | PolicyRuleConfig) -> str | PolicyRule:
    if isinstance(item, str):
        return item
    return PolicyRule(name=item.name, patterns=tuple(item.patterns), message=item.message)
