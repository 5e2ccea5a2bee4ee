"""PII redaction: typed placeholders for what pattern recognisers can find without a language model.

    >>> redact("mail jo@example.com or call +44 20 7946 0958")
    ('mail <EMAIL> or call <PHONE>', {'EMAIL': 1, 'PHONE': 1})

Recognisers are Presidio's (presidio-analyzer), built into our own list and called directly:
`AnalyzerEngine()` would load its default spaCy NLP engine, which tries to download a model and
exits offline (presidio#1447). Presidio's e-mail recogniser checks the domain with tldextract,
whose default extractor fetches the public-suffix list online and hangs without network
(presidio#1205); ours uses the suffix list bundled with tldextract (`suffix_list_urls=()`, no
cache writes), so nothing here touches the network.

Found: e-mail, phone (phonenumbers, several regions and international format), payment card
(Luhn-checked), IBAN (mod-97 checked), IPv4/IPv6, URLs with credentials (user:pass@host), and
national ids (US SSN, UK NINO, Canadian SIN, Spanish NIF, Italian fiscal code, Finnish personal
code, Singapore NRIC/FIN, Korean RRN; checksummed where the
format has one). Not found: names, street addresses and other free-form PII, which need a
language model (docs/privacy.md).
"""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from featureship.errors import MissingExtraError

KINDS = ("EMAIL", "PHONE", "CARD", "IBAN", "IP", "URL", "NATIONAL_ID")
PLACEHOLDERS = {kind: f"<{kind}>" for kind in KINDS}
# When spans overlap, the more specific kind wins (a phone matcher also sees the digits of a
# card or an IBAN; an e-mail pattern sees the user@host inside a URL with credentials).
_PRIORITY = {"URL": 0, "EMAIL": 1, "IBAN": 2, "CARD": 3, "NATIONAL_ID": 4, "IP": 5, "PHONE": 6}
# Pattern results below this score are the recognisers' "very weak" guesses (any 9 digits as
# an SSN, ...); checksummed matches score 1.0.
MIN_SCORE = 0.5
# scheme://user:password@host... — Presidio's URL recogniser has no pattern for the userinfo
# part, so this one is ours (run through Presidio's PatternRecognizer).
_CREDENTIAL_URL = r"(?i)\b[a-z][a-z0-9+.\-]{1,15}://[^\s:/@]+:[^\s/@]+@[^\s/?#<>\"']+[^\s<>\"']*"
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IE", "NL", "ES", "IT", "IN", "CA", "AU")
# phonenumbers' VALID leniency also accepts digit runs shaped like dates and the tails of ids
# ("ORD-2024-123889", "05.08.2015", "37-29-39"); these shapes are refused by hand.
_DATE_SHAPE = re.compile(r"^\(?\d{1,4}\)?[./\- ]\d{1,2}[./\- ]\d{2,4}$")
_MIN_NATIONAL_DIGITS = 9  # national formats of the regions above have 9+ digits with their 0/area


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int


class PiiRedactor:
    """Finds PII spans in text and replaces them with `<KIND>` placeholders; thread-safe."""

    def __init__(self) -> None:
        self._recognizers = _build_recognizers()
        self._lock = threading.Lock()  # phonenumbers/presidio keep no shared state, but be safe

    def find(self, text: str) -> list[Span]:
        """Non-overlapping PII spans in `text`, in reading order."""
        found: list[tuple[int, int, Span]] = []
        for kind, recognizer, entities in self._recognizers:
            for result in recognizer.analyze(text, entities, None):
                if kind == "PHONE" and not _plausible_phone(text, result.start, result.end):
                    continue
                if kind in ("NATIONAL_ID", "CARD") and _inside_token(text, result.start, result.end):
                    continue
                if result.score >= MIN_SCORE or kind == "PHONE":
                    span = Span(kind, result.start, result.end)
                    found.append((_PRIORITY[kind], -(span.end - span.start), span))
        chosen: list[Span] = []
        for *_, span in sorted(found, key=lambda f: (f[0], f[1], f[2].start)):
            if all(span.end <= other.start or span.start >= other.end for other in chosen):
                chosen.append(span)
        return sorted(chosen, key=lambda s: s.start)

    def redact(self, text: str) -> tuple[str, Counter[str]]:
        """`text` with every span found replaced by its placeholder, and counts per kind."""
        counts: Counter[str] = Counter()
        if not text or not any(ch.isdigit() or ch in "@:" for ch in text):
            return text, counts  # every kind we find has a digit, an '@' or a ':' in it
        pieces, last = [], 0
        for span in self.find(text):
            pieces += [text[last:span.start], PLACEHOLDERS[span.kind]]
            counts[span.kind] += 1
            last = span.end
        pieces.append(text[last:])
        return "".join(pieces), counts

    def redact_many(self, texts: Iterable[str]) -> tuple[list[str], dict[str, int]]:
        """Redact each text; the counts are summed over all of them (every kind listed)."""
        total: Counter[str] = Counter({kind: 0 for kind in KINDS})
        out = []
        for text in texts:
            clean, counts = self.redact(text)
            out.append(clean)
            total.update(counts)
        return out, {kind: int(total[kind]) for kind in KINDS}


