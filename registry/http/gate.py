"""Per-reference read decisions: a tag is decided by the policy; a digest (manifest or blob) is
readable when some tag that reaches it is (tag history, enclosing indexes, referrer subjects).

A tag of cosign's scheme (`sha256-<hex>.sig`, `.att`, `.sbom`) describes the digest it names, so it is
readable exactly when that digest is, whatever the license's tag rules say about such names."""

from __future__ import annotations

from registry.access import Caller
from registry.auth import ALLOWED, Decision, Read
from registry.errors import RegistryError
from registry.events import RegistryAction
from registry.http.common import Registry, Req, header_text, refusal
from registry.kinds import cosign_subject

MAX_COSIGN_DEPTH = 3  # a signature of an attestation of an image: deeper chains are not followed


async def tag_decision(reg: Registry, caller: Caller, repository: str, tag: str) -> Decision:
    policy = reg.auth.policy
    if not policy.restricts_tags(caller.principal):
        return ALLOWED
    return await _decide(reg, caller, repository, frozenset({tag}), MAX_COSIGN_DEPTH, f"tag {tag}")


async def digest_decision(reg: Registry, caller: Caller, repository: str, digest: str) -> Decision:
    policy = reg.auth.policy
    if not policy.restricts_tags(caller.principal):
        return ALLOWED
    return await _digest(reg, caller, repository, digest, MAX_COSIGN_DEPTH, f"digest {digest}")


async def _digest(reg: Registry, caller: Caller, repository: str, digest: str, depth: int, asked: str) -> Decision:
    tags = await reg.metadata.reach_tags(repository, digest)  # the caller may not see them all: never named
    return await _decide(reg, caller, repository, tags, depth, asked)


async def _decide(
    reg: Registry, caller: Caller, repository: str, tags: frozenset[str], depth: int, asked: str
) -> Decision:
    """The policy's decision on `tags`; when it refuses, a cosign tag among them still opens the way
    to what its subject digest opens. A refusal names only `asked`, what the caller asked for."""
    decision = await reg.auth.policy.decide_tags(caller.principal, repository, tags, asked=asked)
    if decision.allowed or depth == 0:
        return decision
    for tag in sorted(tags):
        described = cosign_subject(tag)
        if described is not None:
            via_subject = await _digest(reg, caller, repository, described[0], depth - 1, asked)
            if via_subject.allowed:
                return via_subject
    return decision


def enforce(reg: Registry, request: Req, caller: Caller, decision: Decision, repository: str, reference: str) -> None:
    """Raise DENIED with the policy's plain-words reason, recording the denial first."""
    if decision.allowed:
        return
    reason = decision.reason or "access denied"
    reg.emit(
        request,
        caller,
        RegistryAction.DENIED,
        repository,
        reference=reference,
        status=403,
        reason=reason,
        reason_code=decision.code,
    )
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
            reason_code=admission.code,
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
        allowed = set(await policy.readable_tags(caller.principal, repository, page))
        for tag in page:
            described = cosign_subject(tag)
            if tag in allowed or described is None:
                continue
            if (await _digest(reg, caller, repository, described[0], MAX_COSIGN_DEPTH - 1, f"tag {tag}")).allowed:
                allowed.add(tag)
        found.extend(tag for tag in page if tag in allowed)
        if len(page) < batch:
            break
        last = page[-1]
    return found[:wanted]
