"""The stored form of a session: a versioned JSON envelope that reads back exactly, and refuses anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingcli.adapters.codec import UnreadableSession, session_from_bytes, session_to_bytes
from pingcli.domain.identity import AuditIdentity
from pingcli.domain.session import Session
from pingcli.domain.settings import GrantType
from pingcli.domain.tokens import TokenSet
from tests.support.sessions import make_session

names = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
# Times the codec keeps: seconds since 1970, up to about the year 5000 (beyond is junk: see test below).
times = st.floats(min_value=0, max_value=1e11, exclude_max=True, allow_nan=False, allow_infinity=False)
texts = st.text(max_size=300)
optional_texts = st.none() | texts

token_sets = st.builds(
    TokenSet,
    access_token=st.text(min_size=1, max_size=2000),
    token_type=st.sampled_from(["Bearer", "DPoP", "N_A"]),
    received_at=times,
    expires_at=st.none() | times,
    scope=st.lists(st.text(min_size=1, max_size=40), max_size=8).map(tuple),
    refresh_token=optional_texts,
    id_token=optional_texts,
)
identities = st.builds(
    AuditIdentity,
    sub=texts,
    issuer=texts,
    preferred_username=optional_texts,
    name=optional_texts,
    email=optional_texts,
    amr=st.lists(st.text(max_size=10), max_size=5).map(tuple),
    acr=optional_texts,
    auth_time=st.none() | st.integers(min_value=-(10**11) + 1, max_value=10**11 - 1),
)
sessions = st.builds(
    Session,
    profile=names,
    service=names,
    issuer=texts,
    client_id=texts,
    grant=st.sampled_from(GrantType),
    tokens=token_sets,
    identity=identities,
    signed_in_at=times,
    expired=st.booleans(),
)


@given(sessions)
def test_every_session_reads_back_exactly_as_it_was_saved(session):
    assert session_from_bytes(session_to_bytes(session)) == session


@given(st.binary(max_size=2000))
@settings(max_examples=300)
def test_arbitrary_bytes_either_read_as_a_session_or_raise_only_the_codecs_error(blob):
    try:
        result = session_from_bytes(blob)
    except UnreadableSession:
        return
    assert isinstance(result, Session)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_json_that_is_not_a_session_raises_only_the_codecs_error(value):
    for payload in (value, {"version": 1, "session": value}):
        with pytest.raises(UnreadableSession):
            session_from_bytes(json.dumps(payload).encode())


@given(sessions, st.data())
def test_a_stored_session_with_an_object_or_nested_list_in_place_of_a_field_is_unreadable(session, data):
    envelope = json.loads(session_to_bytes(session))
    section = data.draw(st.sampled_from(["session", "tokens", "identity"]))
    fields = envelope["session"] if section == "session" else envelope["session"][section]
    field = data.draw(st.sampled_from(sorted(k for k in fields if k not in ("tokens", "identity"))))
    fields[field] = data.draw(st.sampled_from([{"x": 1}, [[1]]]))  # no field of a session takes either
    with pytest.raises(UnreadableSession):
        session_from_bytes(json.dumps(envelope).encode())


def test_the_stored_form_is_a_versioned_envelope_with_enums_by_value_and_tuples_as_lists():
    stored = json.loads(session_to_bytes(make_session()))

    assert stored["version"] == 1
    assert stored["session"]["grant"] == "authorization_code"
    assert stored["session"]["tokens"]["scope"] == ["openid", "profile", "email", "offline_access"]
    assert stored["session"]["identity"]["amr"] == ["pwd", "otp", "mfa"]


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"", "it is empty"),
        (b"\xff\xfe{}", "it is not UTF-8 text"),
        (b'{"version": 1, "session": ', "it is not valid JSON at character 26"),
        (b"[1, 2]", "it is not a pingcli session envelope"),
        (b'{"version": 2, "session": {}}', "it has format version 2, written by a newer pingcli; this one reads "
                                           "version 1"),
        (b'{"version": "1", "session": {}}', "its format version is not a number"),
        (b'{"version": true, "session": {}}', "its format version is not a number"),
        (b"[" * 100_000, "it is not valid JSON"),
    ],
)
def test_an_unreadable_blob_is_explained_without_quoting_it(blob, reason):
    with pytest.raises(UnreadableSession) as caught:
        session_from_bytes(blob)

    assert caught.value.reason.startswith(reason)


def test_a_wrong_shape_is_explained_by_the_path_of_the_field_but_never_by_its_value():
    envelope = json.loads(session_to_bytes(make_session(access_token="at-SECRET-VALUE")))
    envelope["session"]["tokens"]["refresh_token"] = ["rt-SECRET-VALUE"]

    with pytest.raises(UnreadableSession) as caught:
        session_from_bytes(json.dumps(envelope).encode())

    assert "$.session.tokens.refresh_token" in caught.value.reason
    assert "SECRET" not in caught.value.reason


def test_a_session_with_a_field_pingcli_does_not_know_is_unreadable():
    envelope = json.loads(session_to_bytes(make_session()))
    envelope["session"]["tokens"]["acess_token"] = "typo"

    with pytest.raises(UnreadableSession, match="extra fields found"):
        session_from_bytes(json.dumps(envelope).encode())


def test_trailing_junk_after_a_session_makes_it_unreadable():
    with pytest.raises(UnreadableSession, match="not valid JSON"):
        session_from_bytes(session_to_bytes(make_session()) + b"junk")


def test_not_a_number_and_infinity_are_not_accepted_as_times():
    stored = session_to_bytes(make_session()).replace(b'"signed_in_at":1700000000.0', b'"signed_in_at":NaN')
    assert b"NaN" in stored

    with pytest.raises(UnreadableSession):
        session_from_bytes(stored)


def stored_session_with(path: tuple[str, ...], value: object) -> bytes:
    """A stored session whose field at `path` (inside `session`) was edited by hand to `value`."""
    envelope = json.loads(session_to_bytes(make_session()))
    fields = envelope["session"]
    for key in path[:-1]:
        fields = fields[key]
    fields[path[-1]] = value
    return json.dumps(envelope).encode()


@pytest.mark.parametrize(
    ("path", "value"),
    [(("tokens", "expires_at"), 1e300), (("tokens", "received_at"), -1e11), (("signed_in_at",), 1e11),
     (("identity", "auth_time"), 10**400), (("identity", "auth_time"), 2**63)],
)
def test_a_time_no_date_can_hold_makes_the_session_unreadable_not_a_crash_later(path, value):
    """A hand-edited `expires_at` of 1e300 once reached `auth status` and overflowed there."""
    with pytest.raises(UnreadableSession, match=r"\$\.session\." + r"\.".join(path)):
        session_from_bytes(stored_session_with(path, value))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("tokens", "access_token"), 5),
        (("tokens", "scope"), "openid profile"),
        (("tokens", "expires_at"), "soon"),
        (("identity", "auth_time"), 1.5),
        (("identity", "amr"), ["pwd", 2]),
        (("expired",), 0),
        (("signed_in_at",), True),
        (("grant",), "password"),
    ],
)
def test_a_value_of_the_wrong_kind_is_not_coerced_into_a_session(path, value):
    with pytest.raises(UnreadableSession, match=r"\$\.session\." + r"\.".join(path)):
        session_from_bytes(stored_session_with(path, value))
