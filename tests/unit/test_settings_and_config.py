"""Configuration: the key registry's rules, the environment's names, precedence, profiles, and the TOML file."""

import os
import stat

import pytest

from pingcli.adapters.config_toml import TomlConfigStore
from pingcli.adapters.fakes import FakeConfigStore
from pingcli.domain.errors import ConfigError
from pingcli.domain.settings import (
    DEFAULT_REDIRECT_PORT,
    GrantType,
    StorageType,
    env_name,
    find_key,
    parse_value,
    resolve_profile,
)
from pingcli.domain.usecases.config import Configuration

AC = "service.demo.authentication.authorizationCode."
DC = "service.demo.authentication.deviceCode."


def refusal_of(key, raw):
    with pytest.raises(ConfigError) as raised:
        parse_value(key, raw)
    return raised.value


# --- What `config set` accepts ------------------------------------------------------------------


def test_an_unknown_storage_type_lists_the_ones_there_are():
    refused = refusal_of("auth.storage.type", "keychain")
    assert refused.message == (
        "auth.storage.type='keychain' is not valid: must be one of: secure_local, file_system, none"
    )
    assert refused.hint == "pingcli config set auth.storage.type=VALUE"


def test_an_unknown_grant_lists_the_ones_there_are():
    refused = refusal_of("service.demo.authentication.type", "password")
    assert "must be one of: authorization_code, device_code" in refused.message


@pytest.mark.parametrize("raw", ["65536", "-1", "http", "80.5", ""])
def test_a_port_is_a_whole_number_from_0_to_65535(raw):
    refused = refusal_of(AC + "redirectURIPort", raw)
    assert "must be a whole number from 0 to 65535 (0 picks any free port)" in refused.message


@pytest.mark.parametrize(("raw", "port"), [("0", 0), ("65535", 65535), (" 8080 ", 8080)])
def test_ports_at_the_edges_of_the_range_are_accepted(raw, port):
    assert parse_value(AC + "redirectURIPort", raw) == port


@pytest.mark.parametrize("raw", ["callback", "", "/cb?x=1", "/cb#top", "/my callback", "\\cb"])
def test_a_redirect_path_must_start_with_a_slash_and_be_a_plain_path(raw):
    refused = refusal_of(AC + "redirectURIPath", raw)
    assert "must be a URL path starting with '/'" in refused.message


def test_a_plain_redirect_path_is_accepted():
    assert parse_value(AC + "redirectURIPath", "/oauth/callback") == "/oauth/callback"


@pytest.mark.parametrize(
    "raw",
    ["http://idp.example.test", "ftp://idp.example.test", "idp.example.test", "http://localhost.evil.example",
     "http://127.0.0.1@evil.example"],
)
def test_an_issuer_must_be_https_unless_it_is_on_this_machine(raw):
    refused = refusal_of("service.demo.issuer", raw)
    assert "must be an https:// URL (http:// only for 127.0.0.1 or localhost)" in refused.message


@pytest.mark.parametrize("raw", ["http://127.0.0.1:9000", "http://localhost:3000/oidc", "http://[::1]:8080"])
def test_a_loopback_issuer_may_use_http(raw):
    assert parse_value("service.demo.issuer", raw) == raw


@pytest.mark.parametrize("raw", ["https://idp.example.test?tenant=a", "https://idp.example.test#x", "https:///path"])
def test_an_issuer_has_a_host_and_no_query_or_fragment(raw):
    assert "with a host and no query or fragment" in refusal_of("service.demo.issuer", raw).message


def test_an_issuer_is_kept_exactly_as_given_since_discovery_must_match_it_exactly():
    assert parse_value("service.demo.issuer", "https://idp.example.test/") == "https://idp.example.test/"
    assert parse_value("service.demo.issuer", "https://idp.example.test") == "https://idp.example.test"
    assert parse_value("service.demo.issuer", "https://idp.example.test/tenant/") == "https://idp.example.test/tenant/"


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("YES", True), ("on", True), ("0", False), ("off", False)])
def test_yes_and_no_are_understood_for_require_mfa(raw, value):
    assert parse_value("service.demo.authentication.requireMFA", raw) is value


def test_anything_else_for_require_mfa_says_true_or_false():
    assert "must be true or false" in refusal_of("service.demo.authentication.requireMFA", "maybe").message


def test_scopes_are_normalised_to_single_spaces_and_quotes_are_refused():
    assert parse_value(AC + "scopes", "  openid   profile ") == "openid profile"
    assert "RFC 6749 §3.3" in refusal_of(AC + "scopes", 'openid "profile"').message


