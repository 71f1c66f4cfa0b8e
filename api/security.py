"""Secrets: API tokens, web-session ids, passwords, the session-cookie key, and tracebacks safe
to log.

* Tokens and session ids are 256-bit random strings (`secrets.token_urlsafe(32)`); only their
  sha256 is stored (a slow hash adds nothing for values this random).
* Passwords are hashed with argon2id (argon2-cffi defaults).
* The cookie-signing key comes from `PEYVAND_SESSION_SECRET`, else from `HOME/session_secret`
  (created once, mode 0600), so sessions survive restarts and every worker of one home agrees.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import traceback
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TOKEN_BYTES = 32
MIN_PASSWORD_CHARS = 8
_hasher = PasswordHasher()
# Verified against when the user does not exist, so "no such user" takes as long as a bad password.
_DUMMY_HASH = _hasher.hash("peyvand-dummy-password")


def new_token() -> str:
    """A new random token or session id (URL-safe text, 43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(raw: str) -> str:
    """The sha256 hex of a token or session id (what the database stores)."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches `password_hash` (False for a missing hash, in equal time)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def session_secret(home: Path, configured: str | None = None) -> str:
    """The key that signs session cookies.

    Args:
        home: the Peyvand home (the key is kept in `home/session_secret`).
        configured: an explicit key (PEYVAND_SESSION_SECRET), used as is when given.
    """
    if configured:
        return configured
    env = os.environ.get("PEYVAND_SESSION_SECRET")
    if env:
        return env
    path = home / "session_secret"
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text
    home.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret


def link_token(secret: str, purpose: str, *parts: str) -> str:
    """An unguessable token for a link that needs no account (e.g. a participant's agenda):
    HMAC-SHA256 of `purpose` and `parts` under the service's secret (`session_secret`),
    128 bits, URL-safe. The same inputs always give the same token; a new secret voids them.
    """
    message = "\x1f".join((purpose, *parts)).encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode("ascii").rstrip("=")


def check_link_token(secret: str, token: str | None, purpose: str, *parts: str) -> bool:
    """True when `token` is `link_token(secret, purpose, *parts)` (compared in equal time)."""
    if not token or len(token) > 64:
        return False
    return hmac.compare_digest(link_token(secret, purpose, *parts), token)


def safe_traceback(exc: BaseException) -> str:
    """The traceback of `exc` with file, line and function names and exception types, but no
    exception messages (they can quote user input such as a business plan)."""
    lines: list[str] = []
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.extract_tb(current.__traceback__)
        chunk = [f"  {f.filename}:{f.lineno} in {f.name}" for f in frames]
        lines[:0] = [f"{type(current).__module__}.{type(current).__qualname__}", *chunk]
        current = current.__cause__ or current.__context__
    return "\n".join(lines)


def safe_traceback_line(exc: BaseException, max_frames: int = 8) -> str:
    """`safe_traceback` on one line: the exception types (outermost cause first) and the
    innermost `max_frames` frames as `folder/file.py:line in function`, joined by ` > `."""
    types: list[str] = []
    frames: list[str] = []
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        types.insert(0, f"{type(current).__module__}.{type(current).__qualname__}")
        if not frames:
            for f in traceback.extract_tb(current.__traceback__):
                short = "/".join(Path(f.filename).parts[-2:])
                frames.append(f"{short}:{f.lineno} in {f.name}")
        current = current.__cause__ or current.__context__
    return f"{' < '.join(types)} at {' > '.join(frames[-max_frames:]) or '?'}"


def client_ip(scope: dict[str, Any]) -> str:
    """The peer address of an ASGI connection ("unknown" when the server gives none)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
