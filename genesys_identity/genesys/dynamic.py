"""Genesys settings that provider 1.84.1 cannot declare, as Pulumi dynamic resources over the REST API.

Each setting is a ``RestSetting``: a singleton document under a path (``PUT`` to set, ``GET`` to read) whose
"delete" puts it back to its neutral value. One provider class serves them all, so web deployment identity
resolution, SMS identity resolution and SMS message routing share one tested mechanism.

Properties are snake_case, as in the platform SDK's models. The provider reads OAuth client credentials
from the same environment variables as the genesyscloud provider; they never enter the resource's state.

SMS numbers are named by their E.164 number, what users know. No public source says which id the SMS
identity-resolution path (``.../phonenumbers/{addressId}``) and the message routing path
(``/routing/message/recipients/{recipientId}``) take, so both are read from the org when the resource is
created or updated: the number's id from ``GET /api/v2/routing/sms/phonenumbers`` (``SmsPhoneNumber.phoneNumber``),
its recipient from ``GET /api/v2/routing/message/recipients?messengerType=sms`` (the recipient whose id is the
number's id or whose name is the number; none or several is an error naming the number). The resolved ids are
kept in the resource's state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dyn

from genesys_identity.errors import GenesysApiError, GenesysIdentityError
from genesys_identity.genesys.rest import GenesysApiClient

Props = Mapping[str, Any]


@dataclass(frozen=True)
class RestSetting:
    kind: str
    path: str  # placeholders name identity properties: /api/v2/.../{deployment_id}/identityresolution
    identity: tuple[str, ...]  # properties that name the object; changing one replaces the resource
    managed: tuple[str, ...]  # properties written to Genesys and compared on diff
    booleans: tuple[str, ...]
    to_body: Callable[[Props], dict[str, Any]]
    from_body: Callable[[Mapping[str, Any]], dict[str, Any]]
    reset_body: Callable[[Props], dict[str, Any]] | None
    # Ids read from the org at deploy time (path placeholders that are not identity properties).
    resolve: Callable[[GenesysApiClient, Props], dict[str, str]] | None = None

    def url(self, props: Props) -> str:
        return self.path.format(**props)

    def resource_id(self, props: Props) -> str:
        return "/".join([self.kind, *(str(props[key]) for key in self.identity)])


def _ref(value: Any) -> dict[str, Any] | None:
    return {"id": value} if value else None


def _ref_id(body: Mapping[str, Any], key: str) -> str | None:
    ref = body.get(key)
    return str(ref["id"]) if isinstance(ref, Mapping) and ref.get("id") else None


def _compact(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


def _web_identity_body(props: Props) -> dict[str, Any]:
    return _compact({
        "division": _ref(props.get("division_id")),
        "resolveIdentities": bool(props["resolve_identities"]),
        "externalSource": _ref(props.get("external_source_id")),
        "automerge": {
            "authenticatedWebMessaging": bool(props.get("automerge_authenticated_web_messaging", False)),
            "webTracking": bool(props.get("automerge_web_tracking", False)),
        },
    })


def _web_identity_props(body: Mapping[str, Any]) -> dict[str, Any]:
    automerge = body.get("automerge") or {}
    return {
        "division_id": _ref_id(body, "division"),
        "resolve_identities": bool(body.get("resolveIdentities", False)),
        "external_source_id": _ref_id(body, "externalSource"),
        "automerge_authenticated_web_messaging": bool(automerge.get("authenticatedWebMessaging", False)),
        "automerge_web_tracking": bool(automerge.get("webTracking", False)),
    }


def _web_identity_reset(props: Props) -> dict[str, Any]:
    return _compact({
        "division": _ref(props.get("division_id")),
        "resolveIdentities": False,
        "automerge": {"authenticatedWebMessaging": False, "webTracking": False},
    })


def _sms_identity_body(props: Props) -> dict[str, Any]:
    return _compact({"division": _ref(props.get("division_id")), "resolveIdentities": bool(props["resolve_identities"])})


def _sms_identity_props(body: Mapping[str, Any]) -> dict[str, Any]:
    return {"division_id": _ref_id(body, "division"), "resolve_identities": bool(body.get("resolveIdentities", False))}


def _sms_identity_reset(props: Props) -> dict[str, Any]:
    return _compact({"division": _ref(props.get("division_id")), "resolveIdentities": False})


WEB_DEPLOYMENT_IDENTITY_RESOLUTION = RestSetting(
    kind="webdeployment-identityresolution",
    path="/api/v2/webdeployments/deployments/{deployment_id}/identityresolution",
    identity=("deployment_id",),
    managed=("division_id", "resolve_identities", "external_source_id",
             "automerge_authenticated_web_messaging", "automerge_web_tracking"),
    booleans=("resolve_identities", "automerge_authenticated_web_messaging", "automerge_web_tracking"),
    to_body=_web_identity_body,
    from_body=_web_identity_props,
    reset_body=_web_identity_reset,
)

class SmsNumberNotFound(GenesysIdentityError):
    """An SMS number of the stack is not provisioned in the org (the message names it)."""


def _digits(text: Any) -> str:
    return "".join(ch for ch in str(text or "") if ch.isdigit())


def find_sms_number(client: GenesysApiClient, e164: str) -> dict[str, Any]:
    """The org's ``SmsPhoneNumber`` whose ``phoneNumber`` is ``e164``."""
    found = [n for n in client.get_all(f"/api/v2/routing/sms/phonenumbers?phoneNumber={_digits(e164)}")
             if n.get("phoneNumber") == e164 and n.get("id")]
    if not found:
        raise SmsNumberNotFound(f"SMS number {e164} is not provisioned in this org "
                                "(GET /api/v2/routing/sms/phonenumbers lists none with that phoneNumber)")
    return found[0]


