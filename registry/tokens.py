"""The Docker token service: short-lived ES256 JWTs whose `access` claim lists granted actions."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from registry.auth import Scope
from registry.lru import LRU

ALGORITHM = "ES256"


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    subject: str
    access: dict[tuple[str, str], frozenset[str]]  # (type, name) -> actions
    expires_at: float
    kind: str  # "access" or "refresh"


class TokenService:
    def __init__(
        self,
        key: ECKey | None = None,
        *,
        issuer: str,
        service: str,
        access_ttl: int = 300,
        refresh_ttl: int = 90 * 86400,
    ) -> None:
        self.key = key or self.generate_key()
        self.kid = str(self.key.kid)
        self.issuer = issuer
        self.service = service
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._verified: LRU[str, VerifiedToken] = LRU(50_000)

    def use_key(self, key: ECKey) -> None:
        """Switch to the shared signing key (loaded at start-up); tokens of the old key stop verifying."""
        self.key, self.kid = key, str(key.kid)
        self._verified.clear()

    @staticmethod
    def generate_key() -> ECKey:
        return ECKey.generate_key("P-256", parameters={"kid": secrets.token_hex(8)})

    def _encode(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": ALGORITHM, "kid": self.kid, "typ": "JWT"}, claims, self.key)

    def issue(self, subject: str, granted: list[Scope]) -> tuple[str, int]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "iat": now,
            "nbf": now - 5,
            "exp": now + self.access_ttl,
            "jti": secrets.token_urlsafe(12),
            "access": [{"type": s.type, "name": s.name, "actions": sorted(s.actions)} for s in granted],
        }
        return self._encode(claims), self.access_ttl

    def issue_refresh(self, subject: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "iat": now,
            "exp": now + self.refresh_ttl,
            "jti": secrets.token_urlsafe(12),
            "typ": "refresh",
        }
        return self._encode(claims)

    def verify(self, token: str) -> VerifiedToken | None:
        """Check signature, issuer, audience and lifetime; results are cached until expiry."""
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None:
            return cached if cached.expires_at > now else None
        try:
            decoded = jwt.decode(token, self.key, algorithms=[ALGORITHM])
        except (JoseError, ValueError):
            return None
        claims = decoded.claims
        if decoded.header.get("kid") != self.kid or claims.get("iss") != self.issuer:
            return None
        if claims.get("aud") != self.service or not isinstance(claims.get("sub"), str):
            return None
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int) or exp <= now or (isinstance(nbf, int) and nbf > now + 5):
            return None
        access: dict[tuple[str, str], frozenset[str]] = {}
        for item in claims.get("access") or []:
            if isinstance(item, dict):
                key = (str(item.get("type")), str(item.get("name")))
                access[key] = access.get(key, frozenset()) | frozenset(map(str, item.get("actions") or []))
        kind = "refresh" if claims.get("typ") == "refresh" else "access"
        verified = VerifiedToken(claims["sub"], access, float(exp), kind)
        self._verified.put(token, verified)
        return verified
