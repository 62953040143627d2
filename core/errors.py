"""Typed errors: plugins raise these, the engine decides what to retry.

Every error carries the platform and, when the API returned one, its request id, so an audit
row or a failure shown in the UI can point at the exact call.
"""

from __future__ import annotations


class ShelfsyncError(Exception):
    """Base of every error Shelfsync raises on purpose."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        platform: str = "",
        request_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.request_id = request_id
        self.code = code


class ConfigurationError(ShelfsyncError):
    """Shelfsync itself is misconfigured (missing secret key, bad URL …)."""


class PluginMissing(ConfigurationError):
    """No installed plugin serves the platform a connection names (or two claim it)."""


class HookNotImplemented(ConfigurationError):
    """The plugin registered for a connection's platform lacks the operation core called.

    A configuration error, never retried: install a plugin version that implements it (or
    turn off the feature that needs it). `hook` names the missing hook.
    """

    def __init__(self, message: str, *, hook: str, platform: str = "") -> None:
        super().__init__(message, platform=platform, code="hook_not_implemented")
        self.hook = hook


class InvalidInput(ShelfsyncError):
    """A value given by a user or a caller is out of range or malformed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        #: The message without the field's name, for a caller that names the field its own
        #: way (the CLI's flag, a form's input).
        self.detail = message


class PluginError(ShelfsyncError):
    """An error talking to a platform."""


class AuthError(PluginError):
    """Credentials were refused or have expired: the connection needs re-authorization."""


class PermissionDenied(AuthError):
    """Credentials are valid but lack a scope the call needs."""


class RateLimited(PluginError):
    """The platform throttled us; `retry_after` seconds is its hint (or our estimate)."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float = 1.0, **kwargs: str | None) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class TransientError(PluginError):
    """A 5xx, a timeout or a dropped connection that outlived our retries."""

    retryable = True


class NotFound(PluginError):
    """The object does not exist on the platform."""


class BadRequest(PluginError):
    """The platform rejected our request as invalid (a 4xx other than auth or throttle)."""


class BadResponse(PluginError):
    """The platform answered with something we cannot read: never turned into wrong data."""

    retryable = True


class PluginContractError(PluginError):
    """A plugin answered outside the contract (None, or the wrong type, from a hook it
    implements): a bug in the plugin, so retrying cannot cure it and it is never retried."""


class Conflict(PluginError):
    """The platform refused a write because the object changed or already exists."""


class WebhookSignatureError(PluginError):
    """A webhook's signature is missing or wrong: nothing of it is parsed or enqueued."""


class BlockedAddress(PluginError):
    """An API host resolved to a private or loopback address when the request was sent (DNS
    rebinding, or a record changed since the connection was checked): nothing was sent."""
