"""Identifiers and their normalized keys (identity-stitching rule 1).

Every lookup and write uses ``(type, normalized value)``; the raw value is kept beside it for the audit.

Phone policy: a number is normalized to E.164 with the configured default region and refused when it cannot
be parsed, is impossible (wrong length), is not a valid number of its country per the numbering plan that
``phonenumbers`` ships (``+1 555 ...``: area code 555 is not assigned), or looks like a placeholder (national
number all zeros, seven or more of one digit in a row, or a run such as 0123456789).
Only numbers that could belong to someone link.

Email policy: case is folded the way mail providers fold it in practice: ASCII letters only (``A``-``Z`` to
``a``-``z``) in both the local part and the domain. Nothing else is folded: no Unicode case folding and no
normalization (NFC or NFKC), so full-width ``alice@`` (U+FF41...) stays distinct from ``alice@`` and the Kelvin sign
(U+212A) never becomes ``k``. A non-ASCII domain must already be a valid IDNA 2008 name (lower case, NFC); it is
stored as its A-label (``xn--...``).

OIDC key: ``<length of issuer>:<issuer>|<subject>``. The length prefix makes the key unambiguous whatever the
subject contains (``I|x`` + ``1`` and ``I`` + ``x|1`` give different keys); the issuer is an https URL without
``|``, query or fragment; the subject is case-sensitive and kept exactly.

Placeholders: values a broken page or flow sends for a missing id (``null``, ``undefined``, ``NaN``,
``Infinity``, ``[object Object]``, ``{}``, ``0``, ...), in any case, spacing, quoting or bracketing, are
refused for every keyed value (see ``is_placeholder``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import idna
import phonenumbers


class IdentifierError(ValueError):
    """A raw identifier cannot be normalized; the message names the type and the reason, never the value.

    ``part`` names the part of a composite identifier at fault (``issuer`` or ``subject`` for OIDC)."""

    def __init__(self, message: str, part: str | None = None) -> None:
        super().__init__(message)
        self.part = part


class IdentifierType(StrEnum):
    OIDC = "oidc"  # (issuer, subject) of a verified ID token
    CRM = "crm"
    PHONE = "phone"
    EMAIL = "email"
    WEB_SESSION = "web_session"


# Whole values that mean "nothing" (Segment-style blocklist), compared after ``_placeholder_form``.
BLOCKED_VALUES = frozenset({
    "", "null", "none", "nil", "undefined", "unknown", "anonymous", "guest", "n/a", "na", "-1", "0", "nan", "-nan",
    "+nan", "infinity", "-infinity", "+infinity", "inf", "-inf", "+inf", "[objectobject]", "objectobject",
    "[object]", "object", "true", "false", "void", "void0", "empty", "blank", "missing", "default", "nobody",
    "test", "test@test.com", "noreply@example.com", "email@example.com", "user@example.com",
})
# Words that, when they are every word of a value (``undefined-undefined``, ``null_null``, ``NaN:NaN``), make it junk.
_JUNK_WORDS = frozenset({"null", "none", "nil", "undefined", "nan", "infinity", "inf", "object", "unknown", "void",
                         "anonymous", "guest", "na", "true", "false", "empty", "missing"})
_EMAIL_JUNK_LOCAL = frozenset({"null", "none", "nil", "undefined", "nan", "infinity", "-infinity", "[objectobject]",
                               "unknown", "anonymous", "test", "0", "-1", "{}", "[]"})
_QUOTES_AND_BRACKETS = "\"'`()[]{}<>"
_ASCII_ALNUM = re.compile(r"[0-9A-Za-z]")
_ASCII_ALNUM_NOT_ZERO = re.compile(r"[1-9A-Za-z]")
_WORD_SEPARATORS = re.compile(r"[^0-9a-z]+")
_WORD = re.compile(r"[0-9a-z]")
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # the ASCII characters of category Cc (ASCII has no Cf or Cs)
_ASCII_SPACE_OR_UNPRINTABLE = re.compile(r"[\x00-\x20\x7f]")  # ASCII: str.isspace or not str.isprintable
_SEVEN_OF_A_DIGIT = re.compile(r"(\d)\1{6}")
_NOT_DIGIT = re.compile(r"\D")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
MAX_RAW_LENGTH = 255  # the Genesys identifier limit


@dataclass(frozen=True)
class Identifier:
    type: IdentifierType
    value: str  # normalized: the key
    raw: str
    plan_valid: bool = True  # phones: the numbering plan lists the number as valid (always true once accepted)

    @functools.cached_property
    def key(self) -> tuple[str, str]:  # computed once per identifier (read many times by a stitch)
        return (self.type.value, self.value)


def _placeholder_form(text: str) -> str:
    """The value as junk detection sees it: compatibility-folded, case-folded, without spaces, quotes or brackets.

    ASCII text (nearly every id) skips the Unicode work: NFKC leaves ASCII unchanged and case folding of ASCII is
    ``lower()``. One ``strip`` removes every leading and trailing quote or bracket (a second finds none)."""
    if text.isascii():
        return "".join(text.lower().split()).strip(_QUOTES_AND_BRACKETS)
    return "".join(unicodedata.normalize("NFKC", text).casefold().split()).strip(_QUOTES_AND_BRACKETS)


def is_placeholder(text: str) -> bool:
    """True for what a broken page or flow sends instead of a missing id (and for values with no content)."""
    form = _placeholder_form(text)
    if form in BLOCKED_VALUES or "[objectobject]" in form:
        return True
    if form.isascii():  # ASCII letters and digits are the only ASCII characters ``str.isalnum`` accepts
        if _ASCII_ALNUM.search(form) is None:
            return True  # only punctuation: "-", "--", "...", "{}", "[]"
        if _ASCII_ALNUM_NOT_ZERO.search(form) is None:
            return True  # "0", "000", "0-0", "-0", "0.0"
    else:
        alnum = [ch for ch in form if ch.isalnum()]
        if not alnum:
            return True
        if all(ch == "0" for ch in alnum):
            return True
    for word in _WORD_SEPARATORS.split(form):
        if word and word not in _JUNK_WORDS and word.strip("0"):
            return False  # a word that means something: a real id
    return _WORD.search(form) is not None


def _clean(raw: str, kind: IdentifierType, part: str | None = None) -> str:
    """Trimmed text, refused when empty, too long, with control characters (NUL included) or a placeholder."""
    if not isinstance(raw, str):
        raise IdentifierError(f"{kind}: expected text", part)
    text = raw.strip()
    label = f"{kind} {part}" if part else str(kind)
    if len(text) > MAX_RAW_LENGTH:
        raise IdentifierError(f"{label}: longer than {MAX_RAW_LENGTH} characters", part)
    if _ASCII_CONTROL.search(text) if text.isascii() else any(unicodedata.category(ch) in ("Cc", "Cs", "Cf")
                                                              for ch in text):
        # NUL (PostgreSQL text cannot hold it), other controls, lone surrogates, invisible format characters
        # (zero-width space, bidi overrides) that would make look-alike keys
        raise IdentifierError(f"{label}: contains a NUL, control or invisible format character", part)
    if is_placeholder(text):
        raise IdentifierError(f"{label}: a placeholder value, not an identifier", part)
    return text


def _placeholder_number(national: str) -> bool:
    if len(set(national)) == 1 or _SEVEN_OF_A_DIGIT.search(national):
        return True  # 0000000000, 5555555555, 202 222 2222: seven or more of one digit in a row
    runs = ("01234567890123456789", "98765432109876543210")
    return len(national) >= 7 and any(national in run for run in runs)


def normalize_phone(raw: str, default_region: str) -> Identifier:
    """The E.164 identifier of a phone number, or IdentifierError. A pure function of its arguments, so results
    are memoized (a number is typically normalized for its stitch and again for each context look-up and repeat
    contact; parsing and plan validation are most of a context call's own CPU). Refusals are not memoized."""
    if isinstance(raw, str) and isinstance(default_region, str):
        return _normalize_phone_memo(raw, default_region)
    return _normalize_phone(raw, default_region)


def _normalize_phone(raw: str, default_region: str) -> Identifier:
    text = _clean(raw, IdentifierType.PHONE)
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise IdentifierError("phone: not a phone number") from None
    national = phonenumbers.national_significant_number(number)
    digits = _NOT_DIGIT.sub("", text)
    if number.national_number == 0 or _placeholder_number(national) or (len(digits) > 3 and len(set(digits)) == 1):
        raise IdentifierError("phone: a placeholder number (all zeros, one repeated digit or a digit run)")
    if not phonenumbers.is_possible_number(number):
        raise IdentifierError("phone: impossible number (wrong length for its country)")
    if not phonenumbers.is_valid_number(number):
        raise IdentifierError("phone: not a valid number in its country's numbering plan")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Identifier(IdentifierType.PHONE, e164, text, plan_valid=True)


_normalize_phone_memo = functools.lru_cache(maxsize=4096)(_normalize_phone)


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)  # A-Z only; every other character is kept


