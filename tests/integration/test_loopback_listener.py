"""The loopback callback listener on real sockets: what a browser, a stray request and a forger each get."""

from __future__ import annotations

import http.client
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pingcli.adapters.loopback_listener import LoopbackListener, LoopbackListenerFactory
from pingcli.domain.authorization_code import AuthorizationAttempt, CallbackVerdict, Verdict, judge_callback
from pingcli.domain.errors import CallbackPortUnavailable, CallbackTimeout

pytestmark = pytest.mark.integration

ISSUER = "http://127.0.0.1:9/op"
SETTING = "auth.authorization_code.redirect_port"


@pytest.fixture
def listener() -> Iterator[LoopbackListener]:
    with LoopbackListenerFactory().bind(0, SETTING) as bound:
        yield bound


@pytest.fixture
def attempt(listener: LoopbackListener) -> AuthorizationAttempt:
    return AuthorizationAttempt.start(
        issuer=ISSUER,
        authorization_endpoint=ISSUER + "/auth",
        client_id="pingcli",
        port=listener.port,
        path="/callback",
        scope="openid",
    )


@pytest.fixture
def judge(attempt: AuthorizationAttempt) -> Callable[[str, str], CallbackVerdict]:
    return lambda path, query: judge_callback(attempt, path, query)


@pytest.fixture
def background() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


def waiting(
    pool: ThreadPoolExecutor, listener: LoopbackListener, judge: Callable[[str, str], CallbackVerdict], timeout=10.0
) -> Future[CallbackVerdict]:
    return pool.submit(listener.wait, judge, timeout)