def test_the_refresh_margin_is_a_number_of_seconds_up_to_a_day():
    assert parse_value("auth.refreshMarginSeconds", "300") == 300
    assert "from 0 to 86400" in refusal_of("auth.refreshMarginSeconds", "86401").message


def test_a_client_id_must_be_printable_text():
    assert parse_value(AC + "clientID", "  cli-public ") == "cli-public"
    assert "non-empty printable text" in refusal_of(AC + "clientID", "   ").message


def test_an_unknown_key_points_at_the_list_of_keys():
    refused = refusal_of("auth.storage.kind", "none")
    assert refused.message == "unknown configuration key 'auth.storage.kind'"
    assert refused.hint == "see every key with: pingcli config list-keys"


def test_a_per_service_key_needs_a_service_name():
    with pytest.raises(ConfigError, match="unknown configuration key"):
        find_key("service..issuer")
    with pytest.raises(ConfigError, match="unknown configuration key"):
        find_key("service.issuer")
    with pytest.raises(ConfigError, match="service name '\\*' is not allowed"):
        find_key("service.*.issuer")


def test_a_service_name_with_a_space_is_refused_with_the_rule():
    with pytest.raises(ConfigError) as raised:
        parse_value("service.my demo.issuer", "https://idp.example.test")
    assert raised.value.message == "service name 'my demo' is not allowed"
    assert "letters, digits, '-' and '_'" in raised.value.hint


# --- Environment variable names ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "variable"),
    [
        ("auth.storage.type", "PINGCLI_AUTH_STORAGE_TYPE"),
        ("auth.refreshMarginSeconds", "PINGCLI_AUTH_REFRESH_MARGIN_SECONDS"),
        (AC + "clientID", "PINGCLI_SERVICE_DEMO_AUTHENTICATION_AUTHORIZATION_CODE_CLIENT_ID"),
        (AC + "redirectURIPort", "PINGCLI_SERVICE_DEMO_AUTHENTICATION_AUTHORIZATION_CODE_REDIRECT_URI_PORT"),
        (DC + "scopes", "PINGCLI_SERVICE_DEMO_AUTHENTICATION_DEVICE_CODE_SCOPES"),
        ("service.demo.authentication.requireMFA", "PINGCLI_SERVICE_DEMO_AUTHENTICATION_REQUIRE_MFA"),
        ("service.my-app.issuer", "PINGCLI_SERVICE_MY_APP_ISSUER"),
    ],
)
def test_each_key_has_an_environment_variable_named_after_it(key, variable):
    assert env_name(key) == variable


# --- Precedence: environment, then profile, then default ----------------------------------------

STORED = {"service.demo.issuer": "https://idp.example.test", AC + "clientID": "cli-public"}


def test_defaults_fill_what_the_profile_does_not_say():
    profile = resolve_profile("default", STORED, {})
    demo = profile.service("demo")
    assert profile.storage is StorageType.SECURE_LOCAL and profile.refresh_margin == 60
    assert demo.grant is GrantType.AUTHORIZATION_CODE
    assert demo.authorization_code.redirect_port == DEFAULT_REDIRECT_PORT
    assert demo.authorization_code.redirect_path == "/callback"
    assert demo.device_code.client_id is None and demo.require_mfa is False


def test_the_profile_overrides_the_default_and_the_environment_overrides_the_profile():
    stored = {**STORED, "auth.storage.type": "file_system", AC + "redirectURIPort": 8000}
    assert resolve_profile("default", {}, {}).storage is StorageType.SECURE_LOCAL
    assert resolve_profile("default", stored, {}).storage is StorageType.FILE_SYSTEM
    assert resolve_profile("default", stored, {"PINGCLI_AUTH_STORAGE_TYPE": "none"}).storage is StorageType.NONE

    assert resolve_profile("default", stored, {}).service("demo").authorization_code.redirect_port == 8000
    env = {"PINGCLI_SERVICE_DEMO_AUTHENTICATION_AUTHORIZATION_CODE_REDIRECT_URI_PORT": "9000"}
    assert resolve_profile("default", stored, env).service("demo").authorization_code.redirect_port == 9000


def test_the_environment_overrides_a_client_id_from_the_profile():
    env = {"PINGCLI_SERVICE_DEMO_AUTHENTICATION_AUTHORIZATION_CODE_CLIENT_ID": "from-env"}
    demo = resolve_profile("default", STORED, env).service("demo")
    assert demo.client_id(GrantType.AUTHORIZATION_CODE) == "from-env"


