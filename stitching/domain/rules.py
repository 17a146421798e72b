"""The stitching decision: pure, given what the store found under lock (identity-stitching rules 2-5).

``decide`` takes the request's claims and a ``World`` (the owners of those identifiers, the profiles involved,
the web sessions, how many profiles ever claimed each value) and returns a ``Decision``: which profile the
conversation belongs to, what to link, what to merge, what to record as a suggestion and what to refuse,
each with a reason code. It never reads the clock or the database; the store applies the decision.

Policy, in one place:
- Only verified identifiers link or merge. An unverified one is recorded as a suggestion (rule 2). Which
  identifiers a caller may assert as verified is decided before ``decide`` (the trust model in the service);
  a flag the caller may not set arrives here as ``Claim(verified=False, distrusted=True)`` and is answered with
  ``verified_flag_not_trusted``.
- When the request carries a verified strong identifier (OIDC subject, CRM id), the conversation belongs to
  the owner of that identifier or to a new profile: a weaker match (a phone) never pulls strong identifiers
  into someone else's profile. Without a strong identifier, the owner of the highest-priority verified
  identifier is matched (Genesys' single-match auto-link).
- Another profile matched by the request is merged into the target only when all of these hold:
  the request is strongly verified; every strong identifier of the other profile is itself claimed, verified,
  by the request (so a CRM-only customer and an OIDC customer of one household are as safe as two OIDC
  customers: only the customer's own systems can tie the two anchors) and neither side would end up with two
  different strong identifiers of a type; no factor contradicts (a different date of birth refuses the merge, a
  different last name counts one factor against it); at least two *independent* factors agree (a shared phone
  and a shared last name are one factor, "household"); no agreeing value, identifier or trait, is shared by
  more than ``shared_value_limit`` profiles (such identifiers refuse the merge, such traits do not count); a
  merge of the same two profiles that was undone is redone only on strictly more independent factors than it
  had; and the merged profile stays within the per-type limits (rules 3-4). A live anonymous web session of
  the same visit is adopted by the authenticated profile (its only factor is the session, it has no history
  to hijack). Shadow mode records such merges without making them (rule 5).
- A web session id is context the website sets, never evidence: a guest request continues a live session
  only while that session's profile is anonymous, and never counts as verified. When someone logs in
  (verified strong identifier) on a live session bound to another profile, the session is theirs from then
  on (shared computer): it moves to the login's profile and stops reaching the previous one.
- A web session that was logged out or idle past the timeout identifies nobody (trap 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from stitching.domain.identifiers import Identifier, IdentifierType

STRONG = frozenset({IdentifierType.OIDC, IdentifierType.CRM})
PRIORITY = (IdentifierType.OIDC, IdentifierType.CRM, IdentifierType.PHONE, IdentifierType.EMAIL)
# Segment-style per-type limits on one profile: one person has one login and one CRM record.
PER_PROFILE_LIMIT: Mapping[IdentifierType, int] = {
    IdentifierType.OIDC: 1,
    IdentifierType.CRM: 1,
    IdentifierType.PHONE: 5,
    IdentifierType.EMAIL: 5,
    IdentifierType.WEB_SESSION: 1000,
}


class Reason(StrEnum):
    """Reason codes: they appear in answers, in the audit log and in metrics labels."""

    MATCHED = "matched"
    MATCHED_BY_MERGE = "matched_by_merge"
    VERIFIED_IDENTIFIER = "verified_identifier"
    NEW_WEB_SESSION = "new_web_session"
    UNVERIFIED_CLAIM = "unverified_claim"
    UNVERIFIED_CLAIM_OF_OWNED_IDENTIFIER = "unverified_claim_of_owned_identifier"
    VERIFIED_FLAG_NOT_TRUSTED = "verified_flag_not_trusted"
    WEB_SESSION_ENDED = "web_session_ended"
    WEB_SESSION_EXPIRED = "web_session_expired"
    SESSION_BOUND_TO_ANOTHER_PROFILE = "session_bound_to_another_profile"
    WEB_SESSION_TAKEN_OVER = "web_session_taken_over_by_login"
    NO_STRONG_IDENTIFIER = "no_strong_identifier"
    SINGLE_FACTOR = "single_factor"
    CONFLICTING_STRONG_IDENTIFIER = "conflicting_strong_identifier"
    CONTRADICTING_FACTOR = "contradicting_factor"
    SHARED_VALUE = "shared_value"
    IDENTIFIER_LIMIT = "identifier_limit"
    MERGE_UNDONE = "merge_undone"
    VERIFIED_MULTI_FACTOR = "verified_multi_factor"
    ANONYMOUS_SESSION_ADOPTED = "anonymous_session_adopted"
    SHADOW_MODE = "shadow_mode"


class Result(StrEnum):
    MATCHED = "matched"
    LINKED = "linked"
    SUGGESTED = "suggested"
    REFUSED = "refused"


class SessionState(StrEnum):
    LIVE = "live"
    ENDED = "ended"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Claim:
    identifier: Identifier
    verified: bool
    distrusted: bool = False  # the caller said "verified" but may not vouch for this type on this channel

    @property
    def type(self) -> IdentifierType:
        return self.identifier.type


@dataclass(frozen=True)
class Traits:
    """Supporting factors: never link on their own, count toward a merge only from callers that may vouch for them."""

    last_name: str | None = None
    date_of_birth: str | None = None  # ISO date


# Factors that one household shares count once: a family has one home phone and one surname.
_FACTOR_GROUP: Mapping[str, str] = {"phone": "household", "last_name": "household"}


def independent_factors(factors: Iterable[str]) -> int:
    """How many independent factors a list of agreeing factors is (``phone`` + ``last_name`` is one)."""
    return len({_FACTOR_GROUP.get(f, f) for f in factors})


@dataclass(frozen=True)
class LinkView:
    type: IdentifierType
    value: str
    verified: bool


@dataclass(frozen=True)
class ProfileView:
    id: str
    created_at: int
    links: tuple[LinkView, ...]
    traits: Traits = Traits()

    def count(self, kind: IdentifierType) -> int:
        return sum(1 for link in self.links if link.type == kind)

    def values(self, kind: IdentifierType) -> frozenset[str]:
        return frozenset(link.value for link in self.links if link.type == kind)

    @property
    def anonymous(self) -> bool:
        """No verified identifier except web sessions: nothing here anyone could hijack."""
        return not any(link.verified and link.type != IdentifierType.WEB_SESSION for link in self.links)


@dataclass(frozen=True)
class SessionView:
    id: str
    profile_id: str
    authenticated: bool
    state: SessionState


@dataclass(frozen=True)
class World:
    owners: Mapping[tuple[str, str], str]  # identifier key -> owning profile id
    profiles: Mapping[str, ProfileView]  # every owner, and the conversation's profile
    sessions: Mapping[str, SessionView]
    claimants: Mapping[tuple[str, str], int]  # distinct profiles that ever presented the value
    conversation_profile: str | None = None  # the profile this conversation was already stitched to
    # Active profiles holding a trait value: ("last_name", "smith") -> 6. Loaded when a merge is possible.
    trait_claimants: Mapping[tuple[str, str], int] = field(default_factory=dict)
    # Undone merges between two of the profiles involved: {a, b} -> the most independent factors such a merge had.
    undone: Mapping[frozenset[str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    shared_value_limit: int = 5
    shadow_mode: bool = False


@dataclass(frozen=True)
class Outcome:
    identifier: Identifier
    result: Result
    reason: Reason


@dataclass(frozen=True)
class MergePlan:
    absorbed_id: str
    reason: Reason
    factors: tuple[str, ...]


@dataclass
class Decision:
    target_id: str | None  # None: create a new profile
    verified: bool  # the conversation is tied to the profile by verified evidence
    outcomes: list[Outcome] = field(default_factory=list)
    merges: list[MergePlan] = field(default_factory=list)
    shadow_merges: list[MergePlan] = field(default_factory=list)
    refused_merges: list[tuple[str, Reason]] = field(default_factory=list)  # (profile id, why)
    record_traits: bool = False
    takeovers: dict[str, str] = field(default_factory=dict)  # web session id -> the profile it is taken from

    def with_result(self, result: Result) -> list[Outcome]:
        return [o for o in self.outcomes if o.result == result]

    @property
    def links(self) -> list[Outcome]:
        return self.with_result(Result.LINKED)


def decide(claims: list[Claim], traits: Traits, world: World, policy: Policy) -> Decision:
    """What a request's claims do to the profiles in ``world``.

    On PostgreSQL the commonest request, one verified phone claim from SMS, is decided inside the database by
    ``stitch_sms`` (migration 6) for the two plain cases (a linked phone: matched; an unknown phone on a new
    conversation: a new profile). A change to what this function decides for one verified phone needs a new
    migration of that function; ``tests/service/test_sms_one_trip.py`` compares the two on a corpus."""
    strong = any(c.verified and c.type in STRONG for c in claims)
    sessions = {c.identifier.value: world.sessions.get(c.identifier.value) for c in claims
                if c.type == IdentifierType.WEB_SESSION}
    live_session_owner = next((s.profile_id for s in sessions.values() if s and s.state == SessionState.LIVE), None)

    target = _choose_target(claims, world, strong, live_session_owner)
    decision = Decision(target_id=target, verified=False, record_traits=strong)
    merged: set[str] = set()
    for other in _other_matches(claims, world, target, live_session_owner):
        plan, refusal = _merge_plan(other, target, claims, traits, world, policy, strong, live_session_owner)
        if plan is None:
            decision.refused_merges.append((other, refusal))
        elif policy.shadow_mode:
            decision.shadow_merges.append(MergePlan(plan.absorbed_id, Reason.SHADOW_MODE, plan.factors))
        else:
            decision.merges.append(plan)
            merged.add(other)
    refusal_for = dict(decision.refused_merges)

    counts = _counts_after_merges(target, merged, world)
    for claim in claims:
        outcome = _claim_outcome(claim, target, merged, refusal_for, sessions, world, strong, counts)
        decision.outcomes.append(outcome)
        if outcome.result == Result.LINKED:
            counts[claim.type] = counts.get(claim.type, 0) + 1
        if outcome.reason == Reason.WEB_SESSION_TAKEN_OVER:
            session = sessions[claim.identifier.value]
            assert session is not None
            decision.takeovers[claim.identifier.value] = session.profile_id

    decision.verified = any(
        o.result in (Result.MATCHED, Result.LINKED) and _is_verified_evidence(o, claims) for o in decision.outcomes
    )
    return decision


def _choose_target(claims: list[Claim], world: World, strong: bool, live_session_owner: str | None) -> str | None:
    ordered = sorted((c for c in claims if c.verified and c.type in PRIORITY), key=lambda c: PRIORITY.index(c.type))
    if strong:
        ordered = [c for c in ordered if c.type in STRONG]
    for claim in ordered:
        owner = world.owners.get(claim.identifier.key)
        if owner is not None:
            return owner
    # A live session continues only an anonymous visit: a login upgrades its own anonymous visit, a guest
    # continues it; neither ever reaches a verified customer's profile through a session id (context, not evidence).
    if live_session_owner is not None and world.profiles[live_session_owner].anonymous:
        return live_session_owner
    if world.conversation_profile is not None and not strong:
        return world.conversation_profile
    return None


def _other_matches(claims: list[Claim], world: World, target: str | None, live_session_owner: str | None) -> list[str]:
    found: list[str] = []
    for claim in claims:
        owner = world.owners.get(claim.identifier.key)
        if claim.type == IdentifierType.WEB_SESSION:
            # Only an anonymous visit is a merge candidate through its session; a verified customer's session is
            # taken over by a login (or refused to a guest), never a reason to merge two people.
            owner = live_session_owner if live_session_owner and world.profiles[live_session_owner].anonymous else None
        elif not claim.verified:
            continue
        if owner is not None and owner != target and owner not in found:
            found.append(owner)
    return found


def _merge_plan(
    other: str, target: str | None, claims: list[Claim], traits: Traits, world: World, policy: Policy, strong: bool,
    live_session_owner: str | None,
) -> tuple[MergePlan | None, Reason]:
    """Whether ``other`` may merge into the target (``None``: the profile this request creates)."""
    absorbed = world.profiles[other]
    survivor = world.profiles[target] if target is not None else ProfileView("", 0, ())
    if not strong:
        return None, Reason.NO_STRONG_IDENTIFIER
    undone = world.undone.get(frozenset({other, target})) if target is not None else None
    if other == live_session_owner and absorbed.anonymous:
        if undone is not None:
            return None, Reason.MERGE_UNDONE
        return MergePlan(other, Reason.ANONYMOUS_SESSION_ADOPTED, ("web_session",)), Reason.ANONYMOUS_SESSION_ADOPTED
    for kind in STRONG:
        mine, theirs = survivor.values(kind), absorbed.values(kind)
        requested = {c.identifier.value for c in claims if c.type == kind and c.verified}
        if theirs and (mine | requested) and theirs != (mine | requested):
            return None, Reason.CONFLICTING_STRONG_IDENTIFIER
        if theirs and not theirs <= requested:
            # Their anchor is not part of this request: two anchored customers (a household) unless the
            # customer's own systems tie both anchors in one verified request.
            return None, Reason.CONFLICTING_STRONG_IDENTIFIER
    factors: list[str] = []
    for claim in claims:
        if claim.verified and claim.type != IdentifierType.WEB_SESSION and world.owners.get(claim.identifier.key) == other:
            if world.claimants.get(claim.identifier.key, 1) > policy.shared_value_limit:
                return None, Reason.SHARED_VALUE
            if claim.type.value not in factors:
                factors.append(claim.type.value)
    mine_traits = Traits(traits.last_name or survivor.traits.last_name,
                         traits.date_of_birth or survivor.traits.date_of_birth)
    contradictions: list[str] = []
    shared = False
    for name in ("last_name", "date_of_birth"):
        mine_value, their_value = getattr(mine_traits, name), getattr(absorbed.traits, name)
        if not mine_value or not their_value:
            continue
        if mine_value != their_value:
            if name == "date_of_birth":
                return None, Reason.CONTRADICTING_FACTOR  # one person has one date of birth
            contradictions.append(name)
        elif world.trait_claimants.get((name, mine_value), 2) > policy.shared_value_limit:
            shared = True  # a value this common says nothing about who is who
        else:
            factors.append(name)
    strength = independent_factors(factors)
    if strength - len(contradictions) < 2:
        if contradictions:
            return None, Reason.CONTRADICTING_FACTOR
        return None, Reason.SHARED_VALUE if shared else Reason.SINGLE_FACTOR
    if undone is not None and strength <= undone:
        return None, Reason.MERGE_UNDONE
    for kind, limit in PER_PROFILE_LIMIT.items():
        if len(survivor.values(kind) | absorbed.values(kind)) > limit:
            return None, Reason.IDENTIFIER_LIMIT
    return MergePlan(other, Reason.VERIFIED_MULTI_FACTOR, tuple(factors)), Reason.VERIFIED_MULTI_FACTOR


def _counts_after_merges(target: str | None, merged: set[str], world: World) -> dict[IdentifierType, int]:
    counts: dict[IdentifierType, int] = {}
    for profile_id in ([target] if target else []) + sorted(merged):
        for link in world.profiles[profile_id].links:
            counts[link.type] = counts.get(link.type, 0) + 1
    return counts


def _claim_outcome(
    claim: Claim, target: str | None, merged: set[str], refusal_for: Mapping[str, Reason],
    sessions: Mapping[str, SessionView | None], world: World, strong: bool, counts: Mapping[IdentifierType, int],
) -> Outcome:
    ident = claim.identifier
    owner = world.owners.get(ident.key)
    if claim.type == IdentifierType.WEB_SESSION:
        session = sessions[ident.value]
        if session is None:
            return Outcome(ident, Result.LINKED, Reason.NEW_WEB_SESSION)
        if session.state == SessionState.ENDED:
            return Outcome(ident, Result.REFUSED, Reason.WEB_SESSION_ENDED)
        if session.state == SessionState.EXPIRED:
            return Outcome(ident, Result.REFUSED, Reason.WEB_SESSION_EXPIRED)
        if session.profile_id == target:
            return Outcome(ident, Result.MATCHED, Reason.MATCHED)
        if session.profile_id in merged:
            return Outcome(ident, Result.MATCHED, Reason.MATCHED_BY_MERGE)
        if strong:  # shared computer: whoever logs in on a live session owns it from then on
            return Outcome(ident, Result.LINKED, Reason.WEB_SESSION_TAKEN_OVER)
        return Outcome(ident, Result.REFUSED, Reason.SESSION_BOUND_TO_ANOTHER_PROFILE)
    if owner is not None and owner == target:
        return Outcome(ident, Result.MATCHED, Reason.MATCHED)
    if owner is not None and owner in merged:
        return Outcome(ident, Result.MATCHED, Reason.MATCHED_BY_MERGE)
    if owner is not None:
        if not claim.verified:
            reason = Reason.VERIFIED_FLAG_NOT_TRUSTED if claim.distrusted else Reason.UNVERIFIED_CLAIM_OF_OWNED_IDENTIFIER
            return Outcome(ident, Result.REFUSED, reason)
        return Outcome(ident, Result.SUGGESTED, refusal_for.get(owner, Reason.SINGLE_FACTOR))
    if not claim.verified:
        return Outcome(ident, Result.SUGGESTED,
                       Reason.VERIFIED_FLAG_NOT_TRUSTED if claim.distrusted else Reason.UNVERIFIED_CLAIM)
    if counts.get(claim.type, 0) >= PER_PROFILE_LIMIT[claim.type]:
        reason = Reason.CONFLICTING_STRONG_IDENTIFIER if claim.type in STRONG else Reason.IDENTIFIER_LIMIT
        return Outcome(ident, Result.REFUSED, reason)
    return Outcome(ident, Result.LINKED, Reason.VERIFIED_IDENTIFIER)


def _is_verified_evidence(outcome: Outcome, claims: list[Claim]) -> bool:
    ident = outcome.identifier
    if ident.type == IdentifierType.WEB_SESSION:
        return False  # a session id is context the website sets, never evidence
    return any(c.identifier == ident and c.verified for c in claims)