@functools.cache
def default_redactor() -> PiiRedactor:
    """One redactor per process (building the recognisers imports presidio, ~seconds)."""
    return PiiRedactor()


def redact(text: str) -> tuple[str, dict[str, int]]:
    """One text redacted, with the counts of what was replaced (only kinds found)."""
    clean, counts = default_redactor().redact(text)
    return clean, dict(counts)


def redact_texts(texts: Iterable[str]) -> tuple[list[str], dict[str, int]]:
    """Texts redacted, and how many of each kind were replaced over all of them.

    The function any text task calls before text reaches a model, a cache, a vocabulary,
    a log, a report or the bundle.
    """
    return default_redactor().redact_many(texts)


def _inside_token(text: str, start: int, end: int) -> bool:
    """Digits glued to letters or a '+' are part of something else (a tracking number, a phone)."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return before.isalnum() or before == "+" or after.isalnum()


def _plausible_phone(text: str, start: int, end: int) -> bool:
    value = text[start:end]
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or before in "-/#_.*" or after.isalnum() or after in "-/_":
        return False  # the tail or head of a longer token: an order number, a reference
    if value.startswith("+") or before == "+":
        return True
    if _DATE_SHAPE.match(value):
        return False
    return sum(ch.isdigit() for ch in value) >= _MIN_NATIONAL_DIGITS


def _build_recognizers() -> list[tuple[str, Any, list[str]]]:
    try:
        from presidio_analyzer import Pattern, PatternRecognizer
        from presidio_analyzer import predefined_recognizers as pr
    except ImportError:
        raise MissingExtraError("presidio-analyzer", "privacy", "--redact-pii") from None

    def national(cls: type) -> tuple[str, Any, list[str]]:
        recognizer = cls()
        return "NATIONAL_ID", recognizer, recognizer.supported_entities

    credential_url = PatternRecognizer(
        supported_entity="URL_WITH_CREDENTIALS", name="CredentialUrlRecognizer",
        patterns=[Pattern("URL with credentials", _CREDENTIAL_URL, 0.9)])
    return [
        ("URL", credential_url, ["URL_WITH_CREDENTIALS"]),
        ("EMAIL", _offline_email_recognizer(pr.EmailRecognizer), ["EMAIL_ADDRESS"]),
        ("IBAN", pr.IbanRecognizer(), ["IBAN_CODE"]),
        ("CARD", pr.CreditCardRecognizer(), ["CREDIT_CARD"]),
        ("IP", pr.IpRecognizer(), ["IP_ADDRESS"]),
        ("PHONE", pr.PhoneRecognizer(supported_regions=_PHONE_REGIONS, leniency=1), ["PHONE_NUMBER"]),
        *(national(cls) for cls in (
            pr.UsSsnRecognizer, pr.UkNinoRecognizer, pr.CaSinRecognizer, pr.EsNifRecognizer,
            pr.ItFiscalCodeRecognizer, pr.FiPersonalIdentityCodeRecognizer,
            pr.SgFinRecognizer, pr.KrRrnRecognizer,
        )),
    ]


def _offline_email_recognizer(base: type) -> Any:
    import tldextract

    # The bundled suffix-list snapshot only: no fetch (presidio#1205), no cache folder written.
    extract = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)

    class OfflineEmailRecognizer(base):  # type: ignore[misc, valid-type]
        def validate_result(self, pattern_text: str) -> bool:
            return extract(pattern_text.rsplit("@", 1)[-1]).fqdn != ""

    return OfflineEmailRecognizer()
