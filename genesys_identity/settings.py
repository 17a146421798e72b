"""Stack settings: the stack's config parsed once into a validated, immutable model.

Every mistake names the stack file, the key and what was expected, in one line. Components never read
config; they receive parts of ``StackSettings``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import phonenumbers

from genesys_identity.errors import SettingsError
from genesys_identity.genesys.schema import load as load_schema
from genesys_identity.stackfile import OFFLINE_SECRET, secret_env_name

PROJECT = "genesys-identity"

_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
_HOSTNAME = re.compile(r"^(?:\*\.)?(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$|^localhost$")
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,23}[a-z0-9]$")
_QUEUE_NAME = re.compile(r"^[^\s](?:.{0,253}[^\s])?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_K8S_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]{0,254}$")

# The longest last-agent window: the Get Last Interaction Context contract takes windowMinutes up to 10080
# (data_actions/get-last-interaction-context.json) and the service's /v1/context answers 422 above 7 days
# (stitching/api/app.py), so a longer window would fail every SMS flow's context call and route nobody back.
MAX_LAST_AGENT_WINDOW = timedelta(days=7)
REFRESH_TOKEN_LIFETIME = (timedelta(minutes=15), timedelta(days=90))  # the OIDC Messenger integration's bounds


class Secret:
    """A secret value: it never prints, and components hand it to Pulumi as a secret output."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('[secret]')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


# The stack key of each of the integration type's names, and the ``OidcIntegrationSchema`` field it fills.
OIDC_SCHEMA_KEYS: tuple[tuple[str, str], ...] = (
    ("oidcDiscoveryUriProperty", "discovery_uri_property"),
    ("oidcRefreshTokenLifetimeProperty", "refresh_token_lifetime_property"),
    ("oidcCredentialSlot", "credential_slot"),
    ("oidcCredentialType", "credential_type"),
    ("oidcClientIdField", "client_id_field"),
    ("oidcClientSecretField", "client_secret_field"),
)


@dataclass(frozen=True)
class OidcIntegrationSchema:
    """The "OpenID Connect Messenger Configuration" integration type's names, read from the org with
    ``python -m genesys_identity genesys discover`` (no public source gives them)."""

    discovery_uri_property: str
    refresh_token_lifetime_property: str
    credential_slot: str
    credential_type: str
    client_id_field: str
    client_secret_field: str


@dataclass(frozen=True)
class OidcSettings:
    integration_type_id: str
    discovery_uri: str
    client_id: str
    client_secret: Secret = field(repr=False)
    refresh_token_lifetime: timedelta
    schema: OidcIntegrationSchema = OidcIntegrationSchema("", "", "", "", "", "")


@dataclass(frozen=True)
class QueueSettings:
    web: str
    sms: str


@dataclass(frozen=True)
class ServiceDeployment:
    """Where the stitching service runs: ``external`` (the stack only takes its URL) or ``kubernetes``."""

    target: str
    image: str | None = None
    replicas: int = 1
    max_replicas: int = 1
    namespace: str = "genesys-identity"
    database_url: Secret | None = field(default=None, repr=False)
    ingress: bool = True
    ingress_class: str | None = None
    tls_secret: str = "stitching-tls"
    default_phone_region: str = "US"
    kube_context: str | None = None  # the kubeconfig context the stack deploys to (never the ambient one)
    kubeconfig: str | None = None  # a kubeconfig file; None: $KUBECONFIG or ~/.kube/config, with kube_context
    create_namespace: bool = True  # False: deploy into an existing namespace
    ingress_namespace: str = "ingress-nginx"  # the ingress controller's namespace: the only one let in
    monitoring_namespace: str | None = None  # where Prometheus runs (let in on the metrics port); None: nobody
    service_monitor: bool = False  # a prometheus-operator ServiceMonitor
    database_cidr: str = "0.0.0.0/0"  # where the database is (egress on its port)

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url is not None and self.database_url.reveal().startswith("sqlite:")


