"""Identifier normalization of the stitching service (identity-stitching rule 1 and trap 3)."""

import pytest

from stitching.domain.identifiers import (
    IdentifierError,
    IdentifierType,
    normalize_email,
    normalize_oidc,
    normalize_opaque,
    normalize_phone,
)


def test_three_spellings_of_one_us_number_are_one_identifier() -> None:
    keys = {normalize_phone(raw, "US").key for raw in ("1234567890", "(123) 456-7890", "+11234567890")}
    assert keys == {("phone", "+11234567890")}


def test_raw_value_is_kept_beside_the_key() -> None:
    identifier = normalize_phone(" (123) 456-7890 ", "US")
    assert identifier.raw == "(123) 456-7890" and identifier.value == "+11234567890"


def test_possible_but_unassigned_number_is_kept_and_marked() -> None:
    assert normalize_phone("1234567890", "US").plan_valid is False
    assert normalize_phone("+1 415 555 2671", "US").plan_valid is True


def test_default_region_applies_only_without_a_country_code() -> None:
    assert normalize_phone("020 7946 0958", "GB").value == "+442079460958"
    assert normalize_phone("+44 20 7946 0958", "US").value == "+442079460958"


@pytest.mark.parametrize(("raw", "reason"), [
    ("12345", "impossible number"),
    ("call me", "not a phone number"),
    ("0000000000", "placeholder number"),
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
    assert a.value == "https://login.example|AbC" and a.key != b.key
    with pytest.raises(IdentifierError, match="issuer must be an https URL"):
        normalize_oidc("http://login.example", "abc")


def test_opaque_ids_refuse_whitespace_and_anonymous() -> None:
    assert normalize_opaque(" CRM-0042 ", IdentifierType.CRM).value == "CRM-0042"
    with pytest.raises(IdentifierError, match="spaces or control characters"):
        normalize_opaque("a b", IdentifierType.WEB_SESSION)
    with pytest.raises(IdentifierError, match="placeholder"):
        normalize_opaque("anonymous", IdentifierType.WEB_SESSION)
