"""Who is asking and what they may do: the AccessPolicy the registry consults for every decision."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

PULL, PUSH, DELETE = "pull", "push", "delete"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. `subject` is stable and is what JWTs carry in `sub`; `identity` is the
    policy's own description of the caller, opaque to the registry (handed back in events)."""

    subject: str
    display_name: str
    identity: Any = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Scope:
    """One `type:name:actions` item of a token request, e.g. `repository:acme/app:pull,push`."""

    type: str
    name: str
    actions: frozenset[str]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(sorted(self.actions))}"


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Parse scope strings; several may share one value separated by spaces (the OAuth2 form)."""
    scopes = []
    for value in values:
        for item in value.split():
            type_, sep, rest = item.partition(":")
            name, sep2, actions = rest.rpartition(":")
            if not sep or not sep2 or not name:
                continue  # ignore what we cannot read, as the reference registry does
            type_ = type_.split("(")[0]  # `repository(plugin)` -> `repository`
            scopes.append(Scope(type_, name, frozenset(a for a in actions.split(",") if a)))
    return scopes


@dataclass(frozen=True, slots=True)
class Decision:
    """A read decision: allowed or not, why not in plain words, and a warning to pass on."""

    allowed: bool
    reason: str | None = None
    warning: str | None = None
    license: str | None = None  # the policy's name for what allowed it, recorded with the read
    code: str | None = None  # a refusal's reason, machine-readable (recorded as the event's reason_code)


ALLOWED = Decision(True)


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a request may go on now, beyond what it may read: the networks a token may be used from,
    its quotas, the request rate. `headers` tell the client where it stands (RateLimit-Policy,
    RateLimit, Retry-After), refused or not."""

    allowed: bool = True
    reason: str | None = None
    status: int = 200  # when refused: 403 (DENIED) or 429 (TOOMANYREQUESTS)
    headers: tuple[tuple[str, str], ...] = ()
    code: str | None = None  # a refusal's reason, machine-readable (recorded as the event's reason_code)


ADMITTED = Admission()


@dataclass(frozen=True, slots=True)
class Read:
    """A content read about to be answered, as quotas see it."""

    kind: Literal["pull", "check", "blob"]  # manifest GET, manifest HEAD, blob GET
    repository: str
    digest: str
    size: int  # bytes this answer sends (a blob's range)
    license: str | None = None  # Decision.license of the read
    top_level: bool = True  # False: a platform manifest fetched as part of a pull (registry.pull_groups)


class AccessPolicy(Protocol):
    """Authentication and authorization decisions, provided by the application around the registry."""

    async def authenticate(self, secret: str) -> Principal | None:
        """The principal owning a token secret (as sent in Basic auth or the token endpoint)."""
        ...

    async def resolve(self, subject: str) -> Principal | None:
        """The principal behind a JWT's `sub`, or None once its token is revoked or expired."""
        ...

    async def allowed_actions(self, principal: Principal, repository: str) -> frozenset[str]:
        """Which of pull/push/delete the principal may do on `repository` (empty: hidden)."""
        ...

    async def lists_repository(self, principal: Principal, repository: str) -> bool:
        """Whether `_catalog` shows the repository: it may be addressable (to explain a denial) yet
        not listed, as when the only license naming it has lapsed."""
        ...

    def restricts_tags(self, principal: Principal) -> bool:
        """False when the principal reads every tag of a repository it may pull (vendor staff)."""
        ...

    async def decide_tags(self, principal: Principal, repository: str, tags: frozenset[str], *, asked: str) -> Decision:
        """Allowed if content reachable from any of `tags` may be read; else the plain-words reason, which
        names `asked` (what the caller asked for: "tag 1.0", "digest sha256:…") and none of `tags`."""
        ...

    async def readable_tags(self, principal: Principal, repository: str, tags: list[str]) -> list[str]:
        """Those of `tags`, in order, that the principal may read (for tags/list, decided in one pass)."""
        ...

    def admit(self, principal: Principal, address: str | None) -> Admission:
        """Whether the principal may make a request now from `address` (its networks, the request rate).
        Memory only: asked on every authenticated request."""
        ...

    def admit_read(self, principal: Principal, read: Read) -> Admission:
        """Whether a read may start under the principal's quotas; once admitted, its bytes are counted (and
        a manifest GET that is a new pull, as a pull). Memory only: counts reach the database later."""
        ...

    def release_unsent(self, principal: Principal, license: str | None, size: int) -> None:
        """Give back bytes an admitted read did not send after all (the client went away)."""
        ...

    async def tag_may_move(self, principal: Principal, repository: str, tag: str) -> Decision:
        """Whether `tag`, once pushed, may later point at other content; if not, the reason names the
        rule. The registry refuses only a push that would move it: the same content again is fine."""
        ...
