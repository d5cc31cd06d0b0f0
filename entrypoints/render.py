"""Text and JSON output of use-case results, and the exit codes errors map to."""

from __future__ import annotations

import datetime
import enum
import json
from collections.abc import Sequence
from typing import Any

import attrs

from pingcli.domain.errors import Outcome, PingcliError, printable
from pingcli.domain.identity import AuditIdentity
from pingcli.domain.usecases.login import ServiceFailed, SignedIn
from pingcli.domain.usecases.logout import SignedOut
from pingcli.domain.usecases.status import ServiceStatus
from pingcli.domain.usecases.token import AccessToken
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


def hint_of(error: PingcliError, service: str | None = None) -> str | None:
    """The error's hint, with the service filled in where it says `service.NAME.` and the service is known."""
    if error.hint and service:
        return error.hint.replace("service.NAME.", f"service.{service}.")
    return error.hint


def error_lines(error: PingcliError, service: str | None = None) -> str:
    where = f"{service}: " if service else ""
    text = f"pingcli: {where}{printable(error.message, 2000)}"
    hint = hint_of(error, service)
    if hint:
        text += f"\n  {printable(hint, 2000)}"
    return text


def error_json(message: str, hint: str | None, code: int) -> dict[str, Any]:
    """`--output json` of a command that failed: the same message and hint as on stderr, and the exit code."""
    return {"error": {"message": message, "hint": hint, "exit_code": int(code)}}


