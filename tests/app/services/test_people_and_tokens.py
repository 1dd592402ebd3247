"""Tokens, invitations, the team and accounts through their services, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.identity import Actor, Channel, TokenIdentity
from app.models import Membership, Token, User, WebSession
from app.passwords import verify_password
from app.services import Conflict, Forbidden, Invalid, NotFound
from app.services.invitations import InvitationProblem


async def row(world, model, *where):
    async with world.services.deps.engine.connect() as conn:
        return (await conn.execute(select(model).where(*where))).first()


async def staff_person(world, role: str, smtp_sink) -> tuple[Actor, int]:
    """A vendor person with `role`, invited by mail and accepted (so their address is proven)."""
    invited = await world.services.invitations.invite_staff(world.staff(), f"{role}-x@{world.slug}.test", role)
    assert invited.mailed
    link = smtp_sink.wait_for(invited.invitation.email, "invitation").link("/portal/invitations/")
    accepted = await world.services.invitations.accept(link.rsplit("/", 1)[1], role.title(), "long enough", None)
    assert accepted.verified  # a mailed link proves the address
    return world.staff(role, accepted.user.id), accepted.user.id


async def test_vendor_tokens_never_exceed_their_makers_role_and_name_their_person(world, smtp_sink):
    manager, manager_id = await staff_person(world, "account_manager", smtp_sink)
    with pytest.raises(Forbidden):
        await world.services.vendor_tokens.create(manager, "api", "too much", "admin", None)
    with pytest.raises(Invalid) as bad:
        await world.services.vendor_tokens.create(manager, "pull", "wrong kind", "support", None)
    assert bad.value.field == "kind"
    token, secret = await world.services.vendor_tokens.create(manager, "api", "ci", "account_manager", None)
    assert token.created_by == manager_id and secret.startswith("wharf_api_") and token.hint == secret[:16]
    # a token made through the API by that token belongs to the same person
    identity = TokenIdentity(
        token.id,
        "api",
        "ci",
        "account_manager",
        world.vendor_id,
        "vendor",
        world.slug,
        world.vendor_id,
        world.slug,
        manager_id,
    )
    by_api = Actor.of_token(identity, Channel.API, "192.0.2.7")
    child, _ = await world.services.vendor_tokens.create(by_api, "push", "child", "support", None)
    assert child.created_by == manager_id
    [entry] = await world.log("vendor_token.created", child.id)
    assert entry.actor.startswith(f"token:{token.id} ") and entry.via == "api" and entry.client_ip == "192.0.2.7"


async def test_leaving_revokes_vendor_tokens_and_a_lower_role_caps_them(world, smtp_sink):
    admin = world.staff()
    manager, manager_id = await staff_person(world, "account_manager", smtp_sink)
    api_token, _ = await world.services.vendor_tokens.create(manager, "api", "ci", "account_manager", None)
    push_token, _ = await world.services.vendor_tokens.create(manager, "push", "push", "support", None)
    customer = await world.services.customers.create(admin, "Issued to")
    pull, _ = await world.services.pull_tokens.create(manager, customer.id, "theirs", None)

    await world.services.team.change_role(admin, world.vendor_id, manager_id, "support")
    capped = await row(world, Token, Token.id == api_token.id)
    assert capped.role == "support" and capped.revoked_at is None  # capped, still working
    assert (await row(world, Token, Token.id == push_token.id)).role == "support"
    assert await world.log("vendor_token.capped", api_token.id)

    await world.services.team.remove(admin, world.vendor_id, manager_id)
    assert (await row(world, Token, Token.id == api_token.id)).revoked_at is not None
    assert (await row(world, Token, Token.id == push_token.id)).revoked_at is not None
    assert (await row(world, Token, Token.id == pull.id)).revoked_at is None  # the customer's token stays
    assert await row(world, User, User.id == manager_id) is None  # belonged nowhere else


async def test_staff_cannot_change_or_remove_themselves(world):
    with pytest.raises(Forbidden):
        await world.services.team.change_role(world.staff(), world.vendor_id, world.admin_id, "support")
    with pytest.raises(Forbidden):
        await world.services.team.remove(world.staff(), world.vendor_id, world.admin_id)


async def test_customer_people_manage_their_own_tokens_admins_all(world, smtp_sink):
    admin = world.staff()
    customer = await world.services.customers.create(admin, "Self-service")
    invited = await world.services.invitations.invite_customer_person(admin, customer.id, "m@self.test", "member")
    link = smtp_sink.wait_for("m@self.test", "invitation").link("/portal/invitations/")
    member_id = (await world.services.invitations.accept(link.rsplit("/", 1)[1], "M", "long enough", None)).user.id
    member = world.customer_person(customer.id, member_id, "member")
    own, _ = await world.services.pull_tokens.create(member, customer.id, "mine", None)
    vendors, _ = await world.services.pull_tokens.create(admin, customer.id, "vendor-made", None)
    with pytest.raises(NotFound):
        await world.services.pull_tokens.revoke(member, vendors.id)
    with pytest.raises(NotFound):  # another customer: as if it did not exist
        await world.services.pull_tokens.create(member, customer.id + 10_000, "x", None)
    await world.services.pull_tokens.revoke(member, own.id)
    customer_admin = world.customer_person(customer.id, member_id, "admin")
    await world.services.pull_tokens.revoke(customer_admin, vendors.id)
    assert invited.invitation.delivery == "mailed"


async def test_duplicate_invitations_are_refused_before_mailing(world, smtp_sink):
    admin = world.staff()
    customer = await world.services.customers.create(admin, "Dupes")
    first = await world.services.invitations.invite_customer_person(admin, customer.id, "d@dupes.test", "member")
    with pytest.raises(Conflict, match="pending invitation"):
        await world.services.invitations.invite_customer_person(admin, customer.id, "D@Dupes.test", "admin")
    with pytest.raises(Conflict, match="your own team"):
        await world.services.invitations.invite_customer_person(admin, customer.id, world.admin_email, "member")
    link = smtp_sink.wait_for("d@dupes.test", "invitation").link("/portal/invitations/")
    resent = await world.services.invitations.resend(admin, first.invitation.id)
    with pytest.raises(InvitationProblem) as old:
        await world.services.invitations.accept(link.rsplit("/", 1)[1], "D", "long enough", None)
    assert old.value.kind == "replaced" and old.value.view is None  # resending made a new link; the old one says so
    await world.services.invitations.accept(resent.link.rsplit("/", 1)[1], "D", "long enough", None)
    with pytest.raises(Conflict, match="already a member"):
        await world.services.invitations.invite_customer_person(admin, customer.id, "d@dupes.test", "member")
    revoked = await world.services.invitations.invite_customer_person(admin, customer.id, "r@dupes.test", "member")
    await world.services.invitations.revoke(admin, revoked.invitation.id)
    with pytest.raises(InvitationProblem) as gone:
        await world.services.invitations.accept(revoked.link.rsplit("/", 1)[1], "R", "long enough", None)
    assert gone.value.kind == "revoked"


async def test_a_shown_link_makes_an_unverified_account_that_joins_nothing_else(world, smtp_sink):
    admin = world.staff()
    first = await world.services.customers.create(admin, "Shown")
    api_admin = world.staff(via=Channel.API)  # the API hands accept_url to automation: the link was shown
    invited = await world.services.invitations.invite_customer_person(api_admin, first.id, "squat@x.test", "admin")
    assert invited.invitation.delivery == "shown"
    accepted = await world.services.invitations.accept(invited.link.rsplit("/", 1)[1], "S", "long enough", None)
    assert not accepted.verified and accepted.verification_mailed
    second = await world.services.customers.create(admin, "Elsewhere")
    other = await world.services.invitations.invite_customer_person(api_admin, second.id, "squat@x.test", "admin")
    with pytest.raises(Conflict, match="already has an account"):  # another shown link proves nothing either
        await world.services.invitations.accept(other.link.rsplit("/", 1)[1], "S", "long enough", None)
    # following the mailed confirmation link proves the address
    confirm = smtp_sink.wait_for("squat@x.test", "Confirm your email").link("/account/verify/")
    user = await world.services.accounts.verify(confirm.rsplit("/", 1)[1], None)
    assert user.email_verified_at is not None and await world.log("user.verified", user.id)
    with pytest.raises(NotFound):  # a confirmation link works once
        await world.services.accounts.verify(confirm.rsplit("/", 1)[1], None)
    third = await world.services.customers.create(admin, "Third")
    mailed = await world.services.invitations.invite_customer_person(admin, third.id, "squat@x.test", "admin")
    with pytest.raises(Conflict, match="already has an account"):  # a confirmed account joins nothing else
        await world.services.invitations.accept(mailed.link.rsplit("/", 1)[1], "S", "long enough", None)


async def test_a_mailed_invitation_takes_an_unconfirmed_account_from_whoever_made_it(world, smtp_sink):
    admin = world.staff()
    squatted = await world.services.customers.create(admin, "Squatted")
    shown = await world.services.invitations.invite_customer_person(
        world.staff(via=Channel.API), squatted.id, "owner@x.test", "admin"
    )
    squatter = await world.services.invitations.accept(shown.link.rsplit("/", 1)[1], "Squatter", "squatter pw", None)
    rightful = await world.services.customers.create(admin, "Rightful")
    mailed = await world.services.invitations.invite_customer_person(admin, rightful.id, "owner@x.test", "member")
    assert mailed.mailed
    link = smtp_sink.wait_for("owner@x.test", "Rightful").link("/portal/invitations/")
    owner = await world.services.invitations.accept(link.rsplit("/", 1)[1], "Owner", "owner's own pw", None)
    assert owner.user.id == squatter.user.id and owner.verified
    user = await row(world, User, User.id == owner.user.id)
    assert verify_password("owner's own pw", user.password_hash) and user.name == "Owner"
    held = await row(world, Membership, Membership.user_id == user.id, Membership.organization_id == squatted.id)
    assert held is None  # the squatter's membership went with the account
    [entry] = await world.log("invitation.accepted", mailed.invitation.id)
    assert '"replaced_unconfirmed_account": true' in entry.after


async def test_bootstrap_refuses_an_existing_address_unless_adopting_it(world):
    admin = world.staff(via=Channel.API)
    customer = await world.services.customers.create(admin, "Squatters")
    invited = await world.services.invitations.invite_customer_person(admin, customer.id, "ops@new.test", "admin")
    squatter = await world.services.invitations.accept(invited.link.rsplit("/", 1)[1], "Sq", "squatter pw", None)
    async with world.services.deps.engine.begin() as conn:
        await conn.execute(
            WebSession.__table__.insert().values(
                id="squatter-session", user_id=squatter.user.id, data=b"{}", expires_at=squatter.user.created_at
            )
        )
    slug = f"n{world.slug}"
    with pytest.raises(Conflict, match="already exists"):
        await world.services.accounts.create_vendor(slug, "ops@new.test", "operator pw", via=Channel.CLI)
    made = await world.services.accounts.create_vendor(
        slug, "ops@new.test", "operator pw", via=Channel.CLI, adopt_existing=True
    )
    assert made.adopted and made.user_id == squatter.user.id
    user = await row(world, User, User.id == made.user_id)
    assert verify_password("operator pw", user.password_hash) and not verify_password("squatter pw", user.password_hash)
    assert await row(world, WebSession, WebSession.user_id == made.user_id) is None  # signed out everywhere
    memberships = await row(
        world, Membership, Membership.user_id == made.user_id, Membership.organization_id == customer.id
    )
    assert memberships is None  # the unverified account loses what it held


async def test_password_change_needs_the_current_one_and_ends_other_sessions(world):
    me = world.staff()
    with pytest.raises(Invalid) as wrong:
        await world.services.accounts.change_password(me, "not it", "new password", "new password")
    assert wrong.value.field == "current"
    with pytest.raises(Invalid) as short:
        await world.services.accounts.change_password(me, "correct-horse", "short", "short")
    assert short.value.field == "password"
    with pytest.raises(Invalid) as differ:
        await world.services.accounts.change_password(me, "correct-horse", "new password", "other password")
    assert differ.value.field == "password_again"
    await world.services.accounts.change_password(me, "correct-horse", "new password", "new password")
    user = await row(world, User, User.id == world.admin_id)
    assert verify_password("new password", user.password_hash)
    assert await world.log("user.password_changed", world.admin_id)


async def test_settings_name_every_bad_field_and_refuse_plain_http_logos(world):
    with pytest.raises(Invalid) as refused:
        values = {"name": "", "logo_url": "http://cdn.test/logo.png", "accent_color": "red", "welcome_text": ""}
        await world.services.settings.update(world.staff(), values)
    assert set(refused.value.fields) == {"name", "logo_url", "accent_color"}
    with pytest.raises(Forbidden):
        await world.services.settings.update(world.staff("account_manager"), {"name": "x"})
    good = {"name": "Acme", "logo_url": "https://cdn.test/logo.png", "accent_color": "#123456", "welcome_text": "Hi"}
    assert await world.services.settings.update(world.staff(), good)
    assert not await world.services.settings.update(world.staff(), good)  # nothing changed, nothing recorded


async def test_a_lower_role_never_gives_a_token_a_permission_it_lacked(world, smtp_sink):
    """Every pair of (token role, person's new role): the capped token holds only what both allowed."""
    from app.roles import VENDOR_ROLES, permissions

    admin = world.staff()
    for token_role in VENDOR_ROLES:
        for new_role in VENDOR_ROLES:
            email = f"{token_role}-{new_role}@{world.slug}.test"
            invited = await world.services.invitations.invite_staff(admin, email, "admin")
            link = smtp_sink.wait_for(email, "invitation").link("/portal/invitations/")
            person = (await world.services.invitations.accept(link.rsplit("/", 1)[1], "P", "long enough", None)).user
            token, _ = await world.services.vendor_tokens.create(
                world.staff("admin", person.id), "api", "t", token_role, None
            )
            await world.services.team.change_role(admin, world.vendor_id, person.id, new_role)
            after = await row(world, Token, Token.id == token.id)
            if after.revoked_at is None:
                assert permissions(after.role) <= permissions(token_role) & permissions(new_role), (
                    token_role,
                    new_role,
                    after.role,
                )
            else:  # nothing fits within both: the token is gone rather than widened
                assert not any(
                    granted <= permissions(token_role) & permissions(new_role) for granted in VENDOR_ROLES.values()
                )
            assert invited


async def test_invitations_leave_with_their_sender_or_their_right_to_send(world, smtp_sink):
    from app.models import Invitation

    admin = world.staff()
    bob, bob_id = await staff_person(world, "admin", smtp_sink)
    customer = await world.services.customers.create(admin, "Invited by Bob")
    to_team = await world.services.invitations.invite_staff(bob, f"bob-private@{world.slug}.test", "admin")
    to_customer = await world.services.invitations.invite_customer_person(bob, customer.id, "b@x.test", "admin")
    low = await world.services.invitations.invite_staff(bob, f"helper@{world.slug}.test", "support")

    await world.services.team.change_role(admin, world.vendor_id, bob_id, "account_manager")
    assert (await row(world, Invitation, Invitation.id == to_team.invitation.id)).revoked_at is not None
    assert (await row(world, Invitation, Invitation.id == low.invitation.id)).revoked_at is not None  # no team right
    assert (await row(world, Invitation, Invitation.id == to_customer.invitation.id)).revoked_at is None  # may still
    with pytest.raises(InvitationProblem) as gone:
        await world.services.invitations.accept(to_team.link.rsplit("/", 1)[1], "Bob again", "long enough", None)
    assert gone.value.kind == "revoked"  # no way back in through his own invitation

    await world.services.team.remove(admin, world.vendor_id, bob_id)
    assert (await row(world, Invitation, Invitation.id == to_customer.invitation.id)).revoked_at is not None
