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
PHONE = normalize_phone("+12025551234", "US")
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
    phones = tuple(LinkView(IdentifierType.PHONE, f"+1202555{i:04d}", True) for i in range(5))
    profile = ProfileView("p", 1, (LinkView(IdentifierType.OIDC, OIDC.value, True), *phones))
    world = _world(owners={OIDC.key: "p"}, profiles={"p": profile})
    new_phone = normalize_phone("+12025558888", "US")
    decision = decide([Claim(OIDC, True), Claim(new_phone, True)], Traits(), world, Policy())
    assert decision.outcomes[1].result == Result.REFUSED and decision.outcomes[1].reason == Reason.IDENTIFIER_LIMIT


def test_a_second_crm_id_on_one_profile_is_a_conflict() -> None:
    crm_a, crm_b = normalize_opaque("A-1", IdentifierType.CRM), normalize_opaque("B-2", IdentifierType.CRM)
    links = (LinkView(IdentifierType.OIDC, OIDC.value, True), LinkView(IdentifierType.CRM, crm_a.value, True))
    profile = ProfileView("p", 1, links)
    decision = decide([Claim(OIDC, True), Claim(crm_b, True)], Traits(), _world(owners={OIDC.key: "p", crm_a.key: "p"},
                                                                                profiles={"p": profile}), Policy())
    assert decision.outcomes[1].reason == Reason.CONFLICTING_STRONG_IDENTIFIER


# -- issue 17: merge evidence, undo, shared computer, trust ------------------------------------------------------

CRM = normalize_opaque("CRM-7", IdentifierType.CRM)
CHILD = normalize_oidc("https://idp.example.com", "kid")


def _parent(traits: Traits | None = None) -> ProfileView:
    traits = traits or Traits("smith", "1970-01-01")
    links = (LinkView(IdentifierType.CRM, CRM.value, True), LinkView(IdentifierType.PHONE, PHONE.value, True))
    return ProfileView("parent", 1, links, traits)


def _household(traits: Traits, parent: ProfileView | None = None, **world: object) -> World:
    base: dict[str, object] = {"owners": {PHONE.key: "parent", CRM.key: "parent"},
                               "profiles": {"parent": parent or _parent()}, "claimants": {PHONE.key: 2}}
    base.update(world)
    return _world(**base)


def test_a_crm_only_parent_and_an_oidc_child_sharing_phone_and_surname_never_merge() -> None:
    # Household factors are one factor, the birth dates contradict, and the parent's CRM anchor is not in the request.
    decision = decide([Claim(CHILD, True), Claim(PHONE, True)], Traits("smith", "2005-05-05"), _household(Traits()), Policy())
    assert decision.merges == [] and decision.refused_merges == [("parent", Reason.CONFLICTING_STRONG_IDENTIFIER)]


def test_a_contradicting_birth_date_refuses_a_merge_that_would_otherwise_pass() -> None:
    sms_only = ProfileView("q", 1, _sms_profile().links, Traits("smith", "1970-01-01"))
    world = _world(owners={PHONE.key: "q", EMAIL.key: "q"}, profiles={"q": sms_only}, claimants={PHONE.key: 1})
    claims = [Claim(OIDC, True), Claim(PHONE, True), Claim(EMAIL, True)]
    assert decide(claims, Traits("smith", "1970-01-01"), world, Policy()).merges[0].absorbed_id == "q"
    contradicted = decide(claims, Traits("smith", "2005-05-05"), world, Policy())
    assert contradicted.merges == [] and contradicted.refused_merges == [("q", Reason.CONTRADICTING_FACTOR)]


def test_a_different_last_name_counts_against_a_merge() -> None:
    sms_only = ProfileView("q", 1, _sms_profile().links, Traits("jones", None))
    world = _world(owners={PHONE.key: "q", EMAIL.key: "q"}, profiles={"q": sms_only}, claimants={PHONE.key: 1})
    decision = decide([Claim(OIDC, True), Claim(PHONE, True), Claim(EMAIL, True)], Traits("smith", None), world, Policy())
    assert decision.refused_merges == [("q", Reason.CONTRADICTING_FACTOR)]


