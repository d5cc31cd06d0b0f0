"""Changing auth.storage.type: the profile's sessions and client secrets move to the new store, or nothing changes."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping

import attrs

from ..errors import ConfigError, PingcliError, StorageUnavailable, printable
from ..ports import Locks
from ..session import Session, login_lock, token_lock
from ..settings import GrantType, SecretSource, StorageType, env_name, find_key, parse_value, secret_key
from .config import Configuration, Store

KEY = "auth.storage.type"
LOCK_TIMEOUT = 15.0
# A store's own hint ends with "use another store: pingcli config set auth.storage.type=...", advice for a command
# that only uses the store. Here the store is being chosen: that advice would name the store being left or the
# one that just failed, that is, the command that failed or the store already in use.
_OTHER_STORE_ADVICE = re.compile(r"(?:[,;]\s*(?:or\s+)?|^\s*)use another store:.*\Z", re.S)


def _fitting(hint: str | None) -> str:
    """A store's hint without its advice to change stores; "" when that was all of it."""
    return _OTHER_STORE_ADVICE.sub("", hint or "").strip()


@attrs.frozen
class Item:
    """One thing a store keeps for a service: its session, or the client secret of one grant."""

    service: str
    grant: GrantType | None = None  # None: the session
    session: Session | None = attrs.field(default=None, repr=False)
    secret: str | None = attrs.field(default=None, repr=False)

    @property
    def what(self) -> str:
        if self.grant is None:
            return f"the session of {self.service}"
        return f"the client secret of {self.service} ({self.grant.value})"

    def read(self, store: Store, profile: str) -> Item:
        if self.grant is None:
            return attrs.evolve(self, session=store.load(profile, self.service))
        return attrs.evolve(self, secret=store.load_secret(profile, self.service, self.grant.value))

    @property
    def present(self) -> bool:
        return self.session is not None or self.secret is not None

    def write(self, store: Store, profile: str) -> None:
        if self.session is not None:
            store.save(self.session)
        elif self.secret is not None and self.grant is not None:
            store.save_secret(profile, self.service, self.grant.value, self.secret)

    def delete(self, store: Store, profile: str) -> bool:
        if self.grant is None:
            return store.delete(profile, self.service)
        return store.delete_secret(profile, self.service, self.grant.value)


@attrs.frozen
class Move:
    what: str  # "the session of demo"
    service: str
    outcome: str  # "moved"; "removed" (the new store is `none`); "left" (copied, but still in the old store too)
    source: str
    target: str
    problem: str | None = None


@attrs.frozen
class StorageChange:
    profile: str
    old: StorageType
    new: StorageType
    moves: tuple[Move, ...] = ()
    notes: tuple[str, ...] = ()
    source: str = ""  # the old store, as `auth status` names it
    target: str = ""
    source_read: bool = True  # False: the old store could not be looked into, so what it holds is unknown

    @property
    def left_behind(self) -> tuple[Move, ...]:
        return tuple(move for move in self.moves if move.outcome == "left")


def _nothing_changed(
    old: StorageType, source: Store, error: PingcliError, copies_left: list[str]
) -> StorageUnavailable:
    reason = error.reason if isinstance(error, StorageUnavailable) else error.message
    backend = error.backend if isinstance(error, StorageUnavailable) else "the new store"
    hint = (
        f"nothing was changed: auth.storage.type is still {old.value}, and the sessions and client secrets "
        f"are still in {source.description}"
    )
    if copies_left:
        hint += f"; copies could not be taken back from {backend}: {', '.join(copies_left)}"
    if _fitting(error.hint):
        hint += f". {_fitting(error.hint)}"
    return StorageUnavailable(backend, reason, hint)