@dataclass(frozen=True)
class StackSettings:
    project: str
    stack: str
    region: str
    name_prefix: str
    division_id: str | None
    allowed_domains: tuple[str, ...]
    authentication_enabled: bool
    automerge_web_tracking: bool
    oidc: OidcSettings
    crm_profile_url_template: str | None
    default_phone_region: str
    queues: QueueSettings
    stitching_service_url: str
    last_agent_window: timedelta
    web_session_timeout: timedelta
    catalog_overlay: Path | None = None  # absolute, inside the project
    sms_numbers: tuple[str, ...] = ()  # provisioned SMS numbers (E.164) routed to the SMS flow; ids resolved at deploy
    force_unlock_flows: bool = False
    service: ServiceDeployment = ServiceDeployment("external")
    # Archy's `division:` takes the division's name, not its id (provider example inboundmessage_flow.tf).
    division_name: str = "Home"
    # Whether the web flow sends the OIDC email claim as verified (the service also needs STITCHING_TRUST_EMAIL_CLAIM).
    trust_email_claim: bool = False
    # Members of both queues, so the agent of a web chat can be offered the customer's SMS (preferred agents are
    # used only when members of the target queue).
    agent_user_ids: tuple[str, ...] = ()
    agent_group_ids: tuple[str, ...] = ()

    def name(self, role: str) -> str:
        """A Genesys object name that is stable per stack: ``<prefix> <role>``."""
        return f"{self.name_prefix} {role}"


class ConfigSource(Protocol):
    """Where raw config values come from: the Pulumi runtime, or a stack file read offline."""

    def get(self, key: str) -> Any: ...

    def is_secret(self, key: str) -> bool: ...

    def keys(self) -> list[str]: ...

    @property
    def root(self) -> Path: ...


@dataclass(frozen=True)
class KeySpec:
    key: str
    kind: str  # the expectation, in words, for messages and docs
    required: bool = True
    default: Any = None
    secret: bool = False


# The project settings, in the order Pulumi.yaml documents them.
KEYS: tuple[KeySpec, ...] = (
    KeySpec("region", "a Genesys Cloud region such as us-east-1"),
    KeySpec("namePrefix", "a lower-case prefix for object names, 3-25 of a-z, 0-9, '-'"),
    KeySpec("divisionId", "a division id (empty for the home division)", required=False),
    KeySpec("divisionName", "the name of that division, as Architect flows name it", required=False, default="Home"),
    KeySpec("allowedDomains", "a non-empty list of host names without scheme or path"),
    KeySpec("authenticationEnabled", "true or false", required=False, default=True),
    KeySpec("automergeWebTracking", "true or false", required=False, default=False),
    KeySpec("oidcIntegrationTypeId", "the OpenID Connect Messenger Configuration integration type id"),
    KeySpec("oidcDiscoveryUri", "an https URL of the identity provider's OpenID discovery document"),
    KeySpec("oidcClientId", "the identity provider's client id"),
    KeySpec("oidcClientSecret", "the identity provider's client secret", required=False, secret=True),
    KeySpec("oidcRefreshTokenLifetime", "a duration between 15m and 90d", required=False, default="30d"),
    # The OIDC integration type's own names (`python -m genesys_identity genesys discover --region R` prints them).
    KeySpec("oidcDiscoveryUriProperty", "the integration type's property key of the discovery URI (genesys discover)"),
    KeySpec("oidcRefreshTokenLifetimeProperty",
            "the integration type's property key of the max refresh token lifetime (genesys discover)"),
    KeySpec("oidcCredentialSlot", "the integration type's credential slot (genesys discover)"),
    KeySpec("oidcCredentialType", "the credential type name of that slot (genesys discover)"),
    KeySpec("oidcClientIdField", "the credential type's field of the client id (genesys discover)"),
    KeySpec("oidcClientSecretField", "the credential type's field of the client secret (genesys discover)"),
    KeySpec("crmProfileUrlTemplate", "an https URL template of a CRM profile page with {{externalId.value}} where "
            "the contact's CRM id goes", required=False),
    KeySpec("defaultPhoneRegion", "a two-letter phone region such as US", required=False, default="US"),
    KeySpec("webQueue", "a queue name"),
    KeySpec("smsQueue", "a queue name"),
    KeySpec("stitchingServiceUrl", "an https URL of the stitching service"),
    KeySpec("lastAgentWindow", "a duration between 1m and 7d such as 2h", required=False, default="2h"),
    KeySpec("webSessionTimeout", "a positive duration such as 30m", required=False, default="30m"),
    KeySpec("catalogOverlay", "a project-relative path to a .yaml overlay of the attribute catalog", required=False),
    KeySpec("smsNumbers", "a list of the org's SMS numbers in E.164 form such as +13175550100",
            required=False, default=[]),
    KeySpec("forceUnlockFlows", "true or false", required=False, default=False),
    KeySpec("trustEmailClaim", "true or false", required=False, default=False),
    KeySpec("agentUserIds", "a list of user ids (GET /api/v2/users)", required=False, default=[]),
    KeySpec("agentGroupIds", "a list of group ids (GET /api/v2/groups)", required=False, default=[]),
    KeySpec("stitchingDeployment", "external or kubernetes", required=False, default="external"),
    KeySpec("stitchingImage", "a container image with a pinned tag or digest", required=False),
    KeySpec("stitchingReplicas", "a whole number from 1 to 50", required=False, default=2),
    KeySpec("stitchingMaxReplicas", "a whole number from stitchingReplicas to 100", required=False, default=6),
    KeySpec("stitchingNamespace", "a Kubernetes namespace name", required=False, default="genesys-identity"),
    KeySpec("stitchingDatabaseUrl", "postgresql://... (or sqlite:///... for one replica)", required=False, secret=True),
    KeySpec("stitchingKubeContext", "the kubeconfig context of the cluster this stack deploys to", required=False),
    KeySpec("stitchingKubeconfig", "a kubeconfig file (empty: $KUBECONFIG or ~/.kube/config)", required=False),
    KeySpec("stitchingCreateNamespace", "true or false", required=False, default=True),
    KeySpec("stitchingIngressNamespace", "the ingress controller's namespace", required=False, default="ingress-nginx"),
    KeySpec("stitchingMonitoringNamespace", "the namespace Prometheus scrapes from (empty: none)", required=False),
    KeySpec("stitchingServiceMonitor", "true or false", required=False, default=False),
    KeySpec("stitchingDatabaseCidr", "an IPv4 or IPv6 CIDR block such as 10.0.0.0/16", required=False,
            default="0.0.0.0/0"),
    KeySpec("stitchingIngress", "true or false", required=False, default=True),
    KeySpec("stitchingIngressClass", "an ingress class name", required=False),
    KeySpec("stitchingTlsSecret", "the Kubernetes TLS secret of the ingress host", required=False,
            default="stitching-tls"),
)
_BY_KEY = {spec.key: spec for spec in KEYS}

