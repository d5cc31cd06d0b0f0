"""Client secrets: kept in the token store, never in the configuration file, sent with HTTP Basic, shown masked."""

import base64
import io
from urllib.parse import unquote_plus

import pytest
from dependency_injector import providers

from pingcli.adapters.fakes import FakeConfigStore, FakeConsole, FakeProvider, FakeSessionStore
from pingcli.adapters.id_token import JwksIdTokenValidator
from pingcli.adapters.session_stores import FileSessionStore, KeyringSessionStore
from pingcli.adapters.oidc_discovery import DiscoveryClient
from pingcli.domain.client_auth import MASK, ClientAuth
from pingcli.domain.errors import ConfigError, SignInFailed, StorageUnavailable
from pingcli.domain.settings import SECRET_MARKER, GrantType, StorageType, resolve_profile
from pingcli.domain.usecases.client_secrets import ClientSecrets
from pingcli.domain.usecases.config import Configuration
from pingcli.domain.usecases.logout import Logout
from pingcli.domain.usecases.token import GetToken, Refresher
from pingcli.entrypoints.main import main

from .conftest import ISSUER
from .test_keyring_session_store import DictKeyring

CLIENT = "cli-confidential"
SECRET = "s3cret: with spaces+plus/slash&é"
AC_KEY = "service.demo.authentication.authorizationCode.clientSecret"
DC_KEY = "service.demo.authentication.deviceCode.clientSecret"
AC_VAR = "PINGCLI_SERVICE_DEMO_AUTHENTICATION_AUTHORIZATION_CODE_CLIENT_SECRET"


def confidential_settings(storage="file_system", **more):
    return {
        "service.demo.issuer": ISSUER,
        "service.demo.authentication.authorizationCode.clientID": CLIENT,
        "service.demo.authentication.deviceCode.clientID": CLIENT,
        "auth.storage.type": storage,
        **more,
    }


@pytest.fixture
def store():
    return FakeSessionStore("Secret Service (fake)")


def secrets_for(config_store, store, env=None):
    configuration = Configuration(config_store, env or {})
    stores = {StorageType.SECURE_LOCAL: store, StorageType.FILE_SYSTEM: store, StorageType.NONE: FakeSessionStore()}
    return ClientSecrets(configuration, stores)


def basic_credentials(request):
    header = {k.lower(): v for k, v in (request.headers or {}).items()}["authorization"]
    assert header.startswith("Basic ")
    client_id, _, secret = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


# --- How the secret is sent (RFC 6749 §2.3.1) --------------------------------------------------------


def test_http_basic_carries_the_id_and_secret_form_urlencoded_first():
    headers = ClientAuth("my client", "p@ss word:+/é").headers()

    raw = base64.b64decode(headers["Authorization"].removeprefix("Basic ")).decode("ascii")
    assert raw == "my+client:p%40ss+word%3A%2B%2F%C3%A9"


def test_a_public_client_sends_no_authorization_header_and_the_secret_is_never_in_a_form_or_repr():
    assert ClientAuth("cli-public").headers() == {}
    confidential = ClientAuth(CLIENT, SECRET)
    assert confidential.form({"grant_type": "refresh_token"}) == {"grant_type": "refresh_token", "client_id": CLIENT}
    assert SECRET not in repr(confidential)


# --- config set / get / unset / profiles show ----------------------------------------------------------


def test_setting_a_secret_puts_it_in_the_token_store_and_only_a_marker_in_the_file(store):
    config = FakeConfigStore({"default": confidential_settings()})

    done = secrets_for(config, store).set(AC_KEY, SECRET)

    assert store.secrets == {("default", "demo", "authorization_code"): SECRET.strip()}
    assert config.profiles["default"][AC_KEY] == SECRET_MARKER
    assert SECRET not in repr(config.profiles)
    assert done.stored_in == "Secret Service (fake)"


def test_with_storage_none_a_secret_is_refused_with_the_environment_variable_to_use_instead(store):
    config = FakeConfigStore({"default": confidential_settings("none")})

    with pytest.raises(ConfigError) as refused:
        secrets_for(config, store).set(AC_KEY, SECRET)

    assert "auth.storage.type=none" in refused.value.message
    assert AC_VAR in refused.value.hint
    assert config.writes == 0 and store.secrets == {}


