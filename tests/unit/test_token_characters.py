"""A token response whose tokens hold characters no token can have (RFC 6749 Appendix A: VSCHAR, and name-char for
token_type): a bad provider response (exit 6) naming the field, never the value, also with --debug; nothing
stored, no request made with it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingcli.adapters.fakes import FakeProvider
from pingcli.domain.errors import BadProviderResponse, PingcliError
from pingcli.domain.provider import HttpResponse
from pingcli.domain.tokens import TokenSet

from .conftest import ISSUER
from .test_tokens_refresh_logout import config, pingcli, refreshes, session, sign_in, stores  # noqa: F401

MARK = "Leaked-0123456789"  # what a traceback or message must never show


class SendsBadTokens(FakeProvider):
    """Its token endpoint answers with one field of the token response spoiled (after `spoil_from` answers)."""

    field = "access_token"
    spoil_from = 0

    def _issue(self, *args, **kwargs):
        response = super()._issue(*args, **kwargs)
        if self.spoil_from:
            self.spoil_from -= 1
            return response
        body = json.loads(response.body)
        body[self.field] = f"{body.get(self.field, 'x')}\r\nX-{MARK}: 1" if self.field != "token_type" else \
            f"Bearer\n{MARK}"
        return HttpResponse(response.status, response.headers, json.dumps(body).encode())


@pytest.fixture
def spoiling(world):
    world.provider = SendsBadTokens(ISSUER, world.clock)
    return world.provider


@pytest.mark.parametrize("field", ["access_token", "refresh_token", "id_token", "token_type"])
@pytest.mark.parametrize("debug", [False, True])
def test_a_token_with_a_newline_at_sign_in_is_a_bad_provider_response_naming_the_field_only(
    world, spoiling, pingcli, field, debug
):
    spoiling.field = field
    world.person_signs_in()

    login = pingcli("auth", "login", *(["--debug"] if debug else []))

    assert login.code == 6, login.err
    assert (f"pingcli: demo: the token endpoint sent a response pingcli cannot use: its {field} contains characters "
            "a token cannot have") in login.err
    assert MARK not in login.err + login.out
    assert world.store.saved == []
    assert world.provider.requests_to("/userinfo") == []  # the token went into no request


def test_a_token_with_a_newline_in_a_refresh_answer_keeps_the_stored_session(world, spoiling, pingcli):
    spoiling.spoil_from = 1  # the sign-in's answer is sound
    sign_in(world, pingcli)
    stored = session(world)
    world.clock.advance(3600)

    refreshed = pingcli("auth", "token", "--debug")

    assert refreshed.code == 6 and refreshed.out == ""
    assert "its access_token contains characters a token cannot have" in refreshed.err
    assert "Traceback" in refreshed.err and MARK not in refreshed.err  # --debug: where, never what
    assert len(refreshes(world.provider)) == 1 and session(world) == stored


@pytest.mark.parametrize("field, value", [
    ("access_token", "tok\nen"), ("access_token", "tök"), ("access_token", "tok\x00"), ("refresh_token", "r\te"),
    ("id_token", "a.b\r\nc.d"), ("id_token", "a.b.\u00e9"), ("token_type", "Bear er"),
])
def test_the_parser_refuses_each_character_a_token_cannot_have_without_quoting_it(field, value):
    body = {"access_token": "a", "token_type": "Bearer", field: value}

    with pytest.raises(BadProviderResponse) as refused:
        TokenSet.from_token_response(body, 0.0, "openid")

    assert refused.value.message.endswith(f"its {field} contains characters a token cannot have")
    assert value not in refused.value.message


def test_real_world_token_shapes_are_accepted():
    body = {"access_token": "00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog.39AsX", "token_type": "bearer",
            "refresh_token": "5Aep861TSESvWeDj.Tf~+/=", "id_token": "eyJ.eyJ.c2ln", "expires_in": 60}

    tokens = TokenSet.from_token_response(body, 0.0, "openid")

    assert tokens.access_token == body["access_token"] and tokens.refresh_token == body["refresh_token"]


@given(access=st.text(max_size=40), refresh=st.text(max_size=40), id_token=st.text(max_size=40))
def test_every_token_accepted_could_go_into_an_http_header(access, refresh, id_token):
    body = {"access_token": access, "token_type": "Bearer", "refresh_token": refresh, "id_token": id_token}
    try:
        tokens = TokenSet.from_token_response(body, 0.0, "openid")
    except PingcliError:
        return
    for value in (tokens.access_token, tokens.refresh_token or "x", tokens.id_token or "x"):
        assert value.isascii() and value.isprintable()
