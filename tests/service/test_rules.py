"""The pure stitching decision: guards that are awkward to reach through the API."""

from __future__ import annotations

from stitching.domain.identifiers import IdentifierType, normalize_email, normalize_oidc, normalize_opaque, normalize_phone
from stitching.domain.rules import (
    Claim,
    LinkView,
    Policy,
    ProfileView,
    Reason,
    Result,
    SessionState,
    SessionView,
    Traits,
    World,
    decide,
)

OIDC = normalize_oidc("https://idp.example.com", "henry")
PHONE = normalize_phone("+15550001234", "US")
EMAIL = normalize_email("henry@example.com")


def _world(**kwargs: object) -> World:
    base: dict[str, object] = {"owners": {}, "profiles": {}, "sessions": {}, "claimants": {}}
    base.update(kwargs)
    return World(**base)  # type: ignore[arg-type]


def _sms_profile(pid: str = "q") -> ProfileView:
    links = (LinkView(IdentifierType.PHONE, PHONE.value, True), LinkView(IdentifierType.EMAIL, EMAIL.value, True))
    return ProfileView(pid, 1, links)


def test_two_verified_factors_with_a_strong_identifier_merge() -> None:
    world = _world(owners={PHONE.key: "q", EMAIL.key: "q"}, profiles={"q": _sms_profile()}, claimants={PHONE.key: 1})
    decision = decide([Claim(OIDC, True), Claim(PHONE, True), Claim(EMAIL, True)], Traits(), world, Policy())
    assert [m.absorbed_id for m in decision.merges] == ["q"] and decision.merges[0].factors == ("phone", "email")


def test_a_value_shared_by_many_profiles_never_merges() -> None:
    world = _world(owners={PHONE.key: "q", EMAIL.key: "q"}, profiles={"q": _sms_profile()}, claimants={PHONE.key: 6})
    decision = decide([Claim(OIDC, True), Claim(PHONE, True), Claim(EMAIL, True)], Traits(), world, Policy(shared_value_limit=5))
    assert decision.merges == [] and decision.refused_merges == [("q", Reason.SHARED_VALUE)]


def test_without_a_strong_identifier_nothing_merges() -> None:
    world = _world(owners={PHONE.key: "q", EMAIL.key: "p"}, profiles={"q": _sms_profile("q"), "p": ProfileView("p", 2, ())})
    decision = decide([Claim(PHONE, True), Claim(EMAIL, True)], Traits(), world, Policy())
    assert decision.target_id == "q" and decision.merges == []
    assert decision.refused_merges == [("p", Reason.NO_STRONG_IDENTIFIER)]


def test_per_type_limit_refuses_a_sixth_phone() -> None:
    phones = tuple(LinkView(IdentifierType.PHONE, f"+1555000{i:04d}", True) for i in range(5))
    profile = ProfileView("p", 1, (LinkView(IdentifierType.OIDC, OIDC.value, True), *phones))
    world = _world(owners={OIDC.key: "p"}, profiles={"p": profile})
    new_phone = normalize_phone("+15559998888", "US")
    decision = decide([Claim(OIDC, True), Claim(new_phone, True)], Traits(), world, Policy())
    assert decision.outcomes[1].result == Result.REFUSED and decision.outcomes[1].reason == Reason.IDENTIFIER_LIMIT


def test_a_second_crm_id_on_one_profile_is_a_conflict() -> None:
    crm_a, crm_b = normalize_opaque("A-1", IdentifierType.CRM), normalize_opaque("B-2", IdentifierType.CRM)
    links = (LinkView(IdentifierType.OIDC, OIDC.value, True), LinkView(IdentifierType.CRM, crm_a.value, True))
    profile = ProfileView("p", 1, links)
    decision = decide([Claim(OIDC, True), Claim(crm_b, True)], Traits(), _world(owners={OIDC.key: "p", crm_a.key: "p"},
                                                                                profiles={"p": profile}), Policy())
    assert decision.outcomes[1].reason == Reason.CONFLICTING_STRONG_IDENTIFIER


def test_a_live_session_of_another_verified_customer_is_not_taken_over() -> None:
    session = normalize_opaque("s-1", IdentifierType.WEB_SESSION)
    other = ProfileView("other", 1, (LinkView(IdentifierType.OIDC, "https://idp.example.com|ivy", True),
                                     LinkView(IdentifierType.WEB_SESSION, "s-1", True)))
    world = _world(owners={session.key: "other"}, profiles={"other": other},
                   sessions={"s-1": SessionView("s-1", "other", True, SessionState.LIVE)})
    decision = decide([Claim(OIDC, True), Claim(session, False)], Traits(), world, Policy())
    assert decision.target_id is None  # a new profile for this login, not the previous user's
    assert decision.outcomes[1].reason == Reason.SESSION_BOUND_TO_ANOTHER_PROFILE