def test_a_store_that_does_not_keep_the_secret_is_reported_and_the_file_is_left_alone():
    config = FakeConfigStore({"default": confidential_settings()})
    forgetful = FakeSessionStore("broken keyring", keeps=False)

    with pytest.raises(StorageUnavailable) as refused:
        secrets_for(config, forgetful).set(AC_KEY, SECRET)

    assert "did not keep the client secret" in refused.value.message
    assert AC_KEY not in config.profiles["default"] and config.writes == 0


def test_a_store_that_refuses_the_write_leaves_the_file_alone():
    config = FakeConfigStore({"default": confidential_settings()})
    full = FakeSessionStore("full disk", refuse_writes=StorageUnavailable("full disk", "no space left on device"))

    with pytest.raises(StorageUnavailable):
        secrets_for(config, full).set(AC_KEY, SECRET)

    assert config.writes == 0


def test_get_masks_the_secret_unless_asked_and_says_where_it_is(store):
    config = FakeConfigStore({"default": confidential_settings()})
    secrets = secrets_for(config, store)
    secrets.set(AC_KEY, SECRET)

    masked = secrets.get(AC_KEY)
    unmasked = secrets.get(AC_KEY, unmask=True)

    assert (masked.value, masked.source) == (MASK, "token store (Secret Service (fake))")
    assert unmasked.value == SECRET.strip()
    assert secrets.get(DC_KEY).value is None


def test_a_secret_from_the_environment_is_masked_too_and_named_by_its_variable(store):
    config = FakeConfigStore({"default": confidential_settings()})
    secrets = secrets_for(config, store, {AC_VAR: "from-env"})

    shown = secrets.get(AC_KEY)

    assert (shown.value, shown.source) == (MASK, f"environment ({AC_VAR})")
    assert secrets.get(AC_KEY, unmask=True).value == "from-env"
    assert Configuration(config, {AC_VAR: "from-env"}).get(AC_KEY)[0] == MASK


def test_profiles_show_masks_secrets_unless_unmasked(store):
    config = FakeConfigStore({"default": confidential_settings()})
    secrets = secrets_for(config, store)
    secrets.set(AC_KEY, SECRET)

    _, masked = secrets.show(None, unmask=False)
    _, unmasked = secrets.show(None, unmask=True)

    assert masked[AC_KEY] == MASK and unmasked[AC_KEY] == SECRET.strip()
    assert masked["service.demo.issuer"] == ISSUER


def test_unset_removes_the_secret_from_the_store_and_the_marker_from_the_file(store):
    config = FakeConfigStore({"default": confidential_settings()})
    secrets = secrets_for(config, store)
    secrets.set(AC_KEY, SECRET)

    assert secrets.unset(AC_KEY) is True

    assert store.secrets == {} and AC_KEY not in config.profiles["default"]
    assert secrets.unset(AC_KEY) is False


def test_the_plain_configuration_never_writes_or_shows_a_secret():
    config = FakeConfigStore({"default": confidential_settings(**{AC_KEY: "typed-in-by-hand"})})
    configuration = Configuration(config, {})

    with pytest.raises(ConfigError):
        configuration.set(AC_KEY, SECRET)
    assert configuration.get(AC_KEY)[0] == MASK
    assert configuration.show()[1][AC_KEY] == MASK


def test_a_secret_typed_into_the_file_by_hand_is_refused_with_how_to_move_it():
    profile = resolve_profile("default", confidential_settings(**{AC_KEY: "typed-in-by-hand"}), {})

    with pytest.raises(ConfigError) as refused:
        profile.service("demo").client_auth(GrantType.AUTHORIZATION_CODE)

    assert "plain text in the configuration file" in refused.value.message
    assert f"pingcli config set {AC_KEY}=" in refused.value.hint
    assert "typed-in-by-hand" not in refused.value.message + refused.value.hint