def setting_text(value: Any) -> str:
    """A setting's value as the TOML file spells it: booleans are true and false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    try:
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(timespec="seconds").replace(
            "+00:00", "Z"
        )
    except (OverflowError, OSError, ValueError):  # a time no date can hold: said, never a crash
        return f"not a valid time ({seconds!r})"


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
        elif result.revoked == "revoked":
            lines.append("  tokens were not stored (auth.storage.type=none); they were revoked at the provider "
                         "(refresh token, then access token), so none of them is valid any more")
        elif result.revoked == "no_endpoint":
            lines.append("  tokens were not stored (auth.storage.type=none); the provider offers no revocation, so "
                         "they stay valid there until they expire")
        elif result.revoked is not None:
            lines.append("  tokens were not stored (auth.storage.type=none); revoking them at the provider failed "
                         f"({printable(result.revoked.removeprefix('failed: '))}), so they stay valid there until "
                         "they expire")
        else:
            lines.append("  tokens were not stored (auth.storage.type=none)")
        if result.replaced == "revoked":
            lines.append("  the tokens of the session it replaces were revoked at the provider")
        elif result.replaced == "no_endpoint":
            lines.append("  the tokens of the session it replaces stay valid at the provider until they expire "
                         "(it offers no revocation)")
    return "\n".join(lines)


def login_json(results: Sequence[SignedIn | ServiceFailed], profile: str | None = None) -> dict[str, Any]:
    items = []
    failed = None
    for result in results:
        if isinstance(result, ServiceFailed):
            items.append({"service": result.service, "signed_in": False, "error": result.error.message,
                          "hint": hint_of(result.error, result.service), "exit_code": int(exit_code(result.error))})
            failed = failed or result
        else:
            items.append({"service": result.service, "signed_in": True, "grant": result.grant.value,
                          "storage": result.stored_in, "persisted": result.persisted,
                          "identity": identity_json(result.identity), "revocation": result.revoked,
                          "replaced_session_revocation": result.replaced})
    document: dict[str, Any] = {"profile": profile, "services": items}
    if failed is not None:  # the exit code is the first failure's: so is the error
        error = failed.error
        hint = hint_of(error, failed.service)
        document.update(error_json(f"{failed.service}: {error.message}", hint, exit_code(error)))
    return document


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
                "reason": s.reason,
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
            if s.reason:  # nothing stored, and signing in would not change that (storage none)
                lines.append(f"{s.service}: not signed in: {printable(s.reason)}")
            else:
                lines.append(f"{s.service}: not signed in (run: pingcli auth login --service {s.service})")
            lines.append(f"  storage  {s.storage}")
            continue
        if s.signed_in:
            lines.append(f"{s.service}: signed in as {_who(s.identity)}")
        else:
            state = "session expired" if s.state == "expired" else "not signed in"
            lines.append(f"{s.service}: {state}: {printable(s.reason or 'unknown reason')}")
            lines.append(f"  sign in again: pingcli auth login --service {s.service}")
            lines.append(f"  who      {_who(s.identity)}")
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


def status_exit_code(statuses: Sequence[ServiceStatus]) -> ExitCode:
    """0: every service signed in; 4: the only trouble is expired sessions; else 3 (not signed in wins)."""
    if statuses and all(s.signed_in for s in statuses):
        return ExitCode.OK
    if statuses and all(s.signed_in or s.state == "expired" for s in statuses):
        return ExitCode.SESSION_EXPIRED
    return ExitCode.NOT_SIGNED_IN


def login_warnings(results: Sequence[SignedIn | ServiceFailed]) -> list[str]:
    """News about a sign-in that worked, for stderr: the session it replaced could not be revoked."""
    return [
        f"pingcli: warning: {r.service}: the tokens of the session this sign-in replaces could not all be revoked "
        f"at the provider ({printable(r.replaced.removeprefix('failed: '))}); they stay valid there until they expire"
        for r in results
        if isinstance(r, SignedIn) and r.replaced is not None and r.replaced.startswith("failed")
    ]


def token_note(token: AccessToken) -> str | None:
    """auth.storage.type=none: what became of the tokens `auth token` got and did not keep (for stderr)."""
    if token.unkept_refresh_token is None:
        return None
    if token.unkept_refresh_token == "none":
        refresh = "no refresh token was asked for or issued"
    else:
        refresh = ("the provider issued a refresh token unasked; it was not revoked, as at most providers that would "
                   "also end the access token printed, and it stays valid there until it expires")
    until = iso(token.expires_at) if token.expires_at is not None else "it expires (the provider gave no lifetime)"
    return (f"pingcli: {token.service}: auth.storage.type=none keeps nothing: {refresh}; the access token printed "
            f"stays valid until {until}")


def logout_text(results: Sequence[SignedOut], profiles: Sequence[str] | None = None) -> str:
    """`profiles` (one per result, with --all): each line says which profile its service belongs to."""
    lines = []
    for index, r in enumerate(results):
        if profiles is not None:
            r = attrs.evolve(r, service=f"{r.service} (profile {profiles[index]})")
        if r.revoked == "not_stored" and not r.removed and r.leftovers:
            lines.append(f"{r.service}: no session this pingcli can use was stored")
        elif r.revoked == "not_stored" and not r.removed:
            lines.append(f"{r.service}: nothing was stored; nothing to remove")
        elif r.revoked == "revoked":
            lines.append(f"{r.service}: signed out (tokens revoked at the provider and removed here)")
        elif r.revoked == "no_endpoint":
            lines.append(f"{r.service}: signed out; removed locally only (the provider offers no revocation)")
        else:  # the why goes to stderr, once, as a warning
            lines.append(f"{r.service}: signed out here (removed locally), but not revoked at the provider")
        lines += _leftover_lines(r)
    return "\n".join(lines)


def _leftover_lines(r: SignedOut) -> list[str]:
    """Set-aside copies of an unreadable session, and a newer pingcli's session: removed, and their tokens' fate."""
    lines = []
    for newer in (item for item in r.leftovers if item.newer):
        done = "removed" if newer.removed else "could not remove (see the warning)"
        fate = {
            "revoked": "its tokens were revoked at the provider",
            "no_endpoint": "its tokens stay valid at the provider until they expire (it offers no revocation)",
            "failed": "its tokens could not be revoked at the provider (see the warning)",
        }.get(newer.revoked, "no token could be read from it, so none was revoked")
        lines.append(f"  {done} the session a newer pingcli wrote: {fate}")
    copies = [item for item in r.leftovers if not item.newer]
    if copies:
        removed = sum(1 for item in copies if item.removed)
        count = str(removed) if removed == len(copies) else f"{removed} of {len(copies)} (see the warning)"
        fates = []
        for outcome, words in (
            ("revoked", "the tokens in {k} were revoked at the provider"),
            ("no_endpoint", "the tokens in {k} stay valid at the provider until they expire (it offers no revocation)"),
            ("failed", "the tokens in {k} could not be revoked at the provider (see the warning)"),
            ("unreadable", "{k} could not be read, so whatever tokens {it} held could not be revoked"),
        ):
            k = sum(1 for item in copies if item.revoked == outcome)
            if k:
                fates.append(words.format(k=k, it="it" if k == 1 else "they"))
        what = "copy" if len(copies) == 1 else "copies"
        lines.append(f"  removed {count} set-aside {what} of an unreadable session: {'; '.join(fates)}")
    return lines


def logout_warnings(results: Sequence[SignedOut], profiles: Sequence[str] | None = None) -> list[str]:
    """For stderr: leftovers whose tokens could not be revoked, or that could not be removed or looked for."""
    warnings = []
    for index, r in enumerate(results):
        where = f"{r.service} (profile {profiles[index]})" if profiles is not None else r.service
        if r.leftovers_unchecked:
            warnings.append(f"pingcli: warning: {where}: could not look for set-aside copies of its session "
                            f"({printable(r.leftovers_unchecked)})")
        for item in r.leftovers:
            if item.revoked == "failed":
                kept = "it was removed here" if item.removed else "it is still here"
                warnings.append(f"pingcli: warning: {where}: the tokens in {item.place} could not be revoked at the "
                                f"provider ({printable(item.revocation_error or 'no reason given')}); {kept}, and they "
                                "stay valid there until they expire")
            if not item.removed:
                warnings.append(f"pingcli: warning: {where}: could not remove {item.place} "
                                f"({printable(item.problem or 'no reason given')}); remove it by hand")
    return warnings


def logout_json(
    results: Sequence[SignedOut], profile: str | None, profiles: Sequence[str] | None = None
) -> dict[str, Any]:
    """`profile` None with --all: then `profiles` gives each result's profile."""
    names = profiles if profiles is not None else [profile] * len(results)
    return {
        "profile": profile,
        "services": [{"profile": name, "service": r.service, "removed": r.removed, "revocation": r.revoked,
                      "revocation_error": r.revocation_error,
                      "leftovers": [{"place": item.place, "written_by_newer_pingcli": item.newer,
                                     "removed": item.removed, "revocation": item.revoked,
                                     "revocation_error": item.revocation_error, "problem": item.problem}
                                    for item in r.leftovers],
                      "leftovers_unchecked": r.leftovers_unchecked}
                     for name, r in zip(names, results)],
    }


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
    if not change.moves and change.old is not change.new and change.source and change.source_read:
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