def find_recipient(client: GenesysApiClient, e164: str, number_id: str) -> str:
    """The id of the SMS messaging recipient of ``e164``: the recipient with the number's id or named by the number."""
    recipients = client.get_all("/api/v2/routing/message/recipients?messengerType=sms")
    matches = {str(r["id"]) for r in recipients
               if r.get("id") and (r["id"] == number_id or _digits(r.get("name")) == _digits(e164))}
    if not matches:
        raise SmsNumberNotFound(f"SMS number {e164} has no SMS message recipient in this org "
                                "(GET /api/v2/routing/message/recipients?messengerType=sms)")
    if len(matches) > 1:
        raise SmsNumberNotFound(f"SMS number {e164} matches several message recipients ({', '.join(sorted(matches))}); "
                                "route it by hand or remove the duplicate")
    return matches.pop()


def _resolve_address(client: GenesysApiClient, props: Props) -> dict[str, str]:
    return {"address_id": str(find_sms_number(client, str(props["phone_number"]))["id"])}


def _resolve_recipient(client: GenesysApiClient, props: Props) -> dict[str, str]:
    number = find_sms_number(client, str(props["phone_number"]))
    return {"recipient_id": find_recipient(client, str(props["phone_number"]), str(number["id"]))}


SMS_IDENTITY_RESOLUTION = RestSetting(
    kind="sms-identityresolution",
    path="/api/v2/routing/sms/identityresolution/phonenumbers/{address_id}",
    identity=("phone_number",),
    managed=("division_id", "resolve_identities"),
    booleans=("resolve_identities",),
    to_body=_sms_identity_body,
    from_body=_sms_identity_props,
    reset_body=_sms_identity_reset,
    resolve=_resolve_address,
)

def _routing_body(props: Props) -> dict[str, Any]:
    return {"flow": {"id": props["flow_id"]}}


def _routing_props(body: Mapping[str, Any]) -> dict[str, Any]:
    return {"flow_id": _ref_id(body, "flow")}


# An SMS number (a messaging recipient) routed to an inbound message flow. Genesys wants a flow on a
# recipient, so deleting this leaves the last routing in place (reset_body None); the recipient is
# resolved from the number at deploy time.
MESSAGE_ROUTING = RestSetting(
    kind="message-routing",
    path="/api/v2/routing/message/recipients/{recipient_id}",
    identity=("phone_number",),
    managed=("flow_id",),
    booleans=(),
    to_body=_routing_body,
    from_body=_routing_props,
    reset_body=None,
    resolve=_resolve_recipient,
)

SETTINGS: dict[str, RestSetting] = {
    s.kind: s for s in (WEB_DEPLOYMENT_IDENTITY_RESOLUTION, SMS_IDENTITY_RESOLUTION, MESSAGE_ROUTING)
}


