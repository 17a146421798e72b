"""Terraform-to-Pulumi names, as pulumi-terraform-bridge derives them for a generated SDK.

Type tokens: the bridge's dynamic provider puts every resource in module ``index``, so
``genesyscloud_routing_queue`` becomes ``genesyscloud:index/routingQueue:RoutingQueue``.
Property names: snake_case becomes camelCase; a list or set that may hold more than one item is first
pluralized with pulumi/inflector v0.2.1 (CakePHP-derived rules), unless the plural names another attribute
of the same object.
"""

from __future__ import annotations

import re
from collections.abc import Collection

PACKAGE = "genesyscloud"

# github.com/pulumi/inflector v0.2.1 (inflector.go), the pluralizer pulumi-terraform-bridge uses for list
# and set properties (pkg/tfbridge/internal/naming/naming.go, TerraformToPulumiNameV2). Its rules derive
# from CakePHP's, not Rails': ``pause_criteria`` -> ``pause_criterias``, ``metadata`` -> ``metadatas``.
# Patterns and replacements are Go's; replacements are expanded as Go's regexp.Expand does (below).
_UNINFLECTED = (
    "Amoyese", "bison", "Borghese", "bream", "breeches", "britches", "buffalo", "cantus", "carp", "chassis",
    "clippers", "cod", "coitus", "Congoese", "contretemps", "corps", "debris", "diabetes", "djinn", "eland", "elk",
    "equipment", "Faroese", "flounder", "Foochowese", "gallows", "Genevese", "Genoese", "Gilbertese", "graffiti",
    "headquarters", "herpes", "hijinks", "Hottentotese", "information", "innings", "jackanapes", "Kiplingese",
    "Kongoese", "Lucchese", "mackerel", "Maltese", ".*?media", "mews", "moose", "mumps", "Nankingese", "news",
    "nexus", "Niasese", "Pekingese", "Piedmontese", "pincers", "Pistoiese", "pliers", "Portuguese", "proceedings",
    "rabies", "rice", "rhinoceros", "salmon", "Sarawakese", "scissors", "sea[- ]bass", "series", "Shavese", "shears",
    "siemens", "species", "swine", "testes", "trousers", "trout", "tuna", "Vermontese", "Wenchowese", "whiting",
    "wildebeest", "Yengeese",
    # uninflectedPlurals
    ".*[nrlm]ese", ".*deer", ".*fish", ".*measles", ".*ois", ".*pox", ".*sheep", "people",
)
_PLURAL_RULES: tuple[tuple[str, str], ...] = (
    (r"(?i)(s)tatus$", "${1}${2}tatuses"),
    (r"(?i)(quiz)$", "${1}zes"),
    (r"(?i)^(ox)$", "${1}${2}en"),
    (r"(?i)([m|l])ouse$", "${1}ice"),
    (r"(?i)(matr|vert|ind)(ix|ex)$", "${1}ices"),
    (r"(?i)(x|ch|ss|sh)$", "${1}es"),
    (r"(?i)([^aeiouy]|qu)y$", "${1}ies"),
    (r"(?i)(hive)$", "$1s"),  # Go reads "$1s" as the group named "1s": none, so the match becomes ""
    (r"(?i)(?:([^f])fe|([lre])f)$", "${1}${2}ves"),
    (r"(?i)sis$", "ses"),
    (r"(?i)([ti])um$", "${1}a"),
    (r"(?i)(p)erson$", "${1}eople"),
    (r"(?i)(m)an$", "${1}en"),
    (r"(?i)(c)hild$", "${1}hildren"),
    (r"(?i)(buffal|tomat)o$", "${1}${2}oes"),
    (r"(?i)(alumn|bacill|cact|foc|fung|nucle|radi|stimul|syllab|termin|vir)us$", "${1}i"),
    (r"(?i)us$", "uses"),
    (r"(?i)(alias)$", "${1}es"),
    (r"(?i)(ax|cris|test)is$", "${1}es"),
    (r"s$", "s"),
    (r"^$", ""),
    (r"$", "s"),
)
_IRREGULAR = {
    "atlas": "atlases", "beef": "beefs", "brother": "brothers", "cafe": "cafes", "child": "children",
    "cookie": "cookies", "corpus": "corpuses", "cow": "cows", "ganglion": "ganglions", "genie": "genies",
    "genus": "genera", "graffito": "graffiti", "hoof": "hoofs", "loaf": "loaves", "man": "men", "money": "monies",
    "mongoose": "mongooses", "move": "moves", "mythos": "mythoi", "niche": "niches", "numen": "numina",
    "occiput": "occiputs", "octopus": "octopuses", "opus": "opuses", "ox": "oxen", "penis": "penises",
    "person": "people", "sex": "sexes", "soliloquy": "soliloquies", "testis": "testes", "trilby": "trilbys",
    "turf": "turfs", "potato": "potatoes", "hero": "heroes", "tooth": "teeth", "goose": "geese", "foot": "feet",
}


def _go(pattern: str) -> re.Pattern[str]:
    """A Go RE2 pattern in Python: a leading ``(?i)`` flag, ``\\b`` on ASCII word characters (as Go's)."""
    return re.compile(pattern, re.ASCII)


_UNINFLECTED_RE = _go(r"(?i)(^(?:" + "|".join(_UNINFLECTED) + r"))$")
_IRREGULAR_RE = _go(r"(?i)(.*)\b((?:" + "|".join(_IRREGULAR) + r"))$")
_COMPILED = tuple((_go(pattern), replacement) for pattern, replacement in _PLURAL_RULES)
_TEMPLATE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def _expand(template: str, match: re.Match[str]) -> str:
    """Go's ``regexp.Expand``: ``$name`` takes the longest name; an unknown or unmatched group is empty."""
    def group(ref: re.Match[str]) -> str:
        name = ref.group(1) or ref.group(2)
        if name.isdigit() and int(name) <= (match.re.groups or 0):
            return match.group(int(name)) or ""
        return ""
    return _TEMPLATE.sub(group, template)


def pluralize(word: str) -> str:
    """``inflector.Pluralize`` of pulumi/inflector v0.2.1, rule for rule (``ip_filter`` -> ``ip_filters``)."""
    irregular = _IRREGULAR_RE.search(word)
    if irregular and len(irregular.groups()) >= 2:
        return irregular.group(1) + word[0:1] + _IRREGULAR[irregular.group(2).lower()][1:]
    if _UNINFLECTED_RE.search(word):
        return word
    for pattern, replacement in _COMPILED:
        if pattern.search(word):
            return pattern.sub(lambda m, r=replacement: _expand(r, m), word)  # type: ignore[misc]
    return word


def camel_case(snake: str) -> str:
    """``allow_session_upgrade`` -> ``allowSessionUpgrade``, as the bridge's ``terraformToPulumiName`` does it:
    leading underscores stay, an underscore capitalizes the next a-z, a trailing underscore stays."""
    result: list[str] = []
    next_cap = False
    activated = False
    previous = ""
    for char in snake:
        if char == "_" and activated:
            next_cap = True
            previous = char
            continue
        if char != "_":
            activated = True
        result.append(char.upper() if next_cap and "a" <= char <= "z" else char)
        next_cap = False
        previous = char
    if previous == "_":
        result.append("_")
    return "".join(result)


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