def test_a_marker_whose_secret_is_missing_from_the_store_says_where_it_looked_and_what_to_do(store):
    config = FakeConfigStore({"default": confidential_settings(**{AC_KEY: SECRET_MARKER})})
    profile = secrets_for(config, store).fill(Configuration(config, {}).profile())

    with pytest.raises(ConfigError) as refused:
        profile.service("demo").client_auth(GrantType.AUTHORIZATION_CODE)

    assert "not in the token store (Secret Service (fake))" in refused.value.message
    assert AC_KEY in refused.value.hint and AC_VAR in refused.value.hint


# --- Signing in, refreshing and signing out as a confidential client ----------------------------------


@pytest.fixture
def confidential(world):
    world.provider = FakeProvider(ISSUER, world.clock, confidential_clients={CLIENT: SECRET.strip()})
    config = FakeConfigStore({"default": confidential_settings()})
    secrets = secrets_for(config, world.store)
    secrets.set(AC_KEY, SECRET)
    secrets.set(DC_KEY, SECRET)
    world.person_signs_in()
    return world, secrets.fill(Configuration(config, {}).profile())


def refresher(world):
    return Refresher(
        http=world.provider, metadata=DiscoveryClient(world.provider), id_tokens=JwksIdTokenValidator(world.provider),
        store=world.store, clock=world.clock, locks=world.locks,
    )


def test_a_confidential_client_signs_in_with_http_basic_and_never_puts_the_secret_in_a_form(confidential):
    confidential, profile = confidential

    confidential.login().one(profile, profile.service("demo"))

    [token_request] = confidential.provider.requests_to("/token")
    assert basic_credentials(token_request) == (CLIENT, SECRET.strip())
    assert "client_secret" not in token_request.form and token_request.form["client_id"] == CLIENT
    assert confidential.store.saved[-1].client_id == CLIENT


def test_a_confidential_device_sign_in_authenticates_both_device_requests(confidential):
    confidential, profile = confidential
    confidential.console = FakeConsole()
    original_say = confidential.console.say

    def say(message):
        original_say(message)
        for code in confidential.provider.device_user_codes:
            confidential.provider.approve_device(code)

    confidential.console.say = say

    confidential.login().one(profile, profile.service("demo"), grant=GrantType.DEVICE_CODE)

    for path in ("/device_authorization", "/token"):
        for request in confidential.provider.requests_to(path):
            assert basic_credentials(request) == (CLIENT, SECRET.strip())


def test_a_wrong_secret_is_a_refused_sign_in_that_does_not_echo_the_secret(world):
    world.provider = FakeProvider(ISSUER, world.clock, confidential_clients={CLIENT: "the-right-one"})
    config = FakeConfigStore({"default": confidential_settings()})
    secrets = secrets_for(config, world.store)
    secrets.set(AC_KEY, "a-wrong-secret")
    profile = secrets.fill(Configuration(config, {}).profile())
    world.person_signs_in()

    with pytest.raises(SignInFailed) as refused:
        world.login().one(profile, profile.service("demo"))

    assert "invalid_client" in refused.value.message
    assert "a-wrong-secret" not in refused.value.message + (refused.value.hint or "")
    assert world.store.saved == []


def test_refresh_and_revocation_authenticate_as_the_confidential_client(confidential):
    confidential, profile = confidential
    confidential.login().one(profile, profile.service("demo"))
    confidential.clock.advance(3600)

    token = GetToken(refresher=refresher(confidential), store=confidential.store, login=confidential.login())(
        profile, "demo"
    )
    results = Logout(http=confidential.provider, metadata=DiscoveryClient(confidential.provider),
                     store=confidential.store, locks=confidential.locks)(profile)

    assert token.refreshed
    refresh = [r for r in confidential.provider.requests_to("/token") if r.form["grant_type"] == "refresh_token"]
    assert len(refresh) == 1 and basic_credentials(refresh[0]) == (CLIENT, SECRET.strip())
    revocations = confidential.provider.requests_to("/revoke")
    assert revocations and all(basic_credentials(r) == (CLIENT, SECRET.strip()) for r in revocations)
    assert results[0].revoked == "revoked"


