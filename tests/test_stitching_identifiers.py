"""Identifier normalization of the stitching service (identity-stitching rule 1 and trap 3)."""

import pytest

from stitching.domain.identifiers import (
    IdentifierError,
    IdentifierType,
    normalize_email,
    normalize_oidc,
    normalize_opaque,
    normalize_phone,
    split_oidc_key,
)


def test_three_spellings_of_one_us_number_are_one_identifier() -> None:
    keys = {normalize_phone(raw, "US").key for raw in ("2025550143", "(202) 555-0143", "+12025550143")}
    assert keys == {("phone", "+12025550143")}


def test_raw_value_is_kept_beside_the_key() -> None:
    identifier = normalize_phone(" (202) 555-0143 ", "US")
    assert identifier.raw == "(202) 555-0143" and identifier.value == "+12025550143"


@pytest.mark.parametrize("raw", ["+15552017788", "+1 123 555 0143", "+44 7700 900123"])
def test_numbers_the_numbering_plan_does_not_list_are_refused(raw: str) -> None:
    with pytest.raises(IdentifierError, match="not a valid number"):
        normalize_phone(raw, "US")
    assert normalize_phone("+1 415 555 2671", "US").plan_valid is True


def test_default_region_applies_only_without_a_country_code() -> None:
    assert normalize_phone("020 7946 0958", "GB").value == "+442079460958"
    assert normalize_phone("+44 20 7946 0958", "US").value == "+442079460958"


@pytest.mark.parametrize(("raw", "reason"), [
    ("12345", "impossible number"),
    ("call me", "not a phone number"),
    ("0000000000", "placeholder"),
    ("+10000000000", "placeholder"),
    ("+1 000 000 0000", "placeholder"),
    ("10000000000", "placeholder"),
    ("+1 202 222 2222", "placeholder"),
    ("+1 555 555 5555", "placeholder"),
    ("1234567890", "placeholder"),
    ("+1 987 654 3210", "placeholder"),
    ("+44 0000 000000", "placeholder"),
    ("NaN", "placeholder value"),
    ("+1 202 555\x000143", "NUL, control"),
    ("", "placeholder value"),
    ("null", "placeholder value"),
    ("1" * 300, "longer than 255"),
])
def test_unusable_phones_are_refused_without_echoing_them(raw: str, reason: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        normalize_phone(raw, "US")
    assert reason in str(caught.value)
    if len(raw) > 4:
        assert raw not in str(caught.value)


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert normalize_email("  Jane.Doe@Example.COM ").value == "jane.doe@example.com"
    with pytest.raises(IdentifierError, match="not an email address"):
        normalize_email("jane.doe@")
    with pytest.raises(IdentifierError, match="placeholder"):
        normalize_email("test@test.com")


def test_oidc_subject_is_scoped_by_issuer_and_keeps_case() -> None:
    a = normalize_oidc("https://login.example/", "AbC")
    b = normalize_oidc("https://login.example", "abc")
    assert a.value == "21:https://login.example|AbC" and a.key != b.key
    with pytest.raises(IdentifierError, match="issuer: must be an https URL") as caught:
        normalize_oidc("http://login.example", "abc")
    assert caught.value.part == "issuer"


def test_oidc_keys_are_unambiguous_whatever_the_subject_holds() -> None:
    with pytest.raises(IdentifierError) as caught:
        normalize_oidc("https://i.example|x", "1")  # "|" is not a URL character: never part of an issuer
    assert caught.value.part == "issuer"
    one = normalize_oidc("https://i.example", "x|1")
    two = normalize_oidc("https://i.example/x", "1")
    three = normalize_oidc("https://i.example", "x")
    assert len({one.value, two.value, three.value}) == 3
    assert split_oidc_key(one.value) == ("https://i.example", "x|1")
    assert split_oidc_key("https://i.example|x|1") is None


@pytest.mark.parametrize("junk", ["NaN", "nan", " NaN ", "Infinity", "-Infinity", "+Infinity", "[object Object]",
                                  "[object  object]", "undefined", "UNDEFINED", "null", "Null", "(null)", "<null>",
                                  '"null"', "None", "nil", "0", "00", "-1", "{}", "[]", "''", "-", "...", "N/A",
                                  "undefined-undefined", "null_null", "\u00a0",
                                  "\uff55\uff4e\uff44\uff45\uff46\uff49\uff4e\uff45\uff44"])
@pytest.mark.parametrize("kind", ["crm", "web_session", "subject"])
def test_what_a_broken_page_sends_for_a_missing_id_is_refused_everywhere(junk: str, kind: str) -> None:
    with pytest.raises(IdentifierError, match=r"placeholder|control"):
        if kind == "subject":
            normalize_oidc("https://login.example", junk)
        else:
            normalize_opaque(junk, IdentifierType(kind))


def test_real_ids_that_merely_contain_junk_words_are_kept() -> None:
    for value in ("A-1", "CRM-0042", "nullable-7", "objective", "s-9", "0a"):
        assert normalize_opaque(value, IdentifierType.CRM).value == value
    assert split_oidc_key(normalize_oidc("https://login.example", "user-0").value) == ("https://login.example", "user-0")


def test_email_case_folding_is_ascii_only_never_compatibility() -> None:
    assert normalize_email("Alice@Example.COM").value == "alice@example.com"
    full_width = normalize_email("\uff41\uff4c\uff49\uff43\uff45@example.com")
    assert full_width.value == "\uff41\uff4c\uff49\uff43\uff45@example.com" and full_width.value != "alice@example.com"
    kelvin = normalize_email("\u212aim@example.com")
    assert kelvin.value == "\u212aim@example.com" and kelvin.value != "kim@example.com"
    assert normalize_email("KIM@example.com").value == "kim@example.com"
    assert normalize_email("jo@b\u00fccher.de").value == "jo@xn--bcher-kva.de"
    for domain in ("\uff45xample.com", "\u212aelvin.com"):  # full-width e, Kelvin sign: not IDNA 2008 names
        with pytest.raises(IdentifierError, match="IDNA 2008"):
            normalize_email(f"jo@{domain}")
    with pytest.raises(IdentifierError, match="placeholder"):
        normalize_email("undefined@example.com")


def test_nul_and_control_characters_are_refused_in_every_identifier() -> None:
    with pytest.raises(IdentifierError, match="NUL"):
        normalize_email("a\x00b@example.com")
    with pytest.raises(IdentifierError, match="NUL") as caught:
        normalize_oidc("https://login.example", "al\x00ice")
    assert caught.value.part == "subject"
    with pytest.raises(IdentifierError, match="NUL"):
        normalize_opaque("CRM\x00-1", IdentifierType.CRM)
    for invisible in ("alice\u200b@example.com", "\u202eelcia@example.com"):  # zero-width space, bidi override
        with pytest.raises(IdentifierError, match="invisible format"):
            normalize_email(invisible)


def test_opaque_ids_refuse_whitespace_and_anonymous() -> None:
    assert normalize_opaque(" CRM-0042 ", IdentifierType.CRM).value == "CRM-0042"
    with pytest.raises(IdentifierError, match="spaces or control characters"):
        normalize_opaque("a b", IdentifierType.WEB_SESSION)
    with pytest.raises(IdentifierError, match="placeholder"):
        normalize_opaque("anonymous", IdentifierType.WEB_SESSION)
