"""Discovery and JWKS kept on disk: a second process asks the provider nothing until the entry is stale."""

from __future__ import annotations

import json
import os
import stat

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pingcli.adapters.fakes import FakeClock, FakeProvider
from pingcli.adapters.id_token import JwksIdTokenValidator
from pingcli.adapters.oidc_discovery import CachedDiscovery
from pingcli.adapters.provider_cache import (
    DEFAULT_TTL,
    MAX_TTL,
    ProviderCache,
    _entry_from_bytes,
    freshness,
)
from pingcli.domain.errors import BadProviderResponse, IdTokenInvalid
from pingcli.domain.provider import HttpResponse

ISSUER = "https://idp.example.test"
DISCOVERY = "/.well-known/openid-configuration"
CLIENT_ID = "cli-public"
NOW = 1_800_000_000.0


@pytest.fixture
def clock():
    return FakeClock(NOW)


@pytest.fixture
def provider(clock):
    return FakeProvider(ISSUER, clock)


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache" / "pingcli"


def new_process(provider, clock, cache_dir):
    """What a new `pingcli` process builds: nothing in memory, the same directory on disk."""
    cache = ProviderCache(cache_dir)
    return CachedDiscovery(provider, cache, clock), JwksIdTokenValidator(provider, cache=cache)


def discovery_answer(provider, **headers) -> HttpResponse:
    """The provider's own discovery document, with the caching headers a test wants."""
    real = provider.request("GET", ISSUER + DISCOVERY, endpoint="discovery document")
    provider.requests.clear()
    return HttpResponse(200, {**real.headers, **headers}, real.body)


def lookups(provider, clock, cache_dir) -> int:
    """Discovery requests one new process sends to get the metadata."""
    before = len(provider.requests_to(DISCOVERY))
    discovery, _ = new_process(provider, clock, cache_dir)
    assert discovery.metadata(ISSUER).token_endpoint == ISSUER + "/token"
    return len(provider.requests_to(DISCOVERY)) - before


def id_token(provider, **changes) -> str:
    claims = {"iss": ISSUER, "sub": "user-demo", "aud": CLIENT_ID, "iat": int(NOW), "exp": int(NOW) + 3600}
    claims.update(changes)
    return provider.sign_id_token(claims)


def cache_files(cache_dir):
    return sorted((cache_dir / "providers").glob("*.json"))


# --- Discovery -----------------------------------------------------------------------------------


def test_a_second_process_sends_no_discovery_request(provider, clock, cache_dir):
    assert lookups(provider, clock, cache_dir) == 1
    assert lookups(provider, clock, cache_dir) == 0


def test_within_one_process_the_metadata_is_asked_for_once_even_without_a_cache(provider):
    discovery = CachedDiscovery(provider)
    discovery.metadata(ISSUER)
    discovery.metadata(ISSUER)
    assert len(provider.requests_to(DISCOVERY)) == 1


def test_without_caching_headers_an_entry_is_used_for_an_hour(provider, clock, cache_dir):
    lookups(provider, clock, cache_dir)

    clock.advance(DEFAULT_TTL - 1)
    assert lookups(provider, clock, cache_dir) == 0
    clock.advance(2)
    assert lookups(provider, clock, cache_dir) == 1


def test_max_age_sets_how_long_an_entry_is_used(provider, clock, cache_dir):
    provider.queue_response(DISCOVERY, discovery_answer(provider, **{"cache-control": "public, max-age=60"}))
    lookups(provider, clock, cache_dir)

    clock.advance(59)
    assert lookups(provider, clock, cache_dir) == 0
    clock.advance(2)
    assert lookups(provider, clock, cache_dir) == 1


def test_a_lifetime_longer_than_a_day_is_cut_to_a_day(provider, clock, cache_dir):
    provider.queue_response(DISCOVERY, discovery_answer(provider, **{"cache-control": "max-age=31536000"}))
    lookups(provider, clock, cache_dir)

    clock.advance(MAX_TTL - 1)
    assert lookups(provider, clock, cache_dir) == 0
    clock.advance(2)
    assert lookups(provider, clock, cache_dir) == 1


def test_no_store_means_nothing_is_kept(provider, clock, cache_dir):
    provider.queue_response(DISCOVERY, discovery_answer(provider, **{"cache-control": "no-store"}))
    assert lookups(provider, clock, cache_dir) == 1
    assert cache_files(cache_dir) == []
    assert lookups(provider, clock, cache_dir) == 1


def test_no_cache_means_every_use_is_revalidated_with_the_etag(provider, clock, cache_dir):
    answer = discovery_answer(provider, **{"cache-control": "no-cache", "etag": '"v1"'})
    provider.queue_response(DISCOVERY, answer)
    lookups(provider, clock, cache_dir)
    provider.queue_response(DISCOVERY, HttpResponse(304, {"cache-control": "no-cache", "etag": '"v1"'}, b""))

    assert lookups(provider, clock, cache_dir) == 1
    assert provider.requests_to(DISCOVERY)[-1].headers == {"If-None-Match": '"v1"'}


