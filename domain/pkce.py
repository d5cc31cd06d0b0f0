"""Proof Key for Code Exchange (RFC 7636), S256 only."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def new_verifier() -> str:
    """64 characters of the unreserved alphabet from 48 random bytes (RFC 7636 §4.1, §7.1)."""
    return secrets.token_urlsafe(48)


def challenge(verifier: str) -> str:
    if not VERIFIER.fullmatch(verifier):
        raise ValueError("a PKCE verifier is 43 to 128 unreserved characters (RFC 7636 §4.1)")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
