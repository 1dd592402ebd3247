"""What the vendor portal manages beyond creating: deleting customers, licenses, tags and manifests (each after
a confirmation that says what happens), resending and revoking invitations."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Invitation, Organization
from tests.registry.helpers import push_image
from tests.support.oci import image
from tests.support.web import Browser


async def new_customer(admin, name: str) -> int:
    await admin.get("/vendor/customers/new")
    r = await admin.post("/vendor/customers", {"name": name})
    return int(r.headers["location"].rsplit("/", 1)[1])


async def test_deleting_a_customer_asks_first_and_says_what_happens(wharf, admin):
    customer_id = await new_customer(admin, "Going away")
    page = await admin.get(f"/vendor/customers/{customer_id}")
    assert "Delete customer" in page.text
    asked = await admin.post(f"/vendor/customers/{customer_id}/delete")
    assert asked.status_code == 200 and "pull token(s) stop at once" in asked.text and "history stays" in asked.text
    done = await admin.post(f"/vendor/customers/{customer_id}/delete", {"confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == "/vendor/customers"
    assert (await admin.get(f"/vendor/customers/{customer_id}")).status_code == 404
    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        assert await conn.scalar(select(Organization.id).where(Organization.id == customer_id)) is None


async def test_deleting_a_license_asks_first(wharf, admin):
    customer_id = await new_customer(admin, "License holder")
    await admin.get(f"/vendor/customers/{customer_id}/licenses/new")
    form = {"name": "Temp", "repository_0": "acme/app", "tags_0": "*", "grace_days": "0"}
    created = await admin.post(f"/vendor/customers/{customer_id}/licenses", form)
    license_path = created.headers["location"]
    asked = await admin.post(f"{license_path}/delete")
    assert asked.status_code == 200 and "keep working for what its 0 other license(s) grant" in asked.text
    done = await admin.post(f"{license_path}/delete", {"confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"/vendor/customers/{customer_id}"
    assert (await admin.get(license_path)).status_code == 404


async def test_tags_and_manifests_are_deleted_from_the_repository_page(wharf, admin, as_role):
    repo = wharf.repo("pruned")
    kept, dropped = image("kept"), image("dropped")
    await push_image(wharf, repo, kept, "1.0.0")
    await push_image(wharf, repo, dropped, "2.0.0")
    page = await admin.get(f"/vendor/repositories/{repo}")
    assert "Delete tag" in page.text and "Delete manifest" in page.text
    asked = await admin.post("/vendor/repositories/delete", {"repository": repo, "tag": "1.0.0"})
    assert asked.status_code == 200 and "Delete the tag 1.0.0" in asked.text
    r = await admin.post("/vendor/repositories/delete", {"repository": repo, "tag": "1.0.0", "confirm": "yes"})
    assert r.status_code == 303
    r = await admin.post(
        "/vendor/repositories/delete", {"repository": repo, "digest": dropped.digest, "confirm": "yes"}
    )
    assert r.status_code == 303
    auth = wharf.auth
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=auth)).status_code == 404
    assert (await wharf.client.get(f"/v2/{repo}/manifests/{kept.digest}", headers=auth)).status_code == 200
    assert (await wharf.client.get(f"/v2/{repo}/manifests/2.0.0", headers=auth)).status_code == 404
    entries = (await admin.get("/vendor/audit-log")).text
    assert "tag.deleted" in entries and "manifest.deleted" in entries
    # deleting needs the delete permission; another vendor's repository is not there
    support = await as_role("support")
    assert "Delete tag" not in (await support.get(f"/vendor/repositories/{repo}")).text
    refused = await support.post("/vendor/repositories/delete", {"repository": repo, "tag": "x", "confirm": "yes"})
    assert refused.status_code == 403
    other = await admin.post("/vendor/repositories/delete", {"repository": "globex/app", "tag": "1", "confirm": "yes"})
    assert other.status_code == 404


async def test_invitations_are_resent_and_revoked(wharf, admin, smtp_sink):
    customer_id = await new_customer(admin, "Invitees")
    await admin.get(f"/vendor/customers/{customer_id}")
    await admin.post(f"/vendor/customers/{customer_id}/invitations", {"email": "twice@invitees.test", "role": "member"})
    first = smtp_sink.wait_for("twice@invitees.test", "invitation").link("/portal/invitations/")
    again = await admin.post(f"/vendor/customers/{customer_id}/invitations", {"email": "twice@invitees.test"})
    assert again.status_code == 400 and "already has a pending invitation" in again.text  # refused before mailing
    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        invitation_id = await conn.scalar(select(Invitation.id).where(Invitation.email == "twice@invitees.test"))
    base = f"/vendor/customers/{customer_id}/invitations/{invitation_id}"
    page = await admin.get(f"/vendor/customers/{customer_id}")
    assert f'action="{base}/resend"' in page.text
    assert (await admin.post(f"{base}/resend")).status_code == 303
    second = smtp_sink.wait_for("twice@invitees.test", "invitation").link("/portal/invitations/")
    assert second != first
    async with Browser(wharf.app) as invitee:  # the old link no longer works, and says why, naming nothing
        replaced = await invitee.get(first)
        assert replaced.status_code == 200 and "replaced by a newer invitation" in replaced.text
        assert "Invitees" not in replaced.text and "twice@invitees.test" not in replaced.text
        assert (await invitee.post(first, {"name": "T", "password": "long enough"})).status_code == 409
    assert "Open invitations" in page.text and ">Withdraw</button>" in page.text  # the customer portal's words
    asked = await admin.post(f"{base}/revoke")  # asks first
    assert asked.status_code == 200 and "Withdraw this invitation?" in asked.text
    withdrawn = await admin.post(f"{base}/revoke", {"confirm": "yes"})
    assert withdrawn.status_code == 303
    assert "was withdrawn" in (await admin.get(withdrawn.headers["location"])).text  # the flash
    assert "was withdrawn" in (await admin.get(second)).text


async def test_deleting_the_only_tag_says_where_storage_goes_and_leads_to_the_list(wharf, admin):
    repo = wharf.repo("single")
    await push_image(wharf, repo, image("single-tag"), "1.0.0")
    await admin.get(f"/vendor/repositories/{repo}")
    asked = await admin.post("/vendor/repositories/delete", {"repository": repo, "tag": "1.0.0"})
    assert f"It is the only tag of {repo}" in asked.text and "wharf gc --delete" in asked.text
    done = await admin.post("/vendor/repositories/delete", {"repository": repo, "tag": "1.0.0", "confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == "/vendor/repositories"
    listed = await admin.get(done.headers["location"])
    assert f"Deleted 1.0.0, the last tag of {repo}" in listed.text and "wharf gc --delete" in listed.text
    left = await admin.get(f"/vendor/repositories/{repo}")  # what is left says the same, and leads back
    assert (
        "wharf gc --delete" in left.text and '<a href="/vendor/repositories">Back to the repositories</a>' in left.text
    )


async def test_staff_invitations_refuse_members_and_show_who_is_unconfirmed(wharf, admin, staff_emails):
    await admin.get("/vendor/team")
    r = await admin.post("/vendor/team/invitations", {"email": staff_emails["support"], "role": "support"})
    assert r.status_code == 400 and "already a member" in r.text
    team = (await admin.get("/vendor/team")).text
    assert staff_emails["support"] in team and "unconfirmed" not in team  # staff invited by mail are confirmed