def normalize_email(raw: str) -> Identifier:
    text = _clean(raw, IdentifierType.EMAIL)
    lowered = _ascii_lower(text)
    if not _EMAIL.match(lowered):
        raise IdentifierError("email: not an email address")
    local, domain = lowered.rsplit("@", 1)
    if _placeholder_form(local) in _EMAIL_JUNK_LOCAL:
        raise IdentifierError("email: a placeholder value, not an identifier")
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=False).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise IdentifierError("email: the domain is not a valid IDNA 2008 host name "
                                  "(write it in lower case, without full-width or compatibility characters)") from None
    return Identifier(IdentifierType.EMAIL, f"{local}@{domain}", text)


def normalize_issuer(issuer: str) -> str:
    iss = _clean(issuer, IdentifierType.OIDC, "issuer").rstrip("/")
    try:
        parts = urlsplit(iss)
    except ValueError:  # an unbalanced '[' or ']' in the host ("Invalid IPv6 URL")
        raise IdentifierError("oidc issuer: must be an https URL", "issuer") from None
    if parts.scheme != "https" or not parts.netloc or not iss.startswith("https://"):
        raise IdentifierError("oidc issuer: must be an https URL", "issuer")
    # ``str.split()`` splits at exactly the characters ``str.isspace`` accepts: one part equal to ``iss`` means none.
    if parts.query or parts.fragment or "|" in iss or "?" in iss or "#" in iss or iss.split() != [iss]:
        raise IdentifierError("oidc issuer: must be an https URL without query, fragment, spaces or '|'", "issuer")
    return iss


