"""The package's exceptions. A user sees their message, never a traceback."""


class GenesysIdentityError(Exception):
    """Base of every error this package raises on purpose."""


class SettingsError(GenesysIdentityError):
    """A stack setting is missing or wrong. The message names the stack file, the key and what was expected."""


class SchemaViolation(GenesysIdentityError):
    """A resource declared through the Genesys binding does not match the provider schema."""


class GenesysApiError(GenesysIdentityError):
    """The Genesys Cloud REST API refused a call or stayed unavailable after retries."""

    def __init__(self, message: str, *, status: int | None = None, correlation_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.correlation_id = correlation_id