def test_values_typed_in_the_toml_file_are_understood():
    stored = {**STORED, "service.demo.authentication.requireMFA": True, AC + "redirectURIPort": 0}
    demo = resolve_profile("default", stored, {}).service("demo")
    assert demo.require_mfa is True and demo.authorization_code.redirect_port == 0


def test_a_service_can_be_defined_only_in_the_environment():
    env = {
        "PINGCLI_SERVICE_CI_ISSUER": "https://idp.example.test",
        "PINGCLI_SERVICE_CI_AUTHENTICATION_TYPE": "device_code",
        "PINGCLI_SERVICE_CI_AUTHENTICATION_DEVICE_CODE_CLIENT_ID": "cli-device",
        "PINGCLI_UNRELATED": "ignored",
        "HOME": "/home/someone",
    }
    profile = resolve_profile("default", {}, env)
    assert sorted(profile.services) == ["ci"]
    ci = profile.service("ci")
    assert ci.issuer == "https://idp.example.test"
    assert ci.grant is GrantType.DEVICE_CODE
    assert ci.client_id(GrantType.DEVICE_CODE) == "cli-device"


def test_overriding_a_hyphenated_service_from_the_environment_does_not_invent_another_service():
    stored = {"service.my-app.issuer": "https://idp.example.test", "service.my-app.authentication."
              "authorizationCode.clientID": "cli-public"}
    env = {"PINGCLI_SERVICE_MY_APP_ISSUER": "https://staging.example.test"}

    profile = resolve_profile("default", stored, env)

    assert profile.service("my-app").issuer == "https://staging.example.test"
    assert sorted(profile.services) == ["my-app"]


def test_a_bad_value_in_the_environment_names_the_variable():
    with pytest.raises(ConfigError) as raised:
        resolve_profile("default", STORED, {"PINGCLI_AUTH_STORAGE_TYPE": "keychain"})
    assert raised.value.message.startswith("PINGCLI_AUTH_STORAGE_TYPE is not valid: must be one of:")


def test_a_bad_value_in_the_profile_names_the_key_and_the_profile():
    with pytest.raises(ConfigError) as raised:
        resolve_profile("work", {**STORED, AC + "redirectURIPort": 70000}, {})
    assert raised.value.message.startswith(f"{AC}redirectURIPort in profile 'work' is not valid:")


def test_a_service_missing_its_issuer_or_client_id_says_which_setting_to_make():
    demo = resolve_profile("default", {AC + "scopes": "openid"}, {}).service("demo")
    with pytest.raises(ConfigError) as no_issuer:
        demo.require_issuer()
    assert no_issuer.value.hint == "pingcli config set service.demo.issuer=https://issuer.example"
    with pytest.raises(ConfigError) as no_client:
        demo.client_id(GrantType.DEVICE_CODE)
    assert no_client.value.hint == "pingcli config set service.demo.authentication.deviceCode.clientID=CLIENT_ID"


def test_asking_for_a_service_the_profile_lacks_lists_the_configured_ones():
    with pytest.raises(ConfigError) as raised:
        resolve_profile("default", STORED, {}).service("prod")
    assert raised.value.message == "profile 'default' has no service 'prod' (configured: demo)"


# --- The Configuration use case ------------------------------------------------------------------


def configuration(profiles=None, active=None, env=None, flag=None):
    store = FakeConfigStore({"default": {}} if profiles is None else profiles, active)
    return Configuration(store, env or {}, flag), store


def test_set_stores_the_parsed_value_in_the_active_profile():
    config, store = configuration()
    assert config.set(AC + "redirectURIPort", "8080") == 8080
    assert store.profiles["default"][AC + "redirectURIPort"] == 8080


def test_an_invalid_value_is_refused_and_nothing_is_written():
    config, store = configuration()
    with pytest.raises(ConfigError, match="from 0 to 65535"):
        config.set(AC + "redirectURIPort", "99999")
    assert store.writes == 0 and store.profiles == {"default": {}}


def test_get_says_where_the_value_came_from():
    config, _ = configuration()
    assert config.get("auth.storage.type") == ("secure_local", "default")
    config.set("auth.storage.type", "file_system")
    assert config.get("auth.storage.type") == ("file_system", "profile 'default'")

    with_env, _ = configuration({"default": {"auth.storage.type": "file_system"}},
                                env={"PINGCLI_AUTH_STORAGE_TYPE": "none"})
    assert with_env.get("auth.storage.type") == ("none", "environment (PINGCLI_AUTH_STORAGE_TYPE)")


def test_unset_removes_a_value_once_and_refuses_unknown_keys():
    config, store = configuration({"default": {"auth.storage.type": "none"}})
    assert config.unset("auth.storage.type") is True
    assert config.unset("auth.storage.type") is False
    assert store.profiles["default"] == {}
    with pytest.raises(ConfigError, match="unknown configuration key"):
        config.unset("auth.storage.typo")