T = TypeVar("T")


class _Reader:
    def __init__(self, source: ConfigSource, project: str, stack: str, environ: Mapping[str, str]):
        self.source = source
        self.project = project
        self.stack = stack
        self.environ = environ

    def error(self, key: str, problem: str) -> SettingsError:
        return SettingsError(f"Pulumi.{self.stack}.yaml: {self.project}:{key} {problem}")

    def raw(self, key: str) -> Any:
        spec = _BY_KEY[key]
        value = self.source.get(f"{self.project}:{key}")
        if value is None or value == "":
            if spec.required:
                raise self.error(key, f"is {'empty' if value == '' else 'missing'} (expected {spec.kind})")
            return spec.default
        return value

    def read(self, key: str, parse: Callable[[Any], T]) -> T:
        value = self.raw(key)
        try:
            return parse(value)
        except ValueError as exc:
            expected = _BY_KEY[key].kind
            raise self.error(key, f"must be {expected} ({exc})") from None

    def secret(self, key: str) -> Secret:
        full = f"{self.project}:{key}"
        env_name = secret_env_name(key)
        value = self.source.get(full)
        if value not in (None, ""):
            if not self.source.is_secret(full):
                raise self.error(key, f"is stored in plain text; run `pulumi config set --secret {key}` instead")
            return Secret(str(value))
        if self.environ.get(env_name):
            return Secret(self.environ[env_name])
        raise self.error(key, f"is missing: run `pulumi config set --secret {key}` or export {env_name}")


