"""Text and JSON output of use-case results, and the exit codes errors map to."""

from __future__ import annotations

import datetime
import enum
import json
from collections.abc import Sequence
from typing import Any

from pingcli.domain.errors import Outcome, PingcliError, printable
from pingcli.domain.identity import AuditIdentity
from pingcli.domain.usecases.login import ServiceFailed, SignedIn
from pingcli.domain.usecases.logout import SignedOut
from pingcli.domain.usecases.status import ServiceStatus
from pingcli.domain.usecases.storage_migration import StorageChange


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    NOT_SIGNED_IN = 3
    SESSION_EXPIRED = 4
    SIGN_IN_FAILED = 5
    PROVIDER_UNAVAILABLE = 6
    STORAGE_UNAVAILABLE = 7
    CANCELLED = 130


_BY_OUTCOME = {
    Outcome.FAILURE: ExitCode.FAILURE,
    Outcome.BAD_CONFIGURATION: ExitCode.USAGE,
    Outcome.NOT_SIGNED_IN: ExitCode.NOT_SIGNED_IN,
    Outcome.SESSION_EXPIRED: ExitCode.SESSION_EXPIRED,
    Outcome.SIGN_IN_FAILED: ExitCode.SIGN_IN_FAILED,
    Outcome.PROVIDER_UNAVAILABLE: ExitCode.PROVIDER_UNAVAILABLE,
    Outcome.STORAGE_UNAVAILABLE: ExitCode.STORAGE_UNAVAILABLE,
    Outcome.CANCELLED: ExitCode.CANCELLED,
}


def exit_code(error: PingcliError) -> ExitCode:
    return _BY_OUTCOME[error.outcome]


def error_lines(error: PingcliError, service: str | None = None) -> str:
    where = f"{service}: " if service else ""
    text = f"pingcli: {where}{printable(error.message, 2000)}"
    if error.hint:
        text += f"\n  {printable(error.hint, 2000)}"
    return text


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(timespec="seconds").replace(
        "+00:00", "Z"
    )


def relative(seconds: float) -> str:
    if abs(seconds) < 1:
        return "just now"
    sign, seconds = ("in ", seconds) if seconds > 0 else ("", -seconds)
    suffix = "" if sign else " ago"
    if seconds < 90:
        amount = f"{int(seconds)} s"
    elif seconds < 5400:
        amount = f"{round(seconds / 60)} min"
    elif seconds < 2 * 86400:
        amount = f"{round(seconds / 3600)} h"
    else:
        amount = f"{round(seconds / 86400)} days"
    return f"{sign}{amount}{suffix}"


def identity_json(identity: AuditIdentity | None) -> dict[str, Any] | None:
    if identity is None:
        return None
    return {
        "sub": identity.sub,
        "issuer": identity.issuer,
        "preferred_username": identity.preferred_username,
        "name": identity.name,
        "email": identity.email,
        "amr": list(identity.amr),
        "acr": identity.acr,
        "auth_time": iso(identity.auth_time),
    }


def _how(identity: AuditIdentity) -> str:
    how = ", ".join(identity.amr) or "unknown method"
    if identity.used_mfa:
        how += " (multi-factor)"
    if identity.acr:
        how += f"; acr {identity.acr}"
    return how


def _who(identity: AuditIdentity) -> str:
    text = identity.display
    if identity.email and identity.email not in text:
        text += f" <{identity.email}>"
    return printable(text)


def login_text(results: Sequence[SignedIn | ServiceFailed]) -> str:
    lines = []
    for result in results:
        if isinstance(result, ServiceFailed):
            lines.append(error_lines(result.error, result.service))
            continue
        identity = result.identity
        lines.append(f"Signed in to {result.service} as {_who(identity)}")
        lines.append(f"  issuer {identity.issuer}, subject {printable(identity.sub)}, authenticated by {_how(identity)}")
        if result.persisted:
            lines.append(f"  tokens stored in {result.stored_in}")
        else:
            lines.append("  tokens were not stored (auth.storage.type=none): they end with this command")
    return "\n".join(lines)


def login_json(results: Sequence[SignedIn | ServiceFailed]) -> dict[str, Any]:
    items = []
    for result in results:
        if isinstance(result, ServiceFailed):
            items.append({"service": result.service, "signed_in": False, "error": result.error.message,
                          "hint": result.error.hint, "exit_code": int(exit_code(result.error))})
        else:
            items.append({"service": result.service, "signed_in": True, "grant": result.grant.value,
                          "storage": result.stored_in, "persisted": result.persisted,
                          "identity": identity_json(result.identity)})
    return {"services": items}


