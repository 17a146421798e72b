"""Identifiers and their normalized keys (identity-stitching rule 1).

Every lookup and write uses ``(type, normalized value)``; the raw value is kept beside it for the audit.

Phone policy: a number is normalized to E.164 with the configured default region and refused when it
cannot be parsed or is *impossible* (wrong length for its country). A possible number that the
numbering plan does not list as assigned (``+1 123 456 7890``: NANP area codes never start with 1) is
accepted and marked ``plan_valid=False``: customers and test systems use such numbers, and refusing them
would split one customer's history, while the E.164 key still unifies every spelling of it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers


class IdentifierError(ValueError):
    """A raw identifier cannot be normalized; the message names the type and the reason, never the value."""


class IdentifierType(StrEnum):
    OIDC = "oidc"  # (issuer, subject) of a verified ID token
    CRM = "crm"
    PHONE = "phone"
    EMAIL = "email"
    WEB_SESSION = "web_session"


# Values that mean "nothing" and must never link two profiles (Segment-style blocklist).
BLOCKED_VALUES = frozenset({"", "null", "none", "nil", "undefined", "unknown", "anonymous", "guest", "n/a",
                            "-1", "0", "test", "test@test.com", "noreply@example.com"})
_ALL_SAME_DIGIT = re.compile(r"^\+?(\d)\1+$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
MAX_RAW_LENGTH = 255  # the Genesys identifier limit


@dataclass(frozen=True)
class Identifier:
    type: IdentifierType
    value: str  # normalized: the key
    raw: str
    plan_valid: bool = True  # phones only: the numbering plan lists the number as assigned

    @property
    def key(self) -> tuple[str, str]:
        return (self.type.value, self.value)


def _clean(raw: str, kind: IdentifierType) -> str:
    if not isinstance(raw, str):
        raise IdentifierError(f"{kind}: expected text")
    text = unicodedata.normalize("NFKC", raw).strip()
    if len(text) > MAX_RAW_LENGTH:
        raise IdentifierError(f"{kind}: longer than {MAX_RAW_LENGTH} characters")
    if text.lower() in BLOCKED_VALUES:
        raise IdentifierError(f"{kind}: a placeholder value, not an identifier")
    return text


def normalize_phone(raw: str, default_region: str) -> Identifier:
    text = _clean(raw, IdentifierType.PHONE)
    digits = re.sub(r"\D", "", text)
    if len(digits) > 3 and _ALL_SAME_DIGIT.match(digits):
        raise IdentifierError("phone: a placeholder number (all digits the same)")
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise IdentifierError("phone: not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise IdentifierError("phone: impossible number (wrong length for its country)")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Identifier(IdentifierType.PHONE, e164, text, plan_valid=phonenumbers.is_valid_number(number))


def normalize_email(raw: str) -> Identifier:
    text = _clean(raw, IdentifierType.EMAIL)
    lowered = text.lower()
    if not _EMAIL.match(lowered):
        raise IdentifierError("email: not an email address")
    local, domain = lowered.rsplit("@", 1)
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise IdentifierError("email: the domain is not a valid host name") from None
    return Identifier(IdentifierType.EMAIL, f"{local}@{domain}", text)


def normalize_oidc(issuer: str, subject: str) -> Identifier:
    iss = _clean(issuer, IdentifierType.OIDC).rstrip("/")
    sub = _clean(subject, IdentifierType.OIDC)
    if not iss.startswith("https://"):
        raise IdentifierError("oidc: the issuer must be an https URL")
    # Subjects are case-sensitive (OIDC Core 2): only the issuer's trailing slash is normalized.
    return Identifier(IdentifierType.OIDC, f"{iss}|{sub}", f"{issuer}|{subject}")


def normalize_opaque(raw: str, kind: IdentifierType) -> Identifier:
    """CRM ids and web session ids: trimmed, case kept (systems that issue them decide case)."""
    if kind not in (IdentifierType.CRM, IdentifierType.WEB_SESSION):
        raise IdentifierError(f"{kind}: not an opaque identifier type")
    text = _clean(raw, kind)
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise IdentifierError(f"{kind}: contains spaces or control characters")
    return Identifier(kind, text, text)