def get(port: int, target: str, method: str = "GET", headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, target, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode("utf-8")
    finally:
        conn.close()


def callback(attempt: AuthorizationAttempt, **params: str) -> str:
    return "/callback?" + urlencode(params)


def test_it_listens_on_127_0_0_1_only(listener: LoopbackListener) -> None:
    assert listener.address == ("127.0.0.1", listener.port)
    assert listener.port > 0
    # On Linux all of 127/8 is loopback: a wildcard listener would answer 127.0.0.2 as well.
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(2)
    try:
        with pytest.raises(OSError):
            probe.connect(("127.0.0.2", listener.port))
    finally:
        probe.close()


@pytest.mark.parametrize("how", ["plain", "reuseaddr", "wildcard"])
def test_a_port_another_program_listens_on_is_refused_at_once_naming_port_and_setting(how: str) -> None:
    other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if how == "reuseaddr":
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("0.0.0.0" if how == "wildcard" else "127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(CallbackPortUnavailable) as raised:
            LoopbackListenerFactory().bind(port, SETTING)
        assert time.monotonic() - started < 2
    finally:
        other.close()
    assert raised.value.port == port
    assert f"127.0.0.1:{port}" in str(raised.value)
    assert "in use" in str(raised.value)
    assert raised.value.hint is not None and SETTING in raised.value.hint


def test_stray_requests_get_error_pages_and_do_not_end_the_wait(
    listener: LoopbackListener, attempt: AuthorizationAttempt, judge, background
) -> None:
    result = waiting(background, listener, judge)

    assert get(listener.port, "/favicon.ico")[0] == 404
    status, _, page = get(listener.port, "/")
    assert status == 404 and "Not the sign-in callback" in page
    status, _, page = get(listener.port, "/callback?foo=bar")
    assert status == 400 and "Not the sign-in callback" in page
    time.sleep(0.2)
    assert not result.done()

    status, _, _ = get(listener.port, callback(attempt, code="C", state=attempt.state))
    assert status == 200
    assert result.result(timeout=5).code == "C"


def test_the_real_callback_ends_the_wait_with_the_code_and_a_signed_in_page(
    listener: LoopbackListener, attempt: AuthorizationAttempt, judge, background
) -> None:
    result = waiting(background, listener, judge)

    status, headers, page = get(
        listener.port, callback(attempt, session_state="X", iss=ISSUER, code="C", state=attempt.state)
    )

    verdict = result.result(timeout=5)
    assert verdict.verdict is Verdict.SUCCEEDED and verdict.code == "C"
    assert status == 200
    assert "<title>pingcli: Sign-in received</title>" in page
    assert "You can close this window and return to the terminal." in page
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["connection"] == "close"


def test_a_callback_with_the_wrong_state_gets_400_and_the_wait_goes_on(
    listener: LoopbackListener, attempt: AuthorizationAttempt, judge, background
) -> None:
    result = waiting(background, listener, judge)

    status, _, page = get(listener.port, callback(attempt, code="FORGED", state="not-the-state"))
    assert status == 400 and "Not the sign-in callback" in page
    time.sleep(0.2)
    assert not result.done()

    get(listener.port, callback(attempt, code="C", state=attempt.state))
    assert result.result(timeout=5).code == "C"


def test_an_idle_connection_does_not_delay_the_callback_on_another(
    listener: LoopbackListener, attempt: AuthorizationAttempt, judge, background
) -> None:
    result = waiting(background, listener, judge)
    idle = socket.create_connection(("127.0.0.1", listener.port), timeout=5)
    try:
        time.sleep(0.2)  # the listener has accepted it and is reading from it
        started = time.monotonic()
        status, _, _ = get(listener.port, callback(attempt, code="C", state=attempt.state))
        assert status == 200
        assert result.result(timeout=2).code == "C"
        assert time.monotonic() - started < 2
        idle.setblocking(False)
        with pytest.raises(BlockingIOError):
            idle.recv(1)  # still open, nothing said to it
    finally:
        idle.close()


def test_an_error_callback_ends_the_wait_and_its_description_is_text_not_markup(
    listener: LoopbackListener, attempt: AuthorizationAttempt, judge, background
) -> None:
    result = waiting(background, listener, judge)

    status, _, page = get(
        listener.port,
        f"/callback?error=access_denied&error_description=User%20cancelled%20%3Cb%3E%C3%A9%3C%2Fb%3E%0A"
        f"&state={attempt.state}",
    )

    verdict = result.result(timeout=5)
    assert verdict.verdict is Verdict.FAILED and verdict.code is None
    assert status == 400
    assert "<title>pingcli: Sign-in failed</title>" in page
    assert "User cancelled &lt;b&gt;é&lt;/b&gt;" in page
    assert "<b>" not in page
    assert "the terminal says what to do next" in page


def test_no_callback_in_time_raises_callback_timeout_and_close_frees_the_port(judge) -> None:
    factory = LoopbackListenerFactory()
    listener = factory.bind(0, SETTING)
    port = listener.port
    started = time.monotonic()
    with pytest.raises(CallbackTimeout) as raised:
        listener.wait(judge, 0.3)
    assert 0.3 <= time.monotonic() - started < 2
    assert str(raised.value) == "no sign-in callback arrived within 0.3 s"
    assert raised.value.hint is not None and "--device-code" in raised.value.hint
    listener.close()

    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        plain.bind(("127.0.0.1", port))
    finally:
        plain.close()
    factory.bind(port, SETTING).close()


def test_the_port_can_be_bound_again_after_a_served_sign_in(
    listener: LoopbackListener, attempt: AuthorizationAttempt, judge, background
) -> None:
    result = waiting(background, listener, judge)
    get(listener.port, callback(attempt, code="C", state=attempt.state))
    result.result(timeout=5)
    listener.close()

    LoopbackListenerFactory().bind(listener.port, SETTING).close()


def test_ctrl_c_during_the_wait_comes_through_promptly_and_frees_the_port(judge) -> None:
    factory = LoopbackListenerFactory()
    listener = factory.bind(0, SETTING)
    main = threading.get_ident()
    timer = threading.Timer(0.3, lambda: signal.pthread_kill(main, signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            listener.wait(judge, 30)
        assert time.monotonic() - started < 1.5
    finally:
        timer.cancel()
        listener.close()
    factory.bind(listener.port, SETTING).close()


def test_only_get_is_answered(listener: LoopbackListener, attempt: AuthorizationAttempt, judge, background) -> None:
    result = waiting(background, listener, judge)

    status, headers, _ = get(listener.port, callback(attempt, code="C", state=attempt.state), method="POST")

    assert status == 405
    assert headers["allow"] == "GET"
    time.sleep(0.2)
    assert not result.done()
    get(listener.port, callback(attempt, code="C", state=attempt.state))
    assert result.result(timeout=5).code == "C"


def test_a_judge_that_breaks_gets_a_500_page_and_the_wait_goes_on(
    listener: LoopbackListener, attempt: AuthorizationAttempt, background
) -> None:
    calls: list[str] = []

    def fragile(path: str, query: str) -> CallbackVerdict:
        calls.append(path)
        if len(calls) == 1:
            raise ValueError("boom")
        return judge_callback(attempt, path, query)

    result = waiting(background, listener, fragile)

    status, _, page = get(listener.port, callback(attempt, code="C", state=attempt.state))
    assert status == 500 and "boom" not in page
    time.sleep(0.2)
    assert not result.done()
    status, _, _ = get(listener.port, callback(attempt, code="C", state=attempt.state))
    assert status == 200
    assert result.result(timeout=5).code == "C"


def test_oversized_requests_are_refused(
    listener: LoopbackListener, attempt: AuthorizationAttempt, judge, background
) -> None:
    result = waiting(background, listener, judge)

    assert get(listener.port, "/callback?" + "a" * 20_000)[0] == 414
    headers = {f"x-filler-{n}": "b" * 1000 for n in range(90)}
    assert get(listener.port, "/callback", headers=headers)[0] == 431
    assert not result.done()
    get(listener.port, callback(attempt, code="C", state=attempt.state))
    assert result.result(timeout=5).code == "C"


def test_no_page_refers_to_anything_outside_itself(
    listener: LoopbackListener, attempt: AuthorizationAttempt, judge, background
) -> None:
    result = waiting(background, listener, judge)
    pages = [
        get(listener.port, "/")[2],
        get(listener.port, "/callback?foo=bar")[2],
        get(listener.port, "/callback", method="PUT")[2],
        get(listener.port, f"/callback?error=access_denied&state={attempt.state}")[2],
    ]
    result.result(timeout=5)

    for page in pages:
        assert "http://" not in page and "https://" not in page
        assert not re.search(r"\b(src|href|action|srcset)\s*=", page, re.IGNORECASE)
        assert "<script" not in page.lower() and "@import" not in page and "url(" not in page


# --- Any bytes a client sends ------------------------------------------------------------------------


def exchange(port: int, raw: bytes) -> bytes:
    """Send `raw` on a new connection, say that is all, and read whatever comes back until the listener closes."""
    received = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_WR)  # the end of the request: no waiting for the listener's read timeout
        try:
            while chunk := conn.recv(65536):
                received.append(chunk)
        except ConnectionResetError:
            pass  # a request too long to read to its end is answered and then cut off
    return b"".join(received)


ASCII_TARGET = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=80)
TARGETS = ASCII_TARGET | st.sampled_from(
    ["/", "/callback", "/callback?state=", "http://[", "http://]x/", "//x", "*", "/callback#frag", "%zz"]
)
PROPERTY = settings(max_examples=150, deadline=None)


def test_any_bytes_get_an_answer_or_a_closed_connection_and_never_end_or_break_the_wait(
    listener: LoopbackListener, attempt: AuthorizationAttempt, judge, background
) -> None:
    result = waiting(background, listener, judge, timeout=120)

    @PROPERTY
    @given(raw=st.binary(max_size=300) | TARGETS.map(lambda t: f"GET {t} HTTP/1.1\r\n\r\n".encode()))
    @example(raw=b"\x00\x01\x02\r\n\r\n")  # no request line at all: an HTTP/0.9 answer, a page without a status
    @example(raw=b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
    def any_bytes(raw: bytes) -> None:
        answer = exchange(listener.port, raw)
        assert b"Sign-in received" not in answer
        assert not result.done(), result.exception() if result.done() else None

    @PROPERTY
    @given(target=TARGETS)
    @example(target="http://[")  # before the fix: urlsplit raised, and the request got no answer at all
    @example(target="http://]x/")
    def any_request_line(target: str) -> None:
        answer = exchange(listener.port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        status = answer.split(b"\r\n", 1)[0]
        assert re.fullmatch(rb"HTTP/1\.1 (400|404|414) [A-Za-z -]+", status), answer[:200]
        assert not result.done()

    try:
        any_bytes()
        any_request_line()
    finally:  # end the wait either way, so a failure above is reported now and not after its timeout
        status, _, _ = get(listener.port, callback(attempt, code="C", state=attempt.state))
    assert status == 200
    assert result.result(timeout=5).code == "C"