def test_the_active_profile_comes_from_the_flag_then_the_environment_then_the_file_then_default():
    profiles = {"default": {}, "work": {}, "ci": {}, "home": {}}
    assert configuration(profiles, "home", {"PINGCLI_PROFILE": "ci"}, "work")[0].active().name == "work"
    assert configuration(profiles, "home", {"PINGCLI_PROFILE": "ci"})[0].active().source == "environment"
    assert configuration(profiles, "home")[0].active().source == "config file"
    assert configuration(profiles)[0].active().source == "default"


def test_setting_a_value_in_a_profile_that_does_not_exist_says_how_to_create_it():
    config, store = configuration({"default": {}}, env={"PINGCLI_PROFILE": "ghost"})
    with pytest.raises(ConfigError) as raised:
        config.set("auth.storage.type", "none")
    assert raised.value.message == "there is no profile 'ghost' in memory (profiles: default)"
    assert raised.value.hint == "pingcli config profiles create ghost"
    assert store.writes == 0


def test_profiles_are_created_listed_used_and_deleted():
    config, store = configuration({"default": {}})
    config.create("work")
    config.use("work")
    assert config.profiles() == (["default", "work"], "work")
    config.use("default")
    config.delete("work")
    assert config.profiles() == (["default"], "default")
    assert "work" not in store.profiles


def test_the_default_profile_is_listed_even_before_it_is_written():
    config, _ = configuration({})
    assert config.profiles() == (["default"], "default")


def test_creating_a_profile_twice_is_refused():
    config, _ = configuration({"default": {}, "work": {}})
    with pytest.raises(ConfigError) as raised:
        config.create("work")
    assert raised.value.message == "profile 'work' already exists"
    assert raised.value.hint == "pingcli config profiles use work"


def test_a_profile_name_outside_the_rules_is_refused():
    config, store = configuration()
    with pytest.raises(ConfigError, match="profile name '../etc' is not allowed"):
        config.create("../etc")
    assert store.writes == 0


def test_the_active_profile_cannot_be_deleted():
    config, store = configuration({"default": {}, "work": {}}, "work")
    with pytest.raises(ConfigError) as raised:
        config.delete("work")
    assert raised.value.message == "profile 'work' is the active profile"
    assert raised.value.hint == "switch first: pingcli config profiles use OTHER"
    assert "work" in store.profiles and store.writes == 0


def test_deleting_or_using_a_profile_that_does_not_exist_is_refused():
    config, store = configuration()
    with pytest.raises(ConfigError, match="there is no profile 'nope'"):
        config.delete("nope")
    with pytest.raises(ConfigError) as raised:
        config.use("nope")
    assert raised.value.hint == "pingcli config profiles create nope"
    assert store.writes == 0


def test_show_lists_a_profiles_values_sorted_and_refuses_an_unknown_profile():
    config, _ = configuration({"default": {"service.demo.issuer": "https://idp.example.test",
                                           "auth.storage.type": "none"}})
    assert config.show() == ("default", {"auth.storage.type": "none",
                                         "service.demo.issuer": "https://idp.example.test"})
    with pytest.raises(ConfigError, match="there is no profile 'other'"):
        config.show("other")


def test_the_profile_is_resolved_with_the_environment_on_top():
    config, _ = configuration({"default": dict(STORED)}, env={"PINGCLI_AUTH_STORAGE_TYPE": "none"})
    profile = config.profile()
    assert profile.storage is StorageType.NONE and profile.service("demo").issuer == "https://idp.example.test"


# --- The TOML file --------------------------------------------------------------------------------

HAND_WRITTEN = """\
# pingcli configuration, edited by hand
activeProfile = "default"  # the one I use

[profiles.default]
# the keyring is locked on this box
auth.storage.type = "file_system"  # see ticket 42

# staging
[profiles.default.service.demo]
issuer = "https://idp.example.test"  # staging issuer
authentication.authorizationCode.clientID = "cli-public"
authentication.authorizationCode.scopes = "openid"
"""


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    return path


def test_the_file_is_read_as_flat_keys_per_profile(config_file):
    active, profiles = TomlConfigStore(config_file).load()
    assert active == "default"
    assert profiles == {"default": {
        "auth.storage.type": "file_system",
        "service.demo.issuer": "https://idp.example.test",
        "service.demo.authentication.authorizationCode.clientID": "cli-public",
        "service.demo.authentication.authorizationCode.scopes": "openid",
    }}