def test_expires_is_read_against_the_providers_date(provider, clock, cache_dir):
    headers = {"date": "Fri, 15 Jan 2027 08:00:00 GMT", "expires": "Fri, 15 Jan 2027 08:10:00 GMT"}
    provider.queue_response(DISCOVERY, discovery_answer(provider, **headers))
    lookups(provider, clock, cache_dir)

    clock.advance(599)
    assert lookups(provider, clock, cache_dir) == 0
    clock.advance(2)
    assert lookups(provider, clock, cache_dir) == 1


def test_a_stale_entry_with_an_etag_is_revalidated_and_a_304_keeps_it_another_lifetime(provider, clock, cache_dir):
    provider.queue_response(DISCOVERY, discovery_answer(provider, **{"cache-control": "max-age=60", "etag": '"v1"'}))
    lookups(provider, clock, cache_dir)
    clock.advance(61)
    provider.queue_response(DISCOVERY, HttpResponse(304, {"cache-control": "max-age=600"}, b""))

    assert lookups(provider, clock, cache_dir) == 1
    assert provider.requests_to(DISCOVERY)[-1].headers == {"If-None-Match": '"v1"'}
    clock.advance(599)
    assert lookups(provider, clock, cache_dir) == 0


def test_a_stale_entry_without_an_etag_is_fetched_again_without_conditions(provider, clock, cache_dir):
    lookups(provider, clock, cache_dir)
    clock.advance(DEFAULT_TTL + 1)

    assert lookups(provider, clock, cache_dir) == 1
    assert provider.requests_to(DISCOVERY)[-1].headers is None


def test_an_error_answer_is_not_kept(provider, clock, cache_dir):
    provider.queue_response(DISCOVERY, HttpResponse(503, {"content-type": "text/html"}, b"<h1>busy</h1>"))
    discovery, _ = new_process(provider, clock, cache_dir)
    with pytest.raises(BadProviderResponse):
        discovery.metadata(ISSUER)

    assert cache_files(cache_dir) == []
    assert lookups(provider, clock, cache_dir) == 1


def test_a_document_for_another_issuer_is_refused_and_not_kept(provider, clock, cache_dir):
    other = json.loads(discovery_answer(provider).body) | {"issuer": "https://evil.example.test"}
    provider.queue_response(DISCOVERY, HttpResponse(200, {"content-type": "application/json"}, json.dumps(other).encode()))
    discovery, _ = new_process(provider, clock, cache_dir)

    with pytest.raises(BadProviderResponse, match="is not the configured"):
        discovery.metadata(ISSUER)
    assert cache_files(cache_dir) == []


def test_a_cached_document_that_names_another_issuer_is_never_used(provider, clock, cache_dir):
    lookups(provider, clock, cache_dir)
    (path,) = cache_files(cache_dir)
    entry = json.loads(path.read_text())
    entry["body"]["issuer"] = "https://evil.example.test"
    entry["body"]["token_endpoint"] = "https://evil.example.test/token"
    path.write_text(json.dumps(entry))

    discovery, _ = new_process(provider, clock, cache_dir)
    assert discovery.metadata(ISSUER).token_endpoint == ISSUER + "/token"
    assert len(provider.requests_to(DISCOVERY)) == 2
    assert json.loads(path.read_text())["body"]["issuer"] == ISSUER


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"\xff\xfe", b"[]", b'{"format": 1}', b'{"format": 99, "url": "x", "body": {}}', b"9" * 5000],
    ids=["empty", "truncated", "not utf-8", "a list", "no fields", "unknown format", "a huge number"],
)
def test_a_corrupt_cache_file_is_ignored_and_replaced(provider, clock, cache_dir, content):
    lookups(provider, clock, cache_dir)
    (path,) = cache_files(cache_dir)
    path.write_bytes(content)

    assert lookups(provider, clock, cache_dir) == 1
    assert json.loads(path.read_text())["body"]["issuer"] == ISSUER
    assert lookups(provider, clock, cache_dir) == 0


def test_an_entry_stored_for_another_url_is_ignored(provider, clock, cache_dir):
    lookups(provider, clock, cache_dir)
    (path,) = cache_files(cache_dir)
    entry = json.loads(path.read_text())
    path.write_text(json.dumps(entry | {"url": "https://other.example.test/.well-known/openid-configuration"}))

    assert lookups(provider, clock, cache_dir) == 1


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_an_entry_others_could_have_written_is_ignored(provider, clock, cache_dir):
    lookups(provider, clock, cache_dir)
    (path,) = cache_files(cache_dir)
    os.chmod(path, 0o666)

    assert lookups(provider, clock, cache_dir) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_in_place_of_an_entry_neither_blocks_nor_is_read(provider, clock, cache_dir):
    lookups(provider, clock, cache_dir)
    (path,) = cache_files(cache_dir)
    path.unlink()
    os.mkfifo(path, 0o600)

    assert lookups(provider, clock, cache_dir) == 1
    assert stat.S_ISREG(path.lstat().st_mode)


