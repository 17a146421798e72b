"""SMS length in GSM 03.38 (GSM-7) septets, so a greeting can be made to fit one segment.

One SMS segment carries 160 septets of the GSM-7 default alphabet (3GPP TS 23.038). A character of the
default alphabet takes one septet; a character of its extension table (``^{}\\[~]|€`` and form feed) takes two
(an escape and the character). A character outside both makes the whole message UCS-2 (70 characters per
segment): text the flows write themselves must stay inside GSM-7, and a value from elsewhere is budgeted at
two septets per character and its own limit said in the README.
"""

from __future__ import annotations

SEGMENT_SEPTETS = 160

# The GSM-7 default alphabet (3GPP TS 23.038, 6.2.1), in table order.
_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Its extension table (6.2.1.1): each costs an escape septet plus itself.
_EXTENSION = frozenset("\f^{}\\[~]|€")


def septets(text: str) -> int:
    """The septets ``text`` takes in GSM-7; ValueError naming the first character GSM-7 cannot carry."""
    total = 0
    for index, char in enumerate(text):
        if char in _BASIC:
            total += 1
        elif char in _EXTENSION:
            total += 2
        else:
            raise ValueError(f"character {char!r} at {index} is not in the GSM-7 alphabet (the SMS would be UCS-2)")
    return total


def topic_budget(prefix: str, suffix: str, limit: int = SEGMENT_SEPTETS) -> int:
    """How many characters of a value between ``prefix`` and ``suffix`` still fit one segment, even if every
    one of them is a two-septet extension character."""
    room = limit - septets(prefix) - septets(suffix)
    if room < 2:
        raise ValueError(f"the fixed text takes {limit - room} of {limit} septets: no room for the value")
    return room // 2
