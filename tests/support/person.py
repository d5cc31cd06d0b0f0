"""A scripted person who signs in at the local OpenID Provider's pages (stdlib only)."""

from __future__ import annotations

import dataclasses
import html.parser
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Optional

__all__ = ["Person", "Visit", "Page", "parse_page"]

_MAX_STEPS = 40
_TIMEOUT = 15.0


# ---------------------------------------------------------------------------
# HTML: just enough of a page to find its forms, links and messages
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Form:
    id: str
    action: str
    method: str
    fields: dict  # name -> value, in document order (inputs with a name)
    buttons: list  # (id, name, value) of submit buttons belonging to this form


@dataclasses.dataclass
class Page:
    """What a person sees: the title, the text, the forms and the links by id."""

    url: str
    status: int
    title: str
    text: str
    forms: list
    links: dict  # id -> href
    ids: dict  # id -> text of elements carrying an id (p, h1, span, code, ...)
    data_error: Optional[str]

    def form(self, form_id: str) -> Optional[Form]:
        for form in self.forms:
            if form.id == form_id:
                return form
        return None


class _PageParser(html.parser.HTMLParser):
    _VOID = {"input", "meta", "link", "br", "img", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.text: list[str] = []
        self.forms: list[Form] = []
        self.links: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.data_error: Optional[str] = None
        self._form: Optional[Form] = None
        self._in_title = False
        self._skip = 0  # inside <style>/<script>
        self._id_stack: list[tuple[str, str, list[str]]] = []
        self._orphan_buttons: list[tuple[str, str, str, str]] = []  # (form, id, name, value)

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag in ("style", "script"):
            self._skip += 1
            return
        if tag == "title":
            self._in_title = True
        if tag == "form":
            self._form = Form(
                id=a.get("id", ""),
                action=a.get("action", ""),
                method=(a.get("method") or "get").lower(),
                fields={},
                buttons=[],
            )
            self.forms.append(self._form)
        elif tag == "input":
            name = a.get("name")
            target = self._form_for(a)
            if name and target is not None and a.get("type", "text").lower() not in ("submit", "button"):
                target.fields[name] = a.get("value", "")
        elif tag == "button":
            kind = a.get("type", "submit").lower()
            if kind == "submit":
                entry = (a.get("id", ""), a.get("name", ""), a.get("value", ""))
                if "form" in a:
                    self._orphan_buttons.append((a["form"],) + entry)
                elif self._form is not None:
                    self._form.buttons.append(entry)
        elif tag == "a" and a.get("id") and "href" in a:
            self.links[a["id"]] = a["href"]
        if "data-error" in a:
            self.data_error = a["data-error"]
        if a.get("id") and tag not in self._VOID:
            self._id_stack.append((tag, a["id"], []))

    def _form_for(self, a):
        if "form" in a:
            for form in self.forms:
                if form.id == a["form"]:
                    return form
            return None
        return self._form

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)
            return
        if tag == "title":
            self._in_title = False
        if tag == "form":
            self._form = None
        if self._id_stack and self._id_stack[-1][0] == tag:
            _, ident, parts = self._id_stack.pop()
            self.ids[ident] = " ".join(" ".join(parts).split())
        if tag in ("p", "h1", "h2", "li", "div", "form", "br", "button"):
            self.text.append("\n")

    def handle_data(self, data):
        if self._skip:
            return
        if self._in_title:
            self.title += data
            return
        self.text.append(data)
        for _, _, parts in self._id_stack:
            parts.append(data)

    def close(self):
        super().close()
        for form_id, ident, name, value in self._orphan_buttons:
            for form in self.forms:
                if form.id == form_id:
                    form.buttons.append((ident, name, value))


def parse_page(url: str, status: int, body: str) -> Page:
    parser = _PageParser()
    parser.feed(body)
    parser.close()
    text = "\n".join(line.strip() for line in "".join(parser.text).splitlines())
    text = re.sub(r"\n{2,}", "\n", text).strip()
    return Page(
        url=url,
        status=status,
        title=" ".join(parser.title.split()),
        text=text,
        forms=parser.forms,
        links=parser.links,
        ids=parser.ids,
        data_error=parser.data_error,
    )


# ---------------------------------------------------------------------------
# HTTP without automatic redirects, with cookies
# ---------------------------------------------------------------------------