def test_a_clock_set_back_beyond_the_longest_lifetime_makes_entries_stale(provider, clock, cache_dir):
    lookups(provider, clock, cache_dir)
    clock.advance(-(MAX_TTL + 10))
    assert lookups(provider, clock, cache_dir) == 1


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_entries_are_files_only_this_account_can_read_in_private_directories(provider, clock, cache_dir):
    lookups(provider, clock, cache_dir)
    (path,) = cache_files(cache_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.parent == cache_dir / "providers"


def test_a_cache_that_cannot_be_written_is_no_error(provider, clock, tmp_path):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "providers").write_text("a file where the directory should be")

    assert lookups(provider, clock, cache_dir) == 1
    assert lookups(provider, clock, cache_dir) == 1


# --- JWKS ---------------------------------------------------------------------------------------


def test_a_second_process_checks_signatures_with_the_cached_keys(provider, clock, cache_dir):
    for _ in range(2):
        discovery, validator = new_process(provider, clock, cache_dir)
        validator.validate(id_token(provider), metadata=discovery.metadata(ISSUER), client_id=CLIENT_ID, nonce=None,
                           now=clock.now())

    assert len(provider.requests_to("/jwks")) == 1
    assert len(cache_files(cache_dir)) == 2


def test_an_unknown_kid_fetches_the_jwks_once_past_the_cache_and_then_refuses(provider, clock, cache_dir):
    discovery, validator = new_process(provider, clock, cache_dir)
    metadata = discovery.metadata(ISSUER)
    validator.validate(id_token(provider), metadata=metadata, client_id=CLIENT_ID, nonce=None, now=clock.now())
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode({"iss": ISSUER}, impostor, algorithm="RS256", headers={"kid": "not-a-key-of-theirs"})

    _, validator = new_process(provider, clock, cache_dir)
    before = len(provider.requests_to("/jwks"))
    with pytest.raises(IdTokenInvalid) as refused:
        validator.validate(token, metadata=metadata, client_id=CLIENT_ID, nonce=None, now=clock.now())

    assert refused.value.check == "signature"
    assert len(provider.requests_to("/jwks")) - before == 1


def test_keys_rotated_at_the_provider_are_found_with_one_refetch_and_kept(provider, clock, cache_dir):
    retired = FakeProvider(ISSUER, clock)  # the same issuer before it rotated its key
    discovery, validator = new_process(retired, clock, cache_dir)
    validator.validate(id_token(retired), metadata=discovery.metadata(ISSUER), client_id=CLIENT_ID, nonce=None,
                       now=clock.now())

    for _ in range(2):
        discovery, validator = new_process(provider, clock, cache_dir)
        claims = validator.validate(id_token(provider), metadata=discovery.metadata(ISSUER), client_id=CLIENT_ID,
                                    nonce=None, now=clock.now())
        assert claims["sub"] == "user-demo"

    assert len(provider.requests_to("/jwks")) == 1
    assert provider.requests_to("/jwks")[0].headers is None


# --- Parsers of what a provider or a file says ----------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "lifetime", "kept"),
    [
        ({}, DEFAULT_TTL, True),
        ({"cache-control": "max-age=300"}, 300, True),
        ({"cache-control": 'public, MAX-AGE="300"'}, 300, True),
        ({"cache-control": "max-age=300", "age": "100"}, 200, True),
        ({"cache-control": "max-age=300", "expires": "Thu, 01 Jan 1970 00:00:00 GMT"}, 300, True),
        ({"cache-control": "max-age=-5"}, 0, True),
        ({"cache-control": "max-age=99999999999999999999"}, MAX_TTL, True),
        ({"expires": "0"}, 0, True),
        ({"expires": "Thu, 01 Jan 1970 00:00:00 GMT"}, 0, True),
        ({"cache-control": "no-cache"}, 0, True),
        ({"cache-control": "max-age=300, no-store"}, 0, False),
    ],
)
def test_freshness_follows_rfc_9111(headers, lifetime, kept):
    assert freshness(headers, NOW) == (NOW + lifetime, kept)


header_text = st.text(max_size=60) | st.sampled_from(["max-age=", "max-age=1e9", "no-cache=\"x\"", "=,=,", "max-age=٣"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["cache-control", "expires", "date", "age"]), header_text))
def test_freshness_of_any_headers_is_between_now_and_a_day(headers):
    expires_at, _ = freshness(headers, NOW)
    assert NOW <= expires_at <= NOW + MAX_TTL


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
).map(lambda value: json.dumps({"format": 1, "url": "u", "body": value, "fetched_at": value,
                                "expires_at": value, "etag": value}).encode()))
def test_reading_any_cache_file_gives_an_entry_or_nothing(data):
    entry = _entry_from_bytes(data, "u")
    assert entry is None or isinstance(entry.body, dict)