def status_json(profile: str, statuses: Sequence[ServiceStatus]) -> dict[str, Any]:
    return {
        "profile": profile,
        "services": [
            {
                "service": s.service,
                "signed_in": s.signed_in,
                "state": s.state,
                "storage": s.storage,
                "issuer": s.issuer,
                "grant": s.grant.value if s.grant else None,
                "access_token_expires_at": iso(s.access_token_expires_at),
                "has_refresh_token": s.has_refresh_token,
                "refresh_token_refused": s.refresh_refused,
                "identity": identity_json(s.identity),
            }
            for s in statuses
        ],
    }


def status_text(profile: str, statuses: Sequence[ServiceStatus], now: float) -> str:
    if not statuses:
        return f"Profile {profile} has no services. Add one: pingcli config set service.NAME.issuer=URL"
    lines = [f"Profile {profile}"]
    for s in statuses:
        if s.identity is None:
            lines.append(f"{s.service}: not signed in (run: pingcli auth login --service {s.service})")
            lines.append(f"  storage  {s.storage}")
            continue
        state = "signed in" if s.signed_in else "session expired (run: pingcli auth login)"
        lines.append(f"{s.service}: {state} as {_who(s.identity)}")
        lines.append(f"  issuer   {s.issuer}")
        lines.append(f"  subject  {printable(s.identity.sub)}")
        when = f" at {iso(s.identity.auth_time)}" if s.identity.auth_time else ""
        lines.append(f"  authenticated by {_how(s.identity)}{when}")
        lines.append(f"  grant    {s.grant.value if s.grant else 'unknown'}")
        if s.access_token_expires_at is None:
            expiry = "access token expiry unknown"
        else:
            verb = "expires" if s.access_token_expires_at > now else "expired"
            expiry = (f"access token {verb} {relative(s.access_token_expires_at - now)} "
                      f"({iso(s.access_token_expires_at)})")
        if s.refresh_refused:
            refresh = "the provider refused the refresh token"
        else:
            refresh = "refresh token held" if s.has_refresh_token else "no refresh token"
        lines.append(f"  {expiry}; {refresh}")
        lines.append(f"  storage  {s.storage}")
    return "\n".join(lines)


def logout_text(results: Sequence[SignedOut]) -> str:
    lines = []
    for r in results:
        if r.revoked == "not_stored" and not r.removed:
            lines.append(f"{r.service}: nothing was stored; nothing to remove")
        elif r.revoked == "revoked":
            lines.append(f"{r.service}: signed out (tokens revoked at the provider and removed here)")
        elif r.revoked == "no_endpoint":
            lines.append(f"{r.service}: signed out; removed locally only (the provider offers no revocation)")
        else:
            lines.append(f"{r.service}: signed out here, but revocation at the provider {r.revoked}")
    return "\n".join(lines)


def logout_json(results: Sequence[SignedOut]) -> dict[str, Any]:
    return {"services": [{"service": r.service, "removed": r.removed, "revocation": r.revoked} for r in results]}


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False)


def storage_change_text(change: StorageChange, problems_only: bool = False) -> str:
    """`config set auth.storage.type`: per service, what moved from where to where, and what was left where."""
    lines = []
    for move in change.moves:
        if move.outcome == "moved" and not problems_only:
            lines.append(f"moved {move.what} from {move.source} to {move.target}")
        elif move.outcome == "removed" and not problems_only:
            lines.append(
                f"removed {move.what} from {move.source}: auth.storage.type=none keeps nothing (the tokens were not "
                "revoked at the provider; sign in again when you need them)"
            )
        elif move.outcome == "left" and problems_only:  # warnings, on stderr
            where = "is no longer kept" if change.new.value == "none" else f"is now in {move.target}"
            lines.append(
                f"{move.what} {where}, but a copy is still in {move.source}: it could not be removed "
                f"({printable(move.problem or 'no reason given')}); remove it there by hand"
            )
    if problems_only:
        return "\n".join(lines)
    if not change.moves and change.old is not change.new and change.source:
        lines.append(f"nothing to move: {change.source} held no session or client secret of profile {change.profile}")
    lines.extend(f"note: {note}" for note in change.notes)
    was = "" if change.old is change.new else f" (was {change.old.value})"
    lines.append(f"auth.storage.type = {change.new.value}{was}")
    return "\n".join(lines)


def storage_change_json(change: StorageChange) -> dict[str, Any]:
    return {
        "key": "auth.storage.type",
        "value": change.new.value,
        "previous": change.old.value,
        "profile": change.profile,
        "moved": [
            {"service": m.service, "what": m.what, "outcome": m.outcome, "from": m.source, "to": m.target,
             "problem": m.problem}
            for m in change.moves
        ],
        "notes": list(change.notes),
    }