def format_duration(value: timedelta) -> str:
    """A duration the way settings are written: 15m, 90d, 1h30m."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


# -- value parsers: raise ValueError with the reason; the reader adds key, stack and expectation ---------

def parse_duration(value: Any) -> timedelta:
    text = str(value).strip()
    match = _DURATION.match(text)
    if not text or not match:
        raise ValueError(f"got {text!r}; write it like 90s, 30m, 2h or 1d12h")
    parts = {k: int(v) for k, v in match.groupdict(default="0").items()}
    duration = timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    if duration <= timedelta(0):
        raise ValueError(f"got {text!r}, which is not positive")
    return duration


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(f"got {value!r}")


def parse_https_url(value: Any) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme != "https":
        raise ValueError(f"got {text!r}, which is not https")
    if not parts.hostname:
        raise ValueError(f"got {text!r}, which has no host")
    if parts.username or parts.password:
        raise ValueError("credentials must not be embedded in the URL")
    return text


def parse_list(value: Any) -> list[Any]:
    """A list setting: the CLI hands it to the program as JSON text. Anything else is a single value."""
    items = value
    if isinstance(value, str):
        try:
            items = json.loads(value)
        except ValueError:
            items = value
    if not isinstance(items, list):
        raise ValueError("got a single value; write a YAML list, one `- item` per line")
    return items


def parse_domains(value: Any) -> tuple[str, ...]:
    items = parse_list(value)
    if not items:
        raise ValueError("got an empty list")
    domains: list[str] = []
    for item in items:
        text = str(item).strip().lower()
        if "://" in text:
            raise ValueError(f"{item!r} has a scheme; give the host name only, such as www.example.com")
        if "/" in text or ":" in text:
            raise ValueError(f"{item!r} has a path or port; give the host name only")
        if not _HOSTNAME.match(text):
            raise ValueError(f"{item!r} is not a host name")
        if text in domains:
            raise ValueError(f"{item!r} is listed twice")
        domains.append(text)
    return tuple(domains)


def parse_ids(value: Any) -> tuple[str, ...]:
    ids: list[str] = []
    for item in parse_list(value):
        text = str(item).strip()
        if not _UUID.match(text):
            if re.fullmatch(r"\+?[\d\s().-]{7,20}", text):
                raise ValueError(f"{item!r} is a phone number, not the number's id; read the ids from "
                                 "GET /api/v2/routing/sms/phonenumbers")
            raise ValueError(f"{item!r} is not an id: Genesys ids are UUIDs such as 3f1c9a52-7d0e-4b8e-9c55-2a1d7e6b0c41")
        text = text.lower()
        if text in ids:
            raise ValueError(f"{item!r} is listed twice")
        ids.append(text)
    return tuple(ids)


def parse_schema_name(value: Any) -> str:
    """A property, credential slot, credential type or field name as the Platform API spells it."""
    text = str(value).strip()
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,127}", text):
        raise ValueError(f"got {text!r}; copy the name `genesys discover` printed (letters, digits, '_', '.', '-')")
    return text


# The external source link's one placeholder: the contact's ExternalId identifier value (provider 1.84.1
# docs/resources/externalcontacts_external_source.md, its example and test).
CRM_PLACEHOLDER = "{{externalId.value}}"


def parse_crm_template(value: Any) -> str:
    """An https URL template of a CRM page holding ``{{externalId.value}}``, and no other placeholder."""
    text = parse_https_url(value)
    placeholders = re.findall(r"{{\s*([^{}]*?)\s*}}", text)
    others = sorted({p for p in placeholders if p != "externalId.value"})
    if others:
        raise ValueError(f"got {text!r}: {', '.join('{{' + p + '}}' for p in others)} is not a placeholder Genesys "
                         f"fills; the CRM id is {CRM_PLACEHOLDER}")
    if CRM_PLACEHOLDER not in text:
        raise ValueError(f"got {text!r}, which has no {CRM_PLACEHOLDER} where the contact's CRM id goes")
    if "{" in text.replace(CRM_PLACEHOLDER, "") or "}" in text.replace(CRM_PLACEHOLDER, ""):
        raise ValueError(f"got {text!r}, which has an unbalanced brace; write the placeholder as {CRM_PLACEHOLDER}")
    return text


def parse_sms_numbers(value: Any) -> tuple[str, ...]:
    """SMS numbers as users know them, E.164; the program resolves their ids in the org at deploy time."""
    numbers: list[str] = []
    for item in parse_list(value):
        text = str(item).strip()
        if _UUID.match(text):
            raise ValueError(f"{item!r} is an id; name the SMS number itself in E.164 form, such as +13175550100 "
                             "(its ids are read from the org when the stack is deployed)")
        if not re.fullmatch(r"\+[1-9]\d{6,14}", text):
            raise ValueError(f"{item!r} is not an E.164 number: write + and the country code, such as +13175550100")
        try:
            parsed = phonenumbers.parse(text)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_possible_number(parsed):
            raise ValueError(f"{item!r} is not a possible phone number")
        if text in numbers:
            raise ValueError(f"{item!r} is listed twice")
        numbers.append(text)
    return tuple(numbers)


def parse_region(value: Any) -> str:
    region = str(value).strip().lower()
    known = load_schema().region_domains
    if region not in known:
        close = difflib.get_close_matches(region, sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"got {value!r}, an unknown region{hint}")
    return region


def parse_phone_region(value: Any) -> str:
    region = str(value).strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"got {value!r}, which phonenumbers does not know")
    return region


def _overlay_path(root: Path) -> Callable[[Any], Path]:
    def parse(value: Any) -> Path:
        text = str(value).strip()
        relative = PurePosixPath(text)
        if relative.is_absolute() or ".." in relative.parts or relative.suffix not in (".yaml", ".yml"):
            raise ValueError(f"got {text!r}; give a .yaml path inside the project, such as catalog/dev.yaml")
        if not (root / relative).is_file():
            raise ValueError(f"{relative.as_posix()} is not a file in the project")
        return root / relative

    return parse


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        if not regex.match(text):
            raise ValueError(f"got {text!r}, which is not {what}")
        return text

    return parse


def _bounded(low: timedelta, high: timedelta) -> Callable[[Any], timedelta]:
    def parse(value: Any) -> timedelta:
        duration = parse_duration(value)
        if not low <= duration <= high:
            raise ValueError(f"got {str(value).strip()}, outside {format_duration(low)} .. {format_duration(high)}")
        return duration

    return parse


def _file_path(value: Any) -> str:
    text = str(value).strip()
    if "\n" in text or text.startswith(("apiVersion", "{")):
        raise ValueError("got the file's contents; give its path (a kubeconfig carries credentials, keep it out of "
                         "the stack file)")
    return text


def _text(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("got an empty value")
    return text


def parse_settings(
    source: ConfigSource, *, stack: str, project: str = PROJECT, environ: Mapping[str, str] | None = None
) -> StackSettings:
    """Validate every project key of ``source`` for ``stack``; raise ``SettingsError`` on the first mistake."""
    reader = _Reader(source, project, stack, os.environ if environ is None else environ)
    namespace = project + ":"
    for full_key in sorted(source.keys()):
        if full_key.startswith(namespace) and full_key[len(namespace):] not in _BY_KEY:
            key = full_key[len(namespace):]
            close = difflib.get_close_matches(key, list(_BY_KEY), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise reader.error(key, f"is not a setting of this project{hint}")
    for spec in KEYS:
        full_key = namespace + spec.key
        if not spec.secret and source.is_secret(full_key) and source.get(full_key) not in (None, ""):
            raise reader.error(spec.key, f"is a secure value, but {spec.key} is not a secret setting: set it in plain "
                                         f"text (`pulumi config set {spec.key} <value>`) so that reviewers see it")

    oidc = OidcSettings(
        integration_type_id=reader.read("oidcIntegrationTypeId", _text),
        discovery_uri=reader.read("oidcDiscoveryUri", parse_https_url),
        client_id=reader.read("oidcClientId", _text),
        client_secret=reader.secret("oidcClientSecret"),
        refresh_token_lifetime=reader.read("oidcRefreshTokenLifetime", _bounded(*REFRESH_TOKEN_LIFETIME)),
        schema=OidcIntegrationSchema(**{field: reader.read(key, parse_schema_name) for key, field in OIDC_SCHEMA_KEYS}),
    )
    crm = reader.raw("crmProfileUrlTemplate")
    overlay = reader.raw("catalogOverlay")
    service = _service_deployment(reader)
    queue_name = _pattern(_QUEUE_NAME, "a queue name without leading or trailing spaces")
    queues = QueueSettings(web=reader.read("webQueue", queue_name), sms=reader.read("smsQueue", queue_name))
    if queues.web.casefold() == queues.sms.casefold():
        raise reader.error("smsQueue", f"names the same queue as webQueue ({queues.web!r}); give SMS its own queue: the "
                                       "web queue routes to any agent, the SMS queue prefers the last agent")
    settings = StackSettings(
        project=project,
        stack=stack,
        region=reader.read("region", parse_region),
        name_prefix=reader.read("namePrefix", _pattern(_PREFIX, "3-25 of a-z, 0-9 and '-', starting with a letter")),
        division_id=reader.read("divisionId", lambda v: str(v).strip() or None) if reader.raw("divisionId") else None,
        allowed_domains=reader.read("allowedDomains", parse_domains),
        authentication_enabled=reader.read("authenticationEnabled", parse_bool),
        automerge_web_tracking=reader.read("automergeWebTracking", parse_bool),
        oidc=oidc,
        crm_profile_url_template=reader.read("crmProfileUrlTemplate", parse_crm_template) if crm else None,
        default_phone_region=reader.read("defaultPhoneRegion", parse_phone_region),
        queues=queues,
        stitching_service_url=reader.read("stitchingServiceUrl", _service_url(service.target)),
        last_agent_window=reader.read("lastAgentWindow", _bounded(timedelta(minutes=1), MAX_LAST_AGENT_WINDOW)),
        web_session_timeout=reader.read("webSessionTimeout", parse_duration),
        catalog_overlay=reader.read("catalogOverlay", _overlay_path(source.root)) if overlay else None,
        sms_numbers=reader.read("smsNumbers", parse_sms_numbers),
        force_unlock_flows=reader.read("forceUnlockFlows", parse_bool),
        service=service,
        division_name=_division_name(reader),
        trust_email_claim=reader.read("trustEmailClaim", parse_bool),
        agent_user_ids=reader.read("agentUserIds", parse_ids),
        agent_group_ids=reader.read("agentGroupIds", parse_ids),
    )
    if settings.web_session_timeout > settings.last_agent_window:
        raise reader.error(
            "webSessionTimeout",
            f"({format_duration(settings.web_session_timeout)}) must not exceed lastAgentWindow "
            f"({format_duration(settings.last_agent_window)})",
        )
    return settings


def _service_url(target: str) -> Callable[[Any], str]:
    """The stitching service's base URL: https, no query or fragment; on Kubernetes, no path (the Ingress serves
    the service at the root of its host, and the service answers /v1/..., not /<prefix>/v1/...)."""

    def parse(value: Any) -> str:
        text = parse_https_url(value).rstrip("/")
        parts = urlsplit(text)
        if parts.query or parts.fragment or text.endswith(("?", "#")):
            raise ValueError(f"got {text!r}, which has a query or fragment; the data actions append /v1/... to it")
        if target == "kubernetes" and parts.path not in ("", "/"):
            raise ValueError(f"got {text!r}, whose path {parts.path!r} the Ingress cannot serve: the service answers at "
                             f"the root of its host; give https://{parts.netloc} (a path prefix needs your own proxy "
                             "that strips it, with stitchingDeployment external)")
        return text

    return parse


def _division_name(reader: _Reader) -> str:
    """The division's name for Archy. With ``divisionId`` set, the default "Home" is refused: the flows would land
    in the home division while the queues and identity resolution use the other one."""
    name = reader.read("divisionName", _pattern(_QUEUE_NAME, "a division name without leading or trailing spaces"))
    if reader.raw("divisionId") and name == _BY_KEY["divisionName"].default:
        raise reader.error("divisionName", f"is {name!r} while divisionId names a division: give that division's name "
                                           "(GET /api/v2/authorization/divisions/<divisionId> answers it)")
    return name


def _service_deployment(reader: _Reader) -> ServiceDeployment:
    target = reader.read("stitchingDeployment", _choice("external", "kubernetes"))
    if target == "external":
        return ServiceDeployment("external")
    kube_context = reader.read("stitchingKubeContext", _text) if reader.raw("stitchingKubeContext") else None
    kubeconfig = reader.read("stitchingKubeconfig", _file_path) if reader.raw("stitchingKubeconfig") else None
    if kube_context is None:
        raise reader.error("stitchingKubeContext", "is missing: the kubernetes deployment names the kubeconfig context of "
                                                   "its cluster (`kubectl config get-contexts`), so that a stack never "
                                                   "deploys to whatever cluster the current context points at")
    if not reader.raw("stitchingImage"):
        raise reader.error("stitchingImage", "is missing: the kubernetes deployment needs the service's image")
    replicas = reader.read("stitchingReplicas", _whole(1, 50))
    max_replicas = reader.read("stitchingMaxReplicas", _whole(1, 100))
    if max_replicas < replicas:
        raise reader.error("stitchingMaxReplicas", f"({max_replicas}) must be at least stitchingReplicas ({replicas})")
    database_url = reader.secret("stitchingDatabaseUrl")
    if not database_url.reveal().startswith(("postgresql://", "postgres://", "sqlite:///")) \
            and database_url.reveal() != OFFLINE_SECRET:
        raise reader.error("stitchingDatabaseUrl", "must be a postgresql://... or sqlite:///... URL")
    monitoring = reader.raw("stitchingMonitoringNamespace")
    deployment = ServiceDeployment(
        target="kubernetes",
        image=reader.read("stitchingImage", parse_image),
        replicas=replicas,
        max_replicas=max_replicas,
        namespace=reader.read("stitchingNamespace", _pattern(_K8S_NAME, "a DNS label (a-z, 0-9, '-')")),
        database_url=database_url,
        ingress=reader.read("stitchingIngress", parse_bool),
        ingress_class=reader.read("stitchingIngressClass", _text) if reader.raw("stitchingIngressClass") else None,
        tls_secret=reader.read("stitchingTlsSecret", _pattern(_K8S_NAME, "a DNS label (a-z, 0-9, '-')")),
        default_phone_region=reader.read("defaultPhoneRegion", parse_phone_region),
        kube_context=kube_context,
        kubeconfig=kubeconfig,
        create_namespace=reader.read("stitchingCreateNamespace", parse_bool),
        ingress_namespace=reader.read("stitchingIngressNamespace", _pattern(_K8S_NAME, "a DNS label (a-z, 0-9, '-')")),
        monitoring_namespace=reader.read("stitchingMonitoringNamespace", _pattern(_K8S_NAME, "a DNS label (a-z, 0-9, '-')"))
        if monitoring else None,
        service_monitor=reader.read("stitchingServiceMonitor", parse_bool),
        database_cidr=reader.read("stitchingDatabaseCidr", parse_cidr),
    )
    if deployment.service_monitor and deployment.monitoring_namespace is None:
        raise reader.error("stitchingMonitoringNamespace", "is missing: a ServiceMonitor needs the namespace Prometheus "
                                                           "scrapes from, so the NetworkPolicy lets it in")
    if deployment.uses_sqlite and (replicas > 1 or max_replicas > 1):
        raise reader.error(
            "stitchingReplicas",
            f"({replicas}, up to {max_replicas}) needs PostgreSQL: SQLite is one file on one pod's volume. Set "
            "stitchingDatabaseUrl to postgresql://... or stitchingReplicas and stitchingMaxReplicas to 1",
        )
    return deployment


def parse_cidr(value: Any) -> str:
    import ipaddress

    text = str(value).strip()
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError as exc:
        raise ValueError(f"got {text!r}: {exc}") from None


def parse_image(value: Any) -> str:
    text = str(value).strip()
    if not _IMAGE.match(text):
        raise ValueError(f"got {text!r}, which is not an image reference")
    name_part = text.split("@")[0].rsplit("/", 1)[-1]
    if "@sha256:" not in text and ":" not in name_part:
        raise ValueError(f"{text!r} has no tag: pin a version (or a digest) so every replica runs the same code")
    if text.endswith(":latest"):
        raise ValueError(f"{text!r} uses :latest; pin a version (or a digest) so every replica runs the same code")
    return text


def _choice(*options: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        if text not in options:
            raise ValueError(f"got {text!r}")
        return text
    return parse


def _whole(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not str(value).strip().isdigit() or not low <= int(value) <= high:
            raise ValueError(f"got {value!r}")
        return int(value)
    return parse


class PulumiConfigSource:
    """Config as the running Pulumi program sees it (``pulumi up``/``preview``, or mocks)."""

    def get(self, key: str) -> Any:
        from pulumi.runtime import config

        return config.get_config(key)

    def is_secret(self, key: str) -> bool:
        from pulumi.runtime import config

        return config.is_config_secret(key) or key in config.get_config_secret_keys_env()

    def keys(self) -> list[str]:
        from pulumi.runtime import config

        return sorted(set(config.CONFIG.get()) | set(config.get_config_env()))

    @property
    def root(self) -> Path:
        return Path.cwd()  # Pulumi runs a program in its project folder


def from_pulumi() -> StackSettings:
    import pulumi

    return parse_settings(PulumiConfigSource(), stack=pulumi.get_stack(), project=pulumi.get_project())