def test_phone_and_surname_are_one_household_factor() -> None:
    phone_only = ProfileView("q", 1, (LinkView(IdentifierType.PHONE, PHONE.value, True),), Traits("smith", None))
    world = _world(owners={PHONE.key: "q"}, profiles={"q": phone_only}, claimants={PHONE.key: 1},
                   trait_claimants={("last_name", "smith"): 2})
    decision = decide([Claim(OIDC, True), Claim(PHONE, True)], Traits("smith", None), world, Policy())
    assert decision.refused_merges == [("q", Reason.SINGLE_FACTOR)]
    with_birth_date = ProfileView("q", 1, phone_only.links, Traits("smith", "1970-01-01"))
    world = _world(owners={PHONE.key: "q"}, profiles={"q": with_birth_date}, claimants={PHONE.key: 1},
                   trait_claimants={("last_name", "smith"): 2, ("date_of_birth", "1970-01-01"): 2})
    merged = decide([Claim(OIDC, True), Claim(PHONE, True)], Traits("smith", "1970-01-01"), world, Policy())
    assert [m.factors for m in merged.merges] == [("phone", "last_name", "date_of_birth")]


def test_shared_names_and_birth_dates_do_not_count_as_factors() -> None:
    phone_only = ProfileView("q", 1, (LinkView(IdentifierType.PHONE, PHONE.value, True),), Traits("smith", "1970-01-01"))
    world = _world(owners={PHONE.key: "q"}, profiles={"q": phone_only}, claimants={PHONE.key: 1},
                   trait_claimants={("last_name", "smith"): 6, ("date_of_birth", "1970-01-01"): 6})
    decision = decide([Claim(OIDC, True), Claim(PHONE, True)], Traits("smith", "1970-01-01"), world, Policy())
    assert decision.merges == [] and decision.refused_merges == [("q", Reason.SHARED_VALUE)]


def test_an_undone_merge_stands_until_stronger_evidence() -> None:
    target = ProfileView("p", 1, (LinkView(IdentifierType.OIDC, OIDC.value, True),))
    world = _world(owners={OIDC.key: "p", PHONE.key: "q", EMAIL.key: "q"}, profiles={"p": target, "q": _sms_profile()},
                   claimants={PHONE.key: 1}, undone={frozenset({"p", "q"}): 2})
    same = decide([Claim(OIDC, True), Claim(PHONE, True), Claim(EMAIL, True)], Traits(), world, Policy())
    assert same.merges == [] and same.refused_merges == [("q", Reason.MERGE_UNDONE)]
    assert [o.reason for o in same.outcomes[1:]] == [Reason.MERGE_UNDONE, Reason.MERGE_UNDONE]
    stronger = ProfileView("q", 1, _sms_profile().links, Traits(None, "1970-01-01"))
    world = _world(owners=world.owners, profiles={"p": target, "q": stronger}, claimants={PHONE.key: 1},
                   undone={frozenset({"p", "q"}): 2}, trait_claimants={("date_of_birth", "1970-01-01"): 2})
    assert decide([Claim(OIDC, True), Claim(PHONE, True), Claim(EMAIL, True)], Traits(None, "1970-01-01"), world,
                  Policy()).merges[0].absorbed_id == "q"


def test_a_login_on_another_customers_live_session_takes_it_over() -> None:
    session = normalize_opaque("s-1", IdentifierType.WEB_SESSION)
    other = ProfileView("other", 1, (LinkView(IdentifierType.OIDC, "17:https://idp.example|ivy", True),
                                     LinkView(IdentifierType.WEB_SESSION, "s-1", True)))
    world = _world(owners={session.key: "other"}, profiles={"other": other},
                   sessions={"s-1": SessionView("s-1", "other", True, SessionState.LIVE)})
    login = decide([Claim(OIDC, True), Claim(session, False)], Traits(), world, Policy())
    assert login.outcomes[1].reason == Reason.WEB_SESSION_TAKEN_OVER and login.takeovers == {"s-1": "other"}
    assert login.merges == [] and login.refused_merges == []
    guest = decide([Claim(session, False)], Traits(), world, Policy())
    assert guest.target_id is None and guest.outcomes[0].reason == Reason.SESSION_BOUND_TO_ANOTHER_PROFILE


def test_a_distrusted_verified_flag_never_links() -> None:
    decision = decide([Claim(PHONE, False, distrusted=True)], Traits(), _world(), Policy())
    assert decision.outcomes[0].result == Result.SUGGESTED
    assert decision.outcomes[0].reason == Reason.VERIFIED_FLAG_NOT_TRUSTED and not decision.verified
