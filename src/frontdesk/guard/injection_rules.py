"""Rule layer of the prompt-injection detector (English and German).

Rules are specific phrasings that benign support messages do not use. Encoded payloads
(base64, hex, rot13) are decoded and the rules run again on the decoded text.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule: str
    start: int
    end: int
    encoded: str = ""


_I = re.IGNORECASE
RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "ignore_previous",
        re.compile(
            r"\b(ignore|disregard|forget|skip|override|bypass|drop)\b[^.!?\n]{0,40}?\b(all\s+)?"
            r"(previous|prior|above|earlier|preceding|former|initial|original|your|the|these|those)"
            r"\s+(\w+\s+){0,2}(instructions?|prompts?|rules?|directions?|guidelines?|tasks?"
            r"|assignments?|orders?|commands?|context|programming|restrictions?|constraints?)",
            _I,
        ),
    ),
    (
        "ignore_previous_de",
        re.compile(
            r"\b(ignorier\w*|vergiss|vergesse\w*|missachte\w*|überspring\w*)\b[^.!?\n]{0,50}?"
            r"\b(anweisung\w*|instruktion\w*|aufgabe\w*|befehl\w*|regeln|vorgaben|auftr[äa]g\w*"
            r"|alles|bisherige\w*|vorherige\w*|obige\w*)",
            _I,
        ),
    ),
    (
        "new_instructions",
        re.compile(
            r"\b(new|neue)\s+(instructions?|task|aufgabe|anweisung\w*|rules?)\s*(:|follow|are|is|lautet)"
            r"|\bnow\s+(focus on|you (are|will|must)|act as|your (new )?task)"
            r"|\bjetzt\s+(bist du|konzentriere|fokussiere|sollst du)"
            r"|\b(from now on|ab (jetzt|sofort|nun))\b",
            _I,
        ),
    ),
    (
        "role_play",
        re.compile(
            r"\b(pretend|imagine|act|behave|roleplay|role-play)\b[^.!?\n]{0,30}?"
            r"\b(you are|you're|as if|as an?|to be)\b[^.!?\n]{0,60}?"
            r"\b(no|without|unfiltered|uncensored|evil|unrestricted"
            r"|jailbr\w*|any (rules|restrictions|limits))\b"
            r"|\b(you are|you're) (now )?(dan|an? unfiltered|an? uncensored|an? evil"
            r"|jailbroken|free from)\b|\bdo anything now\b|\bdeveloper mode\b|\bjailbreak\w*"
            r"|\bstell dir vor,? du (bist|wärst)|\bdu bist (jetzt|nun|ab jetzt)\b",
            _I,
        ),
    ),
    (
        "prompt_extraction",
        re.compile(
            r"\b(show|print|reveal|tell|give|repeat|output|display|write|list|what (is|are|was))\b"
            r"[^.!?\n]{0,30}?\b(your|all (of )?your|deine[nrs]?"
            r"|the (initial|system|hidden|original))\s+"
            r"(\w+\s+)?(system\s+)?"
            r"(prompts?|instructions?|initial prompt|prompt ?texte?|rules|anweisungen|vorgaben"
            r"|configuration|guidelines|secret)\b"
            r"|\b(system prompt|systemprompt|initial instructions|above instructions"
            r"|hidden prompt)",
            _I,
        ),
    ),
    (
        "prompt_extraction_de",
        re.compile(
            r"\b(zeig\w*|gib|nenne?|verrat\w*|wiederhole|ausgeben|schreib\w*)\b[^.!?\n]{0,30}?"
            r"\b(deine[nrs]?|die|alle)\s+(\w+\s+)?(prompts?|prompt-?texte?|anweisungen|instruktionen"
            r"|vorgaben|regeln)\b",
            _I,
        ),
    ),
    (
        "forget_everything",
        re.compile(
            r"\b(forget|vergiss|vergesst|oubliez|oublie|zaboravi|olvida)\s+(about\s+)?"
            r"(everything|all|alles|toutes?|tout|sve|todo)\b"
            r"|\babweichend (zu|von) (den )?(vorherigen|bisherigen|obigen)",
            _I,
        ),
    ),
    (
        "act_as_tool",
        re.compile(
            r"\b(i want you to act as|ich möchte,? dass (du|sie) als|act as an? [\w -]{0,20}"
            r"(interpreter|terminal|console|shell))\b|\bals [\w-]{0,20}(terminal|interpreter)"
            r"\s+(fungier|agier)\w*|\b(antworte|answer|respond|reply)\w* (im|in the) (stil|style)"
            r"|\bmake (something|stuff) up\b|\binformation in the prompt\b",
            _I,
        ),
    ),
    (
        "stop_override",
        re.compile(
            r"\b(attention|achtung|stop|stopp|halt)\b\s*[-!:,]+\s*(stop|stopp|halt|now|jetzt"
            r"|new|neue|ignore|vergiss|write|say|sag|schreib\w*)\b",
            _I,
        ),
    ),
    (
        "say_exactly",
        re.compile(
            r"\b(say|write|print|output|respond with|answer with|sag|schreib\w*|antworte mit)\b"
            r"[^.!?\n]{0,20}?\b(only|exactly|nothing but|nur|genau)\b[^.!?\n]{0,40}?[\"'“„]",
            _I,
        ),
    ),
    (
        "delimiter_injection",
        re.compile(
            r"(<\|im_start\|>|<\|system\|>|\[/?INST\]|<<SYS>>|^\s*(system|assistant)\s*:|###\s*"
            r"(system|instruction))",
            _I | re.MULTILINE,
        ),
    ),
)

_B64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_HEX = re.compile(r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{2}[\s:]?){8,}(?![0-9a-fA-F])")
_ROT13_CUE = re.compile(r"\brot-?13\b|\bcaesar\b", _I)

_STYLED_RUNS = (
    (0x1F150, 0x1F169, ord("A")),  # negative circled A-Z (no compatibility decomposition)
    (0x1F170, 0x1F189, ord("A")),  # negative squared A-Z (none either)
    (0x249C, 0x24B5, ord("a")),  # parenthesized a-z (NFKC gives "(a)")
)
_STYLED = {
    code: chr(base + code - start)
    for start, end, base in _STYLED_RUNS
    for code in range(start, end + 1)
}


def unstyled(text: str) -> str | None:
    """``text`` with letters written in other letter forms (circled ⓘⓖⓝ, squared 🅸🅶🅽,
    fullwidth, mathematical bold and the like) folded to plain ones, or None when there are
    none: the rules are written for plain letters, and these forms read the same to a model."""
    if text.isascii():
        return None
    folded = unicodedata.normalize("NFKC", text.translate(_STYLED))
    return folded if folded != text else None


def match_rules(text: str) -> list[RuleHit]:
    hits = []
    for name, pattern in RULES:
        m = pattern.search(text)
        if m:
            hits.append(RuleHit(name, m.start(), m.end()))
    return hits


def _printable(raw: bytes) -> str | None:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not decoded or sum(ch.isprintable() or ch.isspace() for ch in decoded) < 0.9 * len(decoded):
        return None
    return decoded


def decoded_payloads(text: str) -> list[tuple[str, int, int, str]]:
    """Candidate decodings ``(encoding, start, end, decoded)`` of encoded runs in ``text``."""
    out: list[tuple[str, int, int, str]] = []
    for m in _B64.finditer(text):
        chunk = m.group()
        try:
            raw = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        decoded = _printable(raw)
        if decoded:
            out.append(("base64", m.start(), m.end(), decoded))
    for m in _HEX.finditer(text):
        try:
            raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group()))
        except ValueError:
            continue
        decoded = _printable(raw)
        if decoded:
            out.append(("hex", m.start(), m.end(), decoded))
    if _ROT13_CUE.search(text):
        out.append(("rot13", 0, len(text), codecs.decode(text, "rot13")))
    plain = unstyled(text)
    if plain is not None:
        out.append(("styled", 0, len(text), plain))
    return out


def detect(text: str) -> list[RuleHit]:
    """Rule hits on the text and on any decodable payload inside it."""
    hits = match_rules(text)
    for encoding, start, end, decoded in decoded_payloads(text):
        hits += [RuleHit(h.rule, start, end, encoding) for h in match_rules(decoded)]
    return hits