def test_a_missing_file_is_an_empty_configuration(tmp_path):
    assert TomlConfigStore(tmp_path / "nope.toml").load() == (None, {})


def test_set_and_unset_keep_the_persons_comments(config_file):
    store = TomlConfigStore(config_file)
    store.set_value("default", "auth.storage.type", "none")
    store.set_value("default", AC + "redirectURIPort", 8080)
    store.unset_value("default", AC + "scopes")

    text = config_file.read_text()
    for comment in ("# pingcli configuration, edited by hand", "# the one I use", "# the keyring is locked on this box",
                    "# see ticket 42", "# staging", "# staging issuer"):
        assert comment in text
    assert 'auth.storage.type = "none"  # see ticket 42' in text
    assert store.load()[1]["default"] == {
        "auth.storage.type": "none",
        "service.demo.issuer": "https://idp.example.test",
        "service.demo.authentication.authorizationCode.clientID": "cli-public",
        "service.demo.authentication.authorizationCode.redirectURIPort": 8080,
    }


def test_unsetting_the_last_value_of_a_service_removes_its_empty_tables(tmp_path):
    store = TomlConfigStore(tmp_path / "config.toml")
    store.set_value("default", "service.demo.issuer", "https://idp.example.test")
    assert store.unset_value("default", "service.demo.issuer") is True
    assert store.unset_value("default", "service.demo.issuer") is False
    assert "service" not in (tmp_path / "config.toml").read_text()
    assert store.load()[1].get("default", {}) == {}


def test_unsetting_the_last_value_of_a_profile_keeps_the_profile(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('activeProfile = "work"\n\n[profiles.work.service.demo]\nissuer = "https://idp.example.test"\n')
    store = TomlConfigStore(path)

    assert store.unset_value("work", "service.demo.issuer") is True

    assert store.load() == ("work", {"work": {}})


def test_values_keep_their_types_through_the_file(tmp_path):
    store = TomlConfigStore(tmp_path / "config.toml")
    store.set_value("work", "service.demo.authentication.requireMFA", True)
    store.set_value("work", AC + "redirectURIPort", 0)
    store.set_active("work")
    active, profiles = TomlConfigStore(tmp_path / "config.toml").load()
    assert active == "work"
    assert profiles["work"]["service.demo.authentication.requireMFA"] is True
    assert profiles["work"][AC + "redirectURIPort"] == 0


def test_profiles_are_created_and_deleted_in_the_file(config_file):
    store = TomlConfigStore(config_file)
    store.create_profile("work")
    assert set(store.load()[1]) == {"default", "work"}
    store.delete_profile("work")
    assert set(store.load()[1]) == {"default"}
    assert "# the keyring is locked on this box" in config_file.read_text()


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_file_is_private_and_so_are_the_directories_it_creates(tmp_path, umask_022):
    path = tmp_path / "home" / ".config" / "pingcli" / "config.toml"
    TomlConfigStore(path).set_value("default", "auth.storage.type", "file_system")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (path.parent, path.parent.parent, path.parent.parent.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert os.listdir(path.parent) == ["config.toml"]  # no temporary file left behind


def test_rewriting_a_file_leaves_it_private(config_file, umask_022):
    config_file.chmod(0o644)
    TomlConfigStore(config_file).set_value("default", "auth.storage.type", "none")
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "change",
    [
        lambda store: store.set_value("default", "auth.storage.type", "none"),
        lambda store: store.unset_value("default", "auth.storage.type"),
        lambda store: store.create_profile("work"),
        lambda store: store.delete_profile("default"),
        lambda store: store.set_active("default"),
    ],
)
def test_a_file_that_is_not_valid_toml_is_never_overwritten(tmp_path, change):
    path = tmp_path / "config.toml"
    broken = b'[profiles.default]\nauth.storage.type = "file_system\n# half-edited\n'
    path.write_bytes(broken)

    with pytest.raises(ConfigError) as raised:
        change(TomlConfigStore(path))

    assert "is not valid TOML" in raised.value.message
    assert "pingcli will not overwrite it" in raised.value.hint
    assert path.read_bytes() == broken
    assert os.listdir(tmp_path) == ["config.toml"]


def test_a_profiles_entry_that_is_not_a_table_is_reported_not_overwritten(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('profiles = "default"\n')
    with pytest.raises(ConfigError, match=r"has a \[profiles\] section pingcli cannot read"):
        TomlConfigStore(path).set_value("default", "auth.storage.type", "none")
    assert path.read_text() == 'profiles = "default"\n'


def test_a_file_that_is_not_utf8_is_reported(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"activeProfile = '\xff'\n")
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        TomlConfigStore(path).load()
