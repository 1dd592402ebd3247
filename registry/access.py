"""Turning a request's credentials into a principal and the actions it holds on a repository."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from registry.auth import AccessPolicy, Principal
from registry.errors import RegistryError
from registry.tokens import TokenService


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    token_access: dict[tuple[str, str], frozenset[str]] | None  # None: Basic auth, policy decides alone


CHALLENGE_MESSAGES = {
    "": "authentication required: log in with a Wharf token",
    "invalid_token": "the token is invalid, expired or revoked: log in again",
}


class Authenticator:
    def __init__(self, policy: AccessPolicy, tokens: TokenService, realm: str) -> None:
        self.policy = policy
        self.tokens = tokens
        self.realm = realm

    def challenge(self, scope: str | None = None, error: str | None = None) -> RegistryError:
        value = f'Bearer realm="{self.realm}",service="{self.tokens.service}"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        message = CHALLENGE_MESSAGES.get(error or "", "authentication required")
        if error == "insufficient_scope" and scope:
            message = f"the token was not granted {scope}: ask {self.realm} for a token that is"
        return RegistryError("UNAUTHORIZED", message, headers={"WWW-Authenticate": value})

    async def caller(self, authorization: str | None, scope: str | None = None) -> Caller:
        if not authorization:
            raise self.challenge(scope)
        scheme, _, credentials = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            verified = self.tokens.verify(credentials.strip())
            if verified is None or verified.kind != "access":
                raise self.challenge(scope, "invalid_token")
            principal = await self.policy.resolve(verified.subject)
            if principal is None:
                raise self.challenge(scope, "invalid_token")
            return Caller(principal, verified.access)
        if scheme == "basic":
            secret = basic_password(credentials)
            principal = await self.policy.authenticate(secret) if secret else None
            if principal is None:
                raise self.challenge(scope)
            return Caller(principal, None)
        raise self.challenge(scope)

    async def actions(self, caller: Caller, repository: str) -> frozenset[str]:
        """What the caller may do now: the policy's answer, capped by the JWT's grant if any."""
        return self._capped(caller, repository, await self.policy.allowed_actions(caller.principal, repository))

    @staticmethod
    def _capped(caller: Caller, repository: str, allowed: frozenset[str]) -> frozenset[str]:
        if caller.token_access is not None:
            granted = caller.token_access.get(("repository", repository), frozenset())
            allowed = allowed if "*" in granted else allowed & granted
        return allowed

    async def require(self, caller: Caller, repository: str, action: str) -> None:
        """Raise the right error when `action` is not allowed; reads are handled by the caller. A JWT lacking
        the scope is challenged only when a new token would carry it; otherwise the answer is DENIED, with why
        (a challenge for a scope the token endpoint never grants leaves clients with nothing to show)."""
        allowed = await self.policy.allowed_actions(caller.principal, repository)
        if action in self._capped(caller, repository, allowed):
            return
        if caller.token_access is not None and action in allowed:
            raise self.challenge(f"repository:{repository}:{action}", "insufficient_scope")
        raise RegistryError("DENIED", f"{action} access to repository {repository} is denied")


def basic_password(credentials: str) -> str | None:
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    _user, sep, password = decoded.partition(":")
    return password if sep else None


async def can_read(auth: Authenticator, caller: Caller, repository: str) -> bool:
    """True if the caller may pull; False means answer as if the repository did not exist.

    A JWT that was never granted pull on this repository gets a 401 so the client asks for one, when the
    token endpoint would grant it; when it would not, the answer is the same as for a repository that does
    not exist (a challenge the client cannot meet ends in an error without a reason).
    """
    allowed = "pull" in await auth.policy.allowed_actions(caller.principal, repository)
    if caller.token_access is not None and allowed:
        granted = caller.token_access.get(("repository", repository), frozenset())
        if "pull" not in granted and "*" not in granted:
            raise auth.challenge(f"repository:{repository}:pull", "insufficient_scope")
    return allowed