def test_a_session_of_another_client_is_refreshed_as_that_client_without_the_configured_secret(confidential):
    confidential, profile = confidential
    confidential.login().one(profile, profile.service("demo"))
    session = confidential.store.saved[-1]

    client = profile.service("demo").client_auth_for("some-older-client", session.grant)

    assert client == ClientAuth("some-older-client")


# --- The command, in process ---------------------------------------------------------------------------


def run(argv, config, store, env=None):
    out, err = io.StringIO(), io.StringIO()

    def configure(container):
        container.config_store.override(providers.Object(config))
        container.session_stores.override(providers.Object(
            {StorageType.SECURE_LOCAL: store, StorageType.FILE_SYSTEM: store, StorageType.NONE: FakeSessionStore()}
        ))

    code = main(argv, env or {"PINGCLI_CONFIG": "/nonexistent/config.toml"}, out, err, configure=configure)
    return code, out.getvalue(), err.getvalue()


def test_the_command_never_prints_the_secret_unless_unmasked(store):
    config = FakeConfigStore({"default": confidential_settings()})

    outputs = [
        run(["config", "set", f"{AC_KEY}={SECRET}"], config, store),
        run(["config", "get", AC_KEY], config, store),
        run(["config", "get", AC_KEY, "--output", "json"], config, store),
        run(["config", "profiles", "show"], config, store),
    ]
    unmasked = run(["config", "get", AC_KEY, "--unmask"], config, store)

    for code, out, err in outputs:
        assert code == 0, err
        assert SECRET.strip() not in out + err and MASK in out
    assert unmasked[1] == SECRET.strip() + "\n"
    assert config.profiles["default"][AC_KEY] == SECRET_MARKER


def test_the_command_refuses_a_secret_with_storage_none_and_names_the_variable(store):
    config = FakeConfigStore({"default": confidential_settings("none")})

    code, out, err = run(["config", "set", f"{AC_KEY}={SECRET}"], config, store)

    assert code == 2 and AC_VAR in err and SECRET.strip() not in out + err


# --- The stores that keep them (SecretStore port) ------------------------------------------------------


def test_the_file_store_keeps_a_secret_in_a_file_of_its_own_only_this_account_can_read(tmp_path):
    store = FileSessionStore(tmp_path / "sessions")

    store.save_secret("default", "demo", "authorization_code", SECRET)

    path = store.secret_path_of("default", "demo", "authorization_code")
    assert path == tmp_path / "sessions" / "default" / "demo.authorization_code.client-secret"
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert store.load_secret("default", "demo", "authorization_code") == SECRET
    assert store.load("default", "demo") is None  # never taken for a session
    assert store.delete_secret("default", "demo", "authorization_code") is True
    assert not path.exists() and store.load_secret("default", "demo", "authorization_code") is None
    assert store.delete_secret("default", "demo", "authorization_code") is False


def test_the_keyring_store_keeps_a_secret_under_an_entry_of_its_own_and_chunks_a_long_one():
    backend = DictKeyring()
    store = KeyringSessionStore(backend, max_value_bytes=128)
    long_secret = "{" + "x" * 300  # too long for one entry, and looks like a chunk manifest

    store.save_secret("default", "demo", "device_code", SECRET)
    store.save_secret("default", "demo", "authorization_code", long_secret)

    assert backend.entries[("pingcli", "default/demo/client-secret/device_code")] == SECRET
    assert store.load_secret("default", "demo", "device_code") == SECRET
    assert store.load_secret("default", "demo", "authorization_code") == long_secret
    assert store.load("default", "demo") is None
    assert store.delete_secret("default", "demo", "authorization_code") is True
    assert store.delete_secret("default", "demo", "device_code") is True
    assert backend.names() == set()


@pytest.mark.parametrize("name", ["", "../x", "Device", "a/b"])
def test_a_secret_name_that_could_escape_its_place_is_refused(tmp_path, name):
    with pytest.raises(ValueError):
        FileSessionStore(tmp_path).secret_path_of("default", "demo", name)
    with pytest.raises(ValueError):
        KeyringSessionStore.secret_entry_name("default", "demo", name)