@attrs.frozen
class ChangeStorage:
    """`pingcli config set auth.storage.type=NEW` (or `config unset` it) for the active profile.

    The order is what keeps a secret from being lost or orphaned:
    1. read everything the old store holds for the profile's configured services;
    2. write it to the new store and read it back; if anything fails, put the new store back as it was
       and stop, with the configuration file and the old store untouched;
    3. write the new auth.storage.type;
    4. delete from the old store; what cannot be deleted is reported by name and place.

    Moving to `none` keeps no session (that store ends with each command): they are deleted from the old
    store and the report says so. They are not revoked; `pingcli auth logout` before the change does that.
    Client secrets cannot move to `none`: the change is refused until they are unset, because a deleted
    secret, unlike a session, cannot be got back by signing in again. An old store that cannot be read
    (no keyring on this machine) does not block leaving it, unless it holds client secrets; the report
    says what could not be checked. With PINGCLI_AUTH_STORAGE_TYPE set, the setting is written and
    nothing moves (the variable decides where this environment's sessions are). While the change runs it
    holds each service's sign-in and refresh locks, so no other pingcli writes to the old store behind it.
    """

    configuration: Configuration
    stores: Mapping[StorageType, Store]
    locks: Locks

    def __call__(self, raw: str | None) -> StorageChange:
        """`raw` None: unset the key, which means its default."""
        new = StorageType(parse_value(KEY, raw if raw is not None else str(find_key(KEY)[0].default)))
        # The file's lock for the whole change: another change of it meanwhile (a client secret set in the old
        # store, a second change of store) would be lost or leave things where the file no longer looks.
        with self.configuration.editing():
            return self._change(raw, new)

    def _change(self, raw: str | None, new: StorageType) -> StorageChange:
        profile = self.configuration.profile()
        old = profile.storage
        variable = env_name(KEY)
        if variable in self.configuration.env:
            # The variable decides where this environment looks, not where the profile's sessions are: they are
            # in the store of the profile's own setting, which is what this command changes.
            _, stored = self.configuration.stored_profile(profile.name)
            old = StorageType(parse_value(KEY, str(stored.get(KEY, find_key(KEY)[0].default))))
            self._write(raw)
            note = (
                f"{variable}={printable(self.configuration.env[variable], 40)} overrides this setting in this "
                "environment, so nothing was moved"
            )
            if old is not StorageType.NONE:
                note += (
                    f": the sessions and client secrets of profile {profile.name!r} stay in "
                    f"{self.stores[old].description}"
                )
                if old is not new:
                    # profile.storage is the variable's store: where pingcli looks while it is set.
                    if profile.storage is old:
                        note += f", where pingcli stops looking once {variable} is unset"
                    else:
                        note += (
                            f", where pingcli does not look while {variable} is set, nor once it is unset (the "
                            f"setting now says {new.value})"
                        )
                    note += (
                        f"; to move them, without {variable}: "
                        f"pingcli config set {KEY}={old.value}, then pingcli config set {KEY}={new.value}"
                    )
            return StorageChange(profile.name, old, new, (), (note,))
        if old is new:
            self._write(raw)
            return StorageChange(profile.name, old, new)

        services = sorted(profile.services)
        items = [Item(name) for name in services]
        secrets = [
            Item(name, grant)
            for name in services
            for grant in GrantType
            if (found := profile.services[name].client_secret(grant)) is not None
            and found.source is SecretSource.TOKEN_STORE
        ]
        if new is StorageType.NONE and secrets:
            keys = [secret_key(item.service, item.grant) for item in secrets if item.grant is not None]
            raise ConfigError(
                "auth.storage.type=none keeps nothing, so it cannot keep the client secrets now in the token store "
                f"({', '.join(keys)}); nothing was changed",
                "unset them first (pingcli config unset KEY) and give them in the environment instead "
                f"({', '.join(env_name(key) for key in keys)}), then change the store",
            )
        source, target = self.stores[old], self.stores[new]
        notes: list[str] = []
        first = self._read(profile.name, source, items, secrets, notes, target)
        if not first:
            # Nothing to move: a change of setting only, with no lock to take and the new store untouched
            # (a keyring that is not there yet is reported by the first command that needs it).
            self._write(raw)
            read = first is not None
            if new is not StorageType.NONE:
                notes += self._kept_in_target(
                    profile.name, source, target, set(), services, best_effort=True, source_read=read
                )
            return StorageChange(
                profile.name, old, new, (), tuple(notes), source.description, target.description, source_read=read
            )
        with contextlib.ExitStack() as held:
            for name in services:
                held.enter_context(self.locks.hold(login_lock(profile.name, name), LOCK_TIMEOUT))
                held.enter_context(self.locks.hold(token_lock(profile.name, name), LOCK_TIMEOUT))
            notes = []
            # Again: nothing else changes it now.
            found = self._read(profile.name, source, items, secrets, notes, target) or []
            copied = (
                [] if new is StorageType.NONE
                else self._copy(profile.name, source, target, old, found, services, notes)
            )
            try:
                self._write(raw)
            except PingcliError as error:
                left = self._take_back(profile.name, target, copied)
                if left:
                    error.hint = f"{error.hint or ''} (copies left in {target.description}: {', '.join(left)})".strip()
                raise
            moves = self._remove(profile.name, source, target, new, found)
        return StorageChange(profile.name, old, new, tuple(moves), tuple(notes), source.description, target.description)

    def _write(self, raw: str | None) -> None:
        if raw is None:
            self.configuration.unset(KEY)
        else:
            self.configuration.set(KEY, raw)

    @staticmethod
    def _read(
        profile: str, source: Store, items: list[Item], secrets: list[Item], notes: list[str], target: Store
    ) -> list[Item] | None:
        """What the old store holds; None if it cannot be read: sessions are given up on (say so), secrets are not."""
        try:
            found = [item.read(source, profile) for item in items + secrets]
        except StorageUnavailable as error:
            if secrets:
                raise StorageUnavailable(
                    error.backend,
                    error.reason,
                    f"nothing was changed: the client secrets of this profile are in {source.description} and cannot "
                    f"be moved out of it now. {_fitting(error.hint)}".strip(),
                ) from None
            notes.append(
                f"could not look into {source.description} ({error.reason}): any session of profile {profile!r} "
                f"kept there was left there; sign in again with the new store"
            )
            return None
        for item in found:
            if item.grant is not None and item.secret is None:
                try:
                    # A change made while a variable chose the store leaves the secret where the new setting looks.
                    there = Item(item.service, item.grant).read(target, profile).present
                except PingcliError:
                    there = False
                if there:
                    notes.append(f"{item.what} was already in {target.description}: kept there")
                else:
                    notes.append(
                        f"{item.what} was not in {source.description}; set it again: "
                        f"pingcli config set {secret_key(item.service, item.grant)}"
                    )
        return [item for item in found if item.present]

    def _copy(
        self,
        profile: str,
        source: Store,
        target: Store,
        old: StorageType,
        found: list[Item],
        services: list[str],
        notes: list[str],
    ) -> list[tuple[Item, Item]]:
        """Write each item to the new store and read it back; on any failure take the copies back and stop."""
        copied: list[tuple[Item, Item]] = []  # (the item, what the new store held before)
        try:
            for item in found:
                before = Item(item.service, item.grant).read(target, profile)
                item.write(target, profile)
                copied.append((item, before))
                if Item(item.service, item.grant).read(target, profile) != item:
                    raise StorageUnavailable(
                        target.description, f"it did not keep {item.what} (reading it back gave something else)"
                    )
            moved = {item.service for item in found if item.grant is None}
            notes += self._kept_in_target(profile, source, target, moved, services, best_effort=False)
        except PingcliError as error:
            left = self._take_back(profile, target, copied)
            raise _nothing_changed(old, source, error, left) from None
        return copied

    @staticmethod
    def _kept_in_target(
        profile: str, source: Store, target: Store, moved: set[str], services: list[str], best_effort: bool,
        source_read: bool = True,
    ) -> list[str]:
        """Notes on sessions the new store already holds for services the old store had none of (or was not read)."""
        why = f"{source.description} had none" if source_read else f"{source.description} could not be read"
        notes = []
        for name in services:
            if name in moved:
                continue
            try:
                stale = Item(name).read(target, profile).present
            except PingcliError:
                if not best_effort:
                    raise
                break
            if stale:
                notes.append(
                    f"the session of {name} already in {target.description} was kept ({why}); sign out of it "
                    f"with pingcli auth logout --service {name} if it is not wanted"
                )
        return notes

    @staticmethod
    def _take_back(profile: str, target: Store, copied: list[tuple[Item, Item]]) -> list[str]:
        """Put the new store back as it was; what could not be is named."""
        left = []
        for item, before in reversed(copied):
            try:
                if before.present:
                    before.write(target, profile)
                else:
                    item.delete(target, profile)
            except PingcliError:
                left.append(item.what)
        return left

    @staticmethod
    def _remove(profile: str, source: Store, target: Store, new: StorageType, found: list[Item]) -> list[Move]:
        moves = []
        for item in found:
            outcome = "removed" if new is StorageType.NONE else "moved"
            problem = None
            try:
                item.delete(source, profile)
            except PingcliError as error:
                outcome, problem = "left", error.message
            moves.append(Move(item.what, item.service, outcome, source.description, target.description, problem))
        return moves