def oidc_key(issuer: str, subject: str) -> str:
    return f"{len(issuer)}:{issuer}|{subject}"


def split_oidc_key(value: str) -> tuple[str, str] | None:
    """``(issuer, subject)`` of a key made by ``oidc_key``; None when ``value`` is not one."""
    length, sep, rest = value.partition(":")
    if not sep or not length.isdigit() or len(length) > 4:
        return None
    size = int(length)
    if len(rest) <= size or rest[size] != "|":
        return None
    return rest[:size], rest[size + 1:]


def normalize_oidc(issuer: str, subject: str) -> Identifier:
    iss = normalize_issuer(issuer)
    # Subjects are case-sensitive (OIDC Core 2) and kept exactly, apart from surrounding spaces.
    sub = _clean(subject, IdentifierType.OIDC, "subject")
    return Identifier(IdentifierType.OIDC, oidc_key(iss, sub), oidc_key(issuer.strip(), subject.strip()))


def normalize_opaque(raw: str, kind: IdentifierType) -> Identifier:
    """CRM ids and web session ids: trimmed, case kept (systems that issue them decide case), nothing folded."""
    if kind not in (IdentifierType.CRM, IdentifierType.WEB_SESSION):
        raise IdentifierError(f"{kind}: not an opaque identifier type")
    text = _clean(raw, kind)
    if (_ASCII_SPACE_OR_UNPRINTABLE.search(text) if text.isascii()
            else any(ch.isspace() or not ch.isprintable() for ch in text)):
        raise IdentifierError(f"{kind}: contains spaces or control characters")
    return Identifier(kind, text, text)
