"""Every request body the program and the service build is checked against the official Platform API models.

The model checker (tests/genesys_models.py) must itself catch what Genesys refuses: each mutation below is a
body Genesys would answer with 400.
"""

from __future__ import annotations

from typing import Any

import pytest

from genesys_identity.genesys import dynamic
from stitching.genesys_mirror import IDENTIFIER_TYPES, MEDIA_TYPES
from tests.genesys_models import REQUIRED, problems, require

WEB = {"region": "us-east-1", "deployment_id": "d", "division_id": "div", "resolve_identities": True,
       "external_source_id": "src", "automerge_authenticated_web_messaging": True, "automerge_web_tracking": False}


def test_the_dynamic_resources_bodies_conform() -> None:
    require("DeploymentIdentityResolutionConfig", dynamic._web_identity_body(WEB))
    require("DeploymentIdentityResolutionConfig", dynamic._web_identity_reset(WEB))
    sms = {"region": "us-east-1", "phone_number": "+13175550100", "division_id": "div", "resolve_identities": True}
    require("SmsIdentityResolutionConfig", dynamic._sms_identity_body(sms))
    require("SmsIdentityResolutionConfig", dynamic._sms_identity_reset(sms))
    require("RecipientRequest", dynamic._routing_body({"flow_id": "f"}))


def test_the_mirror_uses_only_allowed_media_and_identifier_types() -> None:
    for media in set(MEDIA_TYPES.values()):
        require("ConversationAssociation", {"conversationId": "c", "communicationId": "m", "mediaType": media})
    for kind in set(IDENTIFIER_TYPES.values()):
        require("ContactIdentifier", {"type": kind, "value": "v"})


@pytest.mark.parametrize(("model", "body", "problem"), [
    ("ConversationAssociation", {"conversationId": "c", "communicationId": "m", "mediaType": "SMS"},
     "'SMS' is not an allowed value of ConversationAssociation.media_type"),
    ("ConversationAssociation", {"conversationId": "c", "mediaType": "MESSAGE"},
     "ConversationAssociation.communicationId: required by ConversationAssociation but missing"),
    ("ContactEnrichRequest", {"matchingIdentifiers": [{"type": "Phone", "value": "+1"}], "action": "Upsert",
                              "contact": {}},
     "ContactEnrichRequest.contact.firstName: required by ExternalContact but missing"),
    ("ContactEnrichRequest", {"matchingIdentifiers": [{"type": "Telephone", "value": "+1"}], "action": "Upsert"},
     "'Telephone' is not an allowed value of ContactIdentifier.type"),
    ("ContactEnrichRequest", {"matchingIdentifiers": [], "action": "Upsert", "match": True},
     "ContactEnrichRequest.match: not a field of ContactEnrichRequest"),
    ("SmsIdentityResolutionConfig", {"resolveIdentities": "true"}, "expected bool, got str"),
    ("DeploymentIdentityResolutionConfig", {"resolveIdentities": True, "automerge": {"webMessaging": True}},
     "automerge.webMessaging: not a field of IdentityResolutionAutomergeConfig"),
    ("RecipientRequest", {"flow": "f"}, "RecipientRequest.flow: expected an object (RecipientFlow), got str"),
    ("MergeContactsRequest", {"contactIds": "a,b"}, "expected a list, got str"),
])
def test_the_checker_catches_what_genesys_refuses(model: str, body: dict[str, Any], problem: str) -> None:
    assert problem in "\n".join(problems(model, body))


def test_an_entity_reference_needs_only_its_id_and_unknown_models_are_errors() -> None:
    assert problems("ContactIdentifier", {"type": "ExternalId", "value": "v", "externalSource": {"id": "s"}}) == []
    assert problems("ContactIdentifier", {"type": "ExternalId", "value": "v", "externalSource": {"active": True}}) == [
        "ContactIdentifier.externalSource.name: required by ExternalSource but missing"]
    assert "ContactAddress" not in REQUIRED
    found = problems("ExternalContact", {"firstName": "a", "lastName": "b", "address": {"city": "x"}})
    assert found == ["ExternalContact.address: the required fields of ContactAddress are not recorded "
                     "(tests/genesys_models.py REQUIRED)"]


def test_the_fake_refuses_a_query_parameter_the_sdk_call_does_not_take(fake_genesys: Any, api_client_factory: Any) -> None:
    from genesys_identity.errors import GenesysApiError

    client = api_client_factory("us-east-1")
    assert client.get("/api/v2/routing/message/recipients?messengerType=sms&pageSize=100&pageNumber=1") is not None
    with pytest.raises(GenesysApiError, match="messenger_type is not a query parameter of get_routing_message_recipients"):
        client.get("/api/v2/routing/message/recipients?messenger_type=sms")
    with pytest.raises(GenesysApiError, match="no SDK call is recorded for GET /api/v2/users"):
        client.get("/api/v2/users?pageSize=1")
