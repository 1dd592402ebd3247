"""Per-reference read decisions: a tag is decided by the policy; a digest (manifest or blob) is
readable when some tag that reaches it is (tag history, enclosing indexes, referrer subjects)."""

from __future__ import annotations

from registry.access import Caller
from registry.auth import ALLOWED, Decision, Read
from registry.errors import RegistryError
from registry.events import RegistryAction
from registry.http.common import Registry, Req, header_text, refusal


async def tag_decision(reg: Registry, caller: Caller, repository: str, tag: str) -> Decision:
    policy = reg.auth.policy
    if not policy.restricts_tags(caller.principal):
        return ALLOWED
    return await policy.decide_tags(caller.principal, repository, frozenset({tag}), asked=f"tag {tag}")


async def digest_decision(reg: Registry, caller: Caller, repository: str, digest: str) -> Decision:
    policy = reg.auth.policy
    if not policy.restricts_tags(caller.principal):
        return ALLOWED
    tags = await reg.metadata.reach_tags(repository, digest)  # the caller may not see them all: never named
    return await policy.decide_tags(caller.principal, repository, tags, asked=f"digest {digest}")


def enforce(reg: Registry, request: Req, caller: Caller, decision: Decision, repository: str, reference: str) -> None:
    """Raise DENIED with the policy's plain-words reason, recording the denial first."""
    if decision.allowed:
        return
    reason = decision.reason or "access denied"
    reg.emit(request, caller, RegistryAction.DENIED, repository, reference=reference, status=403, reason=reason)
    raise RegistryError("DENIED", reason)


def admit_read(reg: Registry, request: Req, caller: Caller, read: Read, reference: str | None) -> dict[str, str]:
    """The quota headers for a read the policy admits; a refusal (429) is recorded, then raised."""
    admission = reg.auth.policy.admit_read(caller.principal, read)
    if not admission.allowed:
        reg.emit(
            request,
            caller,
            RegistryAction.DENIED,
            read.repository,
            license=read.license,
            reference=reference,
            digest=read.digest,
            status=admission.status,
            reason=admission.reason,
        )
        raise refusal(admission)
    return dict(admission.headers)


def warning_headers(decision: Decision) -> dict[str, str]:
    if not decision.warning:
        return {}
    return {"Warning": f'299 - "{header_text(decision.warning)}"'}


async def readable_tags(
    reg: Registry, caller: Caller, repository: str, limit: int | None, last: str | None
) -> list[str] | None:
    """A page of the tags the caller may read, in lexical order; None if the repository is unknown."""
    policy = reg.auth.policy
    if not policy.restricts_tags(caller.principal):
        return await reg.metadata.tags(repository, limit, last)
    wanted = limit if limit is not None else 1_000_000
    batch = max(wanted, 200)
    found: list[str] = []
    while len(found) < wanted:
        page = await reg.metadata.tags(repository, batch, last)
        if page is None:
            return None
        found.extend(await policy.readable_tags(caller.principal, repository, page))
        if len(page) < batch:
            break
        last = page[-1]
    return found[:wanted]
