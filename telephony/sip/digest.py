"""HTTP digest for SIP (RFC 2617 / RFC 8760 subset): MD5 and SHA-256, with and without qop=auth."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)')
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


@dataclass(frozen=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None


def parse_challenge(value: str) -> Challenge:
    """Parse a WWW-Authenticate / Proxy-Authenticate value (``Digest realm="x", qop="auth,auth-int"``)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError(f"unsupported auth scheme {scheme!r}")
    params = {k.lower(): v[1:-1] if v.startswith('"') else v for k, v in _PARAM.findall(rest)}
    if "nonce" not in params or "realm" not in params:
        raise ValueError("digest challenge without realm or nonce")
    qop = tuple(q.strip() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=params.get("algorithm", "MD5").upper(),
        qop=qop,
        opaque=params.get("opaque"),
    )


def _h(algorithm: str, text: str) -> str:
    return _HASHES[algorithm](text.encode()).hexdigest()


def digest_response(
    ch: Challenge, method: str, uri: str, username: str, password: str, nc: int = 1, cnonce: str = ""
) -> str:
    """The ``response`` value; with qop=auth when the challenge offers it."""
    if ch.algorithm not in _HASHES:
        raise ValueError(f"unsupported digest algorithm {ch.algorithm}")
    ha1 = _h(ch.algorithm, f"{username}:{ch.realm}:{password}")
    ha2 = _h(ch.algorithm, f"{method}:{uri}")
    if "auth" in ch.qop:
        return _h(ch.algorithm, f"{ha1}:{ch.nonce}:{nc:08x}:{cnonce}:auth:{ha2}")
    return _h(ch.algorithm, f"{ha1}:{ch.nonce}:{ha2}")


def authorization_value(
    ch: Challenge,
    method: str,
    uri: str,
    username: str,
    password: str,
    nc: int = 1,
    cnonce: str | None = None,
    use_qop: bool = True,
) -> str:
    """The full ``Authorization:`` value. ``use_qop=False`` mimics pyVoIP 1.6.8 (ignores qop)."""
    if not use_qop:
        ch = Challenge(ch.realm, ch.nonce, ch.algorithm, (), ch.opaque)
    cnonce = cnonce or secrets.token_hex(8)
    resp = digest_response(ch, method, uri, username, password, nc, cnonce)
    parts = [
        f'username="{username}"',
        f'realm="{ch.realm}"',
        f'nonce="{ch.nonce}"',
        f'uri="{uri}"',
        f'response="{resp}"',
        f"algorithm={ch.algorithm}",
    ]
    if "auth" in ch.qop:
        parts += ["qop=auth", f"nc={nc:08x}", f'cnonce="{cnonce}"']
    if ch.opaque is not None:
        parts.append(f'opaque="{ch.opaque}"')
    return "Digest " + ", ".join(parts)
