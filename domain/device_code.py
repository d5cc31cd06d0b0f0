"""The device authorization grant (RFC 8628): the authorization response and the poller's next decision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from .errors import AuthorizationDenied, BadProviderResponse, SignInFailed

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5  # RFC 8628 §3.2
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5
ENDPOINT = "device authorization endpoint"


def _positive_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except (ValueError, OverflowError):
            return None
    if isinstance(value, (int, float)) and 0 < value < 10**7:
        return float(value)
    return None


def _uri(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        scheme = urlsplit(value).scheme if isinstance(value, str) else None
    except ValueError:
        scheme = None
    if scheme not in {"https", "http"} or not value.isprintable():
        raise BadProviderResponse(ENDPOINT, f"{name} is not a web address")
    return value


@attrs.frozen
class DeviceAuthorization:
    device_code: str = attrs.field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_at: float
    interval: float

    @classmethod
    def from_response(cls, body: Mapping[str, Any], received_at: float) -> DeviceAuthorization:
        """RFC 8628 §3.2; `verification_url` is accepted as some providers still send it."""
        device_code, user_code = body.get("device_code"), body.get("user_code")
        if not isinstance(device_code, str) or not device_code:
            raise BadProviderResponse(ENDPOINT, "no device_code in the response")
        if not isinstance(user_code, str) or not user_code or not user_code.isprintable() or len(user_code) > 64:
            raise BadProviderResponse(ENDPOINT, "no usable user_code in the response")
        verification_uri = _uri(body, "verification_uri") or _uri(body, "verification_url")
        if verification_uri is None:
            raise BadProviderResponse(ENDPOINT, "no verification_uri in the response")
        expires_in = _positive_number(body.get("expires_in"))
        if expires_in is None:
            raise BadProviderResponse(ENDPOINT, "expires_in is missing or not a positive number")
        interval = _positive_number(body.get("interval")) or DEFAULT_INTERVAL
        return cls(
            device_code=device_code,
            user_code=user_code,
            verification_uri=verification_uri,
            verification_uri_complete=_uri(body, "verification_uri_complete"),
            expires_at=received_at + expires_in,
            interval=interval,
        )

    def token_request(self, client_id: str) -> dict[str, str]:
        return {"grant_type": GRANT_TYPE, "device_code": self.device_code, "client_id": client_id}


@attrs.frozen
class Wait:
    """Poll again after `seconds`, with this interval from now on."""

    seconds: float
    interval: float


@attrs.frozen
class Granted:
    body: Mapping[str, Any] = attrs.field(repr=False)


def first_wait(authorization: DeviceAuthorization) -> Wait:
    return Wait(authorization.interval, authorization.interval)


def next_step(
    authorization: DeviceAuthorization, interval: float, response: Mapping[str, Any] | AuthorizationDenied, now: float
) -> Wait | Granted:
    """What to do after one token request (RFC 8628 §3.4, §3.5). Raises when polling must stop."""
    if not isinstance(response, AuthorizationDenied):
        return Granted(response)
    error = response.error
    if error == "authorization_pending":
        pass
    elif error == "slow_down":
        interval += SLOW_DOWN_STEP
    elif error == "expired_token":
        raise SignInFailed(
            "the device code expired before the sign-in was completed",
            "run pingcli auth login again and enter the new code sooner",
        )
    elif error == "access_denied":
        raise AuthorizationDenied(
            error, response.description or "the sign-in was declined", "the provider",
            "run pingcli auth login again if that was a mistake",
        )
    else:
        raise response
    # Never poll faster than the interval (§3.5); stop once another wait would outlive the code.
    if now + interval > authorization.expires_at:
        raise SignInFailed(
            "the device code expired before the sign-in was completed",
            "run pingcli auth login again and enter the new code sooner",
        )
    return Wait(interval, interval)
