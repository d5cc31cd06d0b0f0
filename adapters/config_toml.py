"""The configuration file: TOML, edited in place with its comments kept (tomlkit), written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from pingcli.domain.errors import ConfigError
from pingcli.domain.settings import check_name

from .atomic_file import write_private

ACTIVE = "activeProfile"
PROFILES = "profiles"


def _flatten(table: Any, where: str, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if "." in key:
            # A quoted key such as service."a.b" would read back as service a with a key b: never a name.
            raise ConfigError(
                f"{where}: the key {prefix}\"{key}\" has a dot inside its quotes",
                "names may contain letters, digits, - and _ only; rename it in the file",
            )
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, where, name + "."))
        else:
            flat[name] = value.unwrap() if hasattr(value, "unwrap") else value
    return flat


class TomlConfigStore:
    """`required_by`: the option or variable that named the file ("--config"); a file so named must exist."""

    def __init__(self, path: Path, required_by: str | None = None) -> None:
        self.path = path
        self.location = str(path)
        self.required_by = required_by

    @property
    def lock_name(self) -> str:
        """From the resolved path: every link, relative path or `..` that reaches the file takes the same lock."""
        return f"config:{os.path.realpath(self.path)}"

    def _read(self) -> tomlkit.TOMLDocument:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if self.required_by:
                # A mistyped path would otherwise read as an empty configuration: "no services", not the error.
                raise ConfigError(
                    f"the configuration file {self.path} (from {self.required_by}) does not exist",
                    f"check the path given in {self.required_by}; `pingcli config set KEY=VALUE` or "
                    "`pingcli config profiles create NAME` with it creates the file",
                ) from None
            return tomlkit.document()
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(
                f"cannot read the configuration file {self.path}: {error}",
                "fix its permissions or encoding, or point --config at another file",
            ) from None
        try:
            document = tomlkit.parse(text)
        except TOMLKitError as error:
            raise ConfigError(
                f"the configuration file {self.path} is not valid TOML: {error}",
                "fix the file by hand (pingcli will not overwrite it), or point --config at another file",
            ) from None
        profiles = document.get(PROFILES, {})
        if not isinstance(profiles, dict) or not all(isinstance(p, dict) for p in profiles.values()):
            raise ConfigError(
                f"the configuration file {self.path} has a [{PROFILES}] section pingcli cannot read",
                "each profile must be a table: [profiles.NAME]",
            )
        return document

    def _write(self, document: tomlkit.TOMLDocument) -> None:
        # A link (a dotfiles repository's) stays a link: the file it points to is replaced, in its own directory.
        target = Path(os.path.realpath(self.path)) if self.path.is_symlink() else self.path
        existed = target.exists()
        try:
            write_private(target, tomlkit.dumps(document).encode("utf-8"))
        except OSError as error:
            raise ConfigError(
                f"cannot write the configuration file {self.path}: {error.strerror or error}",
                "free some space or fix the permissions; "
                + ("the previous file is unchanged" if existed else "nothing was written"),
            ) from None

    def load(self) -> tuple[Any, dict[str, dict[str, Any]]]:
        document = self._read()
        active = document.get(ACTIVE)
        profiles = {name: _flatten(table, f"profile {name} of {self.location}")
                    for name, table in document.get(PROFILES, {}).items()}
        # As written (a number, a table...): the use case says what is wrong with it rather than skip it.
        return (active.unwrap() if hasattr(active, "unwrap") else active), profiles

    def unknown_top_level_keys(self) -> list[str]:
        return sorted(str(key) for key in self._read() if key not in (ACTIVE, PROFILES))

    def _profile_table(self, document: tomlkit.TOMLDocument, profile: str, create: bool) -> Any:
        if PROFILES not in document:
            if not create:
                return None
            document[PROFILES] = tomlkit.table(is_super_table=True)
        profiles = document[PROFILES]
        if profile not in profiles:
            if not create:
                return None
            profiles[profile] = tomlkit.table()
        return profiles[profile]

    def set_value(self, profile: str, key: str, value: Any) -> None:
        document = self._read()
        table = self._profile_table(document, profile, create=True)
        *parents, leaf = key.split(".")
        for part in parents:
            if part not in table or not isinstance(table[part], dict):
                table[part] = tomlkit.table(is_super_table=True)
            table = table[part]
        table[leaf] = value
        self._write(document)

    def unset_value(self, profile: str, key: str) -> bool:
        document = self._read()
        table = self._profile_table(document, profile, create=False)
        trail = []
        *parents, leaf = key.split(".")
        for part in parents:
            if table is None or part not in table:
                return False
            trail.append((table, part))
            table = table[part]
        if table is None or leaf not in table:
            return False
        del table[leaf]
        for parent, part in reversed(trail):  # drop tables the removal left empty
            if len(parent[part]) == 0:
                del parent[part]
        if len(document[PROFILES][profile]) == 0:
            # An emptied profile must keep a [profiles.NAME] header of its own, or it vanishes from the file.
            document[PROFILES][profile] = tomlkit.table()
        self._write(document)
        return True

    def create_profile(self, profile: str) -> None:
        check_name("profile", profile)
        document = self._read()
        self._profile_table(document, profile, create=True)
        self._write(document)

    def delete_profile(self, profile: str) -> None:
        document = self._read()
        if PROFILES in document and profile in document[PROFILES]:
            del document[PROFILES][profile]
            self._write(document)

    def set_active(self, profile: str) -> None:
        document = self._read()
        document[ACTIVE] = profile
        self._write(document)


def default_config_path(env: dict[str, str] | os._Environ) -> Path:
    if env.get("PINGCLI_CONFIG"):
        return Path(env["PINGCLI_CONFIG"]).expanduser()
    import platformdirs

    return platformdirs.user_config_path("pingcli", appauthor=False) / "config.toml"