class _KeepEveryResponse(urllib.request.HTTPErrorProcessor):
    """Hand every response back as it is: no redirect following, no HTTPError."""

    def http_response(self, request, response):
        return response

    https_response = http_response


@dataclasses.dataclass
class _Response:
    url: str
    status: int
    headers: dict
    body: str

    @property
    def location(self) -> Optional[str]:
        value = self.headers.get("location")
        return urllib.parse.urljoin(self.url, value) if value else None


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclasses.dataclass
class Visit:
    """How a visit ended.

    kind is "callback" (the provider redirected outside itself, normally to the client's
    loopback redirect_uri), "device_success" (the provider's device success page) or
    "device_denied" (the device code page after an abort).
    """

    kind: str
    final_url: str
    status: Optional[int] = None  # of the callback response, when it was fetched
    body: Optional[str] = None  # of the callback response or of the provider's last page
    query: dict = dataclasses.field(default_factory=dict)  # of the callback URL


class Person:
    """A person with a browser-like cookie jar who uses the provider's forms.

    Person("demo", "demo-password"), Person("mfa", "mfa-password", otp="123456").
    """

    def __init__(self, username: str, password: str, otp: Optional[str] = None, *, timeout: float = _TIMEOUT):
        self.username = username
        self.password = password
        self.otp = otp
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(self.cookies),
            _KeepEveryResponse(),
        )
        self.history: list[tuple[str, str, int]] = []  # (method, url, status)
        self.last_visit: Optional[Visit] = None

    # -- public API ---------------------------------------------------------

    def authorize(self, authorization_url: str, follow_callback: bool = True) -> str:
        """Sign in and consent; return the callback's body, or the callback URL if not followed."""
        visit = self.visit(authorization_url, follow_callback=follow_callback)
        return self._callback_result(visit, follow_callback)

    def deny(self, authorization_url: str, follow_callback: bool = True) -> str:
        """Cancel at the first page (login or consent): the client gets error=access_denied."""
        visit = self.visit(authorization_url, follow_callback=follow_callback, action="deny")
        return self._callback_result(visit, follow_callback)

    def enter_device_code(self, verification_uri: str, user_code: Optional[str] = None) -> bool:
        """Type the user code, confirm it, sign in and consent; True on the success page."""
        visit = self.visit(verification_uri, user_code=user_code)
        if visit.kind != "device_success":
            raise AssertionError(f"device sign-in did not succeed: ended with {visit.kind} at {visit.final_url}\n{visit.body}")
        return True

    def deny_device(self, verification_uri: str, user_code: Optional[str] = None) -> bool:
        """Type the user code, then abort on the confirm page: the device gets access_denied."""
        visit = self.visit(verification_uri, user_code=user_code, action="deny")
        if visit.kind != "device_denied":
            raise AssertionError(f"device abort did not work: ended with {visit.kind} at {visit.final_url}\n{visit.body}")
        return True

    def visit(
        self,
        url: str,
        *,
        follow_callback: bool = True,
        action: str = "login",
        user_code: Optional[str] = None,
    ) -> Visit:
        """Open url and act on every provider page until the flow leaves the provider.

        Handles the login form, the consent form, the device user-code and confirm forms and
        the auto-submitting form of verification_uri_complete. action is "login" or "deny".
        """
        if action not in ("login", "deny"):
            raise ValueError(f"action must be 'login' or 'deny', not {action!r}")
        provider = _origin(url)
        response = self._request("GET", url)
        submitted_login = False
        submitted_code = False
        for _ in range(_MAX_STEPS):
            location = response.location if 300 <= response.status < 400 else None
            if location:
                if _origin(location) != provider:
                    visit = self._leave(location, follow_callback)
                    self.last_visit = visit
                    return visit
                response = self._request("GET", location)
                continue

            page = parse_page(response.url, response.status, response.body)
            if response.status != 200:
                self._fail("the provider answered with an error", page)

            if page.ids.get("success") is not None:
                visit = Visit("device_success", page.url, status=page.status, body=page.text)
                self.last_visit = visit
                return visit

            login = page.form("login-form")
            if login is not None:
                if submitted_login:
                    self._fail("the provider refused the sign-in", page)
                if action == "deny":
                    response = self._follow_link(page, "abort")
                    continue
                fields = dict(login.fields)
                fields.update(login=self.username, password=self.password, otp=self.otp or "")
                response = self._submit(page, login, fields)
                submitted_login = True
                continue

            consent = page.form("consent-form")
            if consent is not None:
                if action == "deny":
                    response = self._follow_link(page, "abort")
                    continue
                response = self._submit(page, consent, dict(consent.fields))
                continue

            confirm = page.form("op.deviceConfirmForm")
            if confirm is not None:
                fields = dict(confirm.fields)
                if action == "deny":
                    fields.pop("confirm", None)
                    fields["abort"] = "yes"
                response = self._submit(page, confirm, fields)
                continue

            code_form = page.form("op.deviceInputForm")
            if code_form is not None:
                if page.data_error == "aborted" and action == "deny":
                    visit = Visit("device_denied", page.url, status=page.status, body=page.text)
                    self.last_visit = visit
                    return visit
                if page.data_error or submitted_code:
                    self._fail("the provider refused the user code", page)
                if not user_code:
                    self._fail("the provider asks for a user code but none was given", page)
                fields = dict(code_form.fields)
                fields["user_code"] = user_code
                response = self._submit(page, code_form, fields)
                submitted_code = True
                continue

            auto = self._auto_submit_form(page)
            if auto is not None:
                if _origin(urllib.parse.urljoin(page.url, auto.action)) != provider:
                    # response_mode=form_post: the client's callback takes a POST.
                    visit = self._leave_by_post(page, auto, follow_callback)
                    self.last_visit = visit
                    return visit
                response = self._submit(page, auto, dict(auto.fields))
                continue

            self._fail("unexpected page", page)
        raise AssertionError(f"gave up after {_MAX_STEPS} steps; history: {self.history}")

    # -- internals ----------------------------------------------------------

    def _callback_result(self, visit: Visit, follow_callback: bool) -> str:
        if visit.kind != "callback":
            raise AssertionError(f"expected a redirect to the client, got {visit.kind} at {visit.final_url}\n{visit.body}")
        return visit.body if follow_callback else visit.final_url

    def _leave(self, location: str, follow_callback: bool) -> Visit:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        if not follow_callback:
            return Visit("callback", location, query=query)
        try:
            response = self._request("GET", location)
        except (urllib.error.URLError, OSError) as err:
            raise AssertionError(f"could not reach the callback {location}: {err}") from err
        return Visit("callback", location, status=response.status, body=response.body, query=query)

    def _leave_by_post(self, page: Page, form: Form, follow_callback: bool) -> Visit:
        target = urllib.parse.urljoin(page.url, form.action)
        if not follow_callback:
            return Visit("callback", target, query=dict(form.fields))
        response = self._request("POST", target, dict(form.fields))
        return Visit("callback", target, status=response.status, body=response.body, query=dict(form.fields))

    @staticmethod
    def _auto_submit_form(page: Page) -> Optional[Form]:
        if len(page.forms) != 1:
            return None
        form = page.forms[0]
        if form.method != "post" or not form.fields:
            return None
        if "Submitting" not in page.title:  # oidc-provider's self-submitting form_post page
            return None
        return form

    def _follow_link(self, page: Page, link_id: str) -> _Response:
        href = page.links.get(link_id)
        if not href:
            self._fail(f"no link #{link_id} on the page", page)
        return self._request("GET", urllib.parse.urljoin(page.url, href))

    def _submit(self, page: Page, form: Form, fields: dict) -> _Response:
        target = urllib.parse.urljoin(page.url, form.action or page.url)
        if form.method == "get":
            split = urllib.parse.urlsplit(target)
            target = urllib.parse.urlunsplit(split._replace(query=urllib.parse.urlencode(fields)))
            return self._request("GET", target)
        return self._request("POST", target, fields)

    def _request(self, method: str, url: str, form: Optional[dict] = None) -> _Response:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        request.add_header("User-Agent", "pingcli-test-person/1")
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        with self._opener.open(request, timeout=self.timeout) as raw:
            body = raw.read().decode("utf-8", errors="replace")
            response = _Response(
                url=url,
                status=raw.status,
                headers={k.lower(): v for k, v in raw.headers.items()},
                body=body,
            )
        self.history.append((method, url, response.status))
        return response

    def _fail(self, what: str, page: Page) -> None:
        detail = page.text[:3000]
        raise AssertionError(
            f"{self.username}: {what} (HTTP {page.status} at {page.url}, title {page.title!r}):\n{detail}"
        )