class RestSettingProvider(dyn.ResourceProvider):
    """CRUD and diff for one ``RestSetting`` kind. ``client_factory`` lets tests aim at a fake API."""

    def __init__(self, kind: str, client_factory: Callable[[str], GenesysApiClient] | None = None):
        super().__init__()
        self.kind = kind
        self.client_factory = client_factory

    @property
    def setting(self) -> RestSetting:
        return SETTINGS[self.kind]

    def _client(self, props: Props) -> GenesysApiClient:
        factory = self.client_factory or GenesysApiClient.from_environment
        return factory(str(props["region"]))

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        failures = [
            dyn.CheckFailure(key, f"{self.kind}: {key} is required")
            for key in ("region", *self.setting.identity)
            if not news.get(key)
        ]
        if "phone_number" in self.setting.identity and news.get("phone_number") \
                and not re.fullmatch(r"\+[1-9]\d{6,14}", str(news["phone_number"])):
            failures.append(dyn.CheckFailure("phone_number", f"{self.kind}: phone_number must be E.164 (+ and digits), "
                                                             f"got {news['phone_number']!r}"))
        failures += [
            dyn.CheckFailure(key, f"{self.kind}: {key} must be true or false")
            for key in self.setting.booleans
            if key in news and not isinstance(news[key], bool)
        ]
        return dyn.CheckResult(news, failures)

    def _resolved(self, client: GenesysApiClient, props: Props, *, fresh: bool) -> dict[str, Any]:
        """``props`` with the ids read from the org (again when ``fresh``, else only when the state lacks them)."""
        resolve = self.setting.resolve
        if resolve is None:
            return dict(props)
        if not fresh and all(key in props and props[key] for key in self._path_keys()):
            return dict(props)
        try:
            return {**props, **resolve(client, props)}
        except GenesysIdentityError as exc:
            raise GenesysApiError(f"{self.kind}: {exc}") from None

    def _path_keys(self) -> list[str]:
        return [name for name in re.findall(r"{(\w+)}", self.setting.path) if name not in self.setting.identity]

    def _put(self, props: Props) -> dict[str, Any]:
        setting = self.setting
        client = self._client(props)
        try:
            resolved = self._resolved(client, props, fresh=True)
            answer = client.put(setting.url(resolved), setting.to_body(resolved))
        finally:
            client.close()
        live = setting.from_body(answer) if isinstance(answer, Mapping) else {}
        return {**resolved, **{key: value for key, value in live.items() if key in setting.managed}}

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        return dyn.CreateResult(self.setting.resource_id(props), self._put(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        return dyn.UpdateResult(self._put(news))

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        setting = self.setting
        client = self._client(props)
        try:
            resolved = self._resolved(client, props, fresh=False)
            answer = client.get(setting.url(resolved))
        finally:
            client.close()
        return dyn.ReadResult(id_, {**resolved, **setting.from_body(answer or {})})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        setting = self.setting
        if setting.reset_body is None:
            return
        client = self._client(props)
        try:
            resolved = self._resolved(client, props, fresh=False)
            client.put(setting.url(resolved), setting.reset_body(resolved))
        except GenesysApiError as exc:
            if exc.status != 404:  # the object it configured is gone: nothing left to reset
                raise
        finally:
            client.close()

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        setting = self.setting
        keys = ("region", *setting.identity, *setting.managed)
        changed = [key for key in keys if olds.get(key) != news.get(key)]
        replaces = [key for key in changed if key == "region" or key in setting.identity]
        return dyn.DiffResult(changes=bool(changed), replaces=replaces, stables=list(setting.identity),
                              delete_before_replace=False)


class WebDeploymentIdentityResolution(dyn.Resource, module="genesys", name="WebDeploymentIdentityResolution"):
    """Identity resolution of a web deployment (``/webdeployments/deployments/{id}/identityresolution``).

    Genesys refuses automerge of authenticated web messaging unless the deployment's configuration has
    authentication enabled, so declare this after the configuration and deployment (``depends_on``).
    """

    def __init__(
        self,
        name: str,
        *,
        region: str,
        deployment_id: pulumi.Input[str],
        resolve_identities: bool,
        external_source_id: pulumi.Input[str] | None,
        automerge_authenticated_web_messaging: bool,
        automerge_web_tracking: bool = False,
        division_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "region": region,
            "deployment_id": deployment_id,
            "division_id": division_id,
            "resolve_identities": resolve_identities,
            "external_source_id": external_source_id,
            "automerge_authenticated_web_messaging": automerge_authenticated_web_messaging,
            "automerge_web_tracking": automerge_web_tracking,
        }
        super().__init__(RestSettingProvider(WEB_DEPLOYMENT_IDENTITY_RESOLUTION.kind), name, props, opts)


class SmsIdentityResolution(dyn.Resource, module="genesys", name="SmsIdentityResolution"):
    """Identity resolution of an SMS number named by its E.164 number (the number's id is read from the org)."""

    def __init__(
        self,
        name: str,
        *,
        region: str,
        phone_number: str,
        resolve_identities: bool,
        division_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {"region": region, "phone_number": phone_number, "address_id": None, "division_id": division_id,
                 "resolve_identities": resolve_identities}
        super().__init__(RestSettingProvider(SMS_IDENTITY_RESOLUTION.kind), name, props, opts)


class MessageRouting(dyn.Resource, module="genesys", name="MessageRouting"):
    """Routes an SMS number, named by its E.164 number, to an inbound message flow (its recipient is read from the org)."""

    def __init__(
        self,
        name: str,
        *,
        region: str,
        phone_number: str,
        flow_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {"region": region, "phone_number": phone_number, "recipient_id": None, "flow_id": flow_id}
        super().__init__(RestSettingProvider(MESSAGE_ROUTING.kind), name, props, opts)
