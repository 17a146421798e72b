"""Terraform-to-Pulumi names, as pulumi-terraform-bridge derives them for a generated SDK.

Type tokens: the bridge's dynamic provider puts every resource in module ``index``, so
``genesyscloud_routing_queue`` becomes ``genesyscloud:index/routingQueue:RoutingQueue``.
Property names: snake_case becomes camelCase; a list or set that may hold more than one item is first
pluralized with the Rails inflector rules, unless the plural names another attribute of the same object.
"""

from __future__ import annotations

import re
from collections.abc import Collection

PACKAGE = "genesyscloud"

# ActiveSupport's English inflections (rails/activesupport/lib/active_support/inflections.rb), in the
# order Rails defines them; later rules win, so they are tried last-first.
_PLURAL_RULES: tuple[tuple[str, str], ...] = (
    (r"$", "s"),
    (r"s$", "s"),
    (r"^(ax|test)is$", r"\1es"),
    (r"(octop|vir)us$", r"\1i"),
    (r"(octop|vir)i$", r"\1i"),
    (r"(alias|status)$", r"\1es"),
    (r"(bu)s$", r"\1ses"),
    (r"(buffal|tomat)o$", r"\1oes"),
    (r"([ti])um$", r"\1a"),
    (r"([ti])a$", r"\1a"),
    (r"sis$", "ses"),
    (r"(?:([^f])fe|([lr])f)$", r"\1\2ves"),
    (r"(hive)$", r"\1s"),
    (r"([^aeiouy]|qu)y$", r"\1ies"),
    (r"(x|ch|ss|sh)$", r"\1es"),
    (r"(matr|vert|ind)(?:ix|ex)$", r"\1ices"),
    (r"^(m|l)ouse$", r"\1ice"),
    (r"^(m|l)ice$", r"\1ice"),
    (r"^(ox)$", r"\1en"),
    (r"^(oxen)$", r"\1"),
    (r"(quiz)$", r"\1zes"),
)
_IRREGULAR = {"person": "people", "man": "men", "child": "children", "sex": "sexes", "move": "moves",
              "zombie": "zombies"}
_UNCOUNTABLE = frozenset(
    {"equipment", "information", "rice", "money", "species", "series", "fish", "sheep", "jeans", "police"}
)
_COMPILED = tuple((re.compile(pattern, re.IGNORECASE), repl) for pattern, repl in reversed(_PLURAL_RULES))


def pluralize(word: str) -> str:
    """Rails' ``String#pluralize``: the rules match the end of the whole word (``ip_filter`` -> ``ip_filters``)."""
    if not word:
        return word
    last = re.split(r"[_\W]", word)[-1].lower()
    if last in _UNCOUNTABLE:
        return word
    for singular, plural in _IRREGULAR.items():
        if word.lower().endswith(singular) and (len(word) == len(singular) or not word[-len(singular) - 1].isalpha()):
            return word[: -len(singular)] + word[-len(singular)] + plural[1:]
    for pattern, replacement in _COMPILED:
        if pattern.search(word):
            return pattern.sub(replacement, word, count=1)
    return word


def camel_case(snake: str) -> str:
    """``allow_session_upgrade`` -> ``allowSessionUpgrade``."""
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def pascal_case(snake: str) -> str:
    camel = camel_case(snake)
    return camel[:1].upper() + camel[1:]


def type_token(terraform_type: str) -> str:
    """``genesyscloud_routing_queue`` -> ``genesyscloud:index/routingQueue:RoutingQueue``."""
    prefix = PACKAGE + "_"
    if not terraform_type.startswith(prefix) or len(terraform_type) == len(prefix):
        raise ValueError(f"{terraform_type!r} is not a {PACKAGE} Terraform resource type")
    rest = terraform_type[len(prefix):]
    return f"{PACKAGE}:index/{camel_case(rest)}:{pascal_case(rest)}"


def property_name(attribute: str, *, many: bool, siblings: Collection[str]) -> str:
    """The Pulumi name of a Terraform attribute or block.

    ``many`` is true for a list or set whose MaxItems is not 1; ``siblings`` are the other Terraform names of
    the same object, because the bridge keeps the singular when the plural would collide with one of them.
    """
    name = attribute
    if many:
        plural = pluralize(attribute)
        if plural not in siblings:
            name = plural
    return camel_case(name)
