"""The trust model: which caller may vouch for which identifier on which channel (issue 14 part 1).

Genesys verifies two things a data action can pass on: the OIDC subject of an authenticated web messaging
session (``Message.IsAuthenticated``, the ``sub`` of the session's ID token) and the sender number of an SMS
(the carrier delivered it from that number). The email claim of an authenticated session is only as verified as
the identity provider makes it, so it counts only where the stack says the provider verifies it
(``STITCHING_TRUST_EMAIL_CLAIM``). Anything a website sets with ``Database.set`` (web session id, phone typed
in a form, CRM id, names) is context, never evidence. Only the customer's own systems, through the enrollment
API and its separate credential, can tie a login to a phone, an email or a CRM record.

A verified flag a caller may not set is not an error (a flow cannot know the policy): the identifier is kept as
an unverified claim, answered with the reason ``verified_flag_not_trusted``, and never links or merges.
"""

from __future__ import annotations

from enum import StrEnum

from stitching.domain.identifiers import IdentifierType


class Caller(StrEnum):
    DATA_ACTION = "data_action"  # Genesys data actions, with the caller token
    ENROLLMENT = "enrollment"  # the customer's own systems (website backend after login, CRM sync)


# What Genesys itself verifies on each channel, as far as a data action can see it.
_DATA_ACTION_VERIFIABLE: dict[str, frozenset[IdentifierType]] = {
    "sms": frozenset({IdentifierType.PHONE}),  # the sender number of the SMS
    "web": frozenset({IdentifierType.OIDC}),  # the subject of an authenticated web messaging session
}


def verifiable(caller: Caller, channel: str, *, oidc_verified: bool, trust_email_claim: bool) -> frozenset[IdentifierType]:
    """The identifier types ``caller`` may assert as verified on ``channel``.

    ``oidc_verified``: the same request asserts a verified OIDC subject (the email claim rides on it).
    """
    if caller == Caller.ENROLLMENT:
        return frozenset({IdentifierType.OIDC, IdentifierType.CRM, IdentifierType.PHONE, IdentifierType.EMAIL})
    allowed = _DATA_ACTION_VERIFIABLE.get(channel, frozenset())
    if channel == "web" and oidc_verified and trust_email_claim:
        allowed = allowed | {IdentifierType.EMAIL}
    return allowed


# The README's trust table is generated from the same facts; a test compares the two.
TRUST_TABLE: tuple[tuple[str, str, str], ...] = (
    ("data action, channel `sms`", "the sender's phone (`customerPhone`)",
     "everything else: OIDC subject, CRM id, email, names, web session id"),
    ("data action, channel `web`", "the OIDC subject of an authenticated session (`authIssuer` + `authSubject`); "
     "its email claim only with `STITCHING_TRUST_EMAIL_CLAIM=true`",
     "phone, CRM id, names, web session id (set by the website: context)"),
    ("data action, any other channel", "nothing", "everything (voice caller ids can be spoofed)"),
    ("enrollment API (customer's own systems)", "anything it registers: phone, email, CRM id, last name, date of birth, "
     "for an OIDC or CRM anchor", "cannot read context, profiles or audit (403)"),
)
