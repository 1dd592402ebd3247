"""Customers on the vendor portal: search, create, rename, invite by mail, pull tokens shown once and revoked."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from app.models import AdminAuditEntry
from tests.conftest import basic
from tests.registry.helpers import push_image
from tests.support.oci import image
from tests.support.web import Browser


def engine_of(wharf):
    return wharf.app.state.registry.metadata.engine


async def create_customer(browser, name: str) -> int:
    await browser.get("/vendor/customers/new")
    r = await browser.post("/vendor/customers", {"name": name})
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


async def last_audit(wharf, action: str):
    async with engine_of(wharf).connect() as conn:
        return (
            await conn.execute(
                select(AdminAuditEntry).where(AdminAuditEntry.action == action).order_by(AdminAuditEntry.id.desc())
            )
        ).first()


async def test_create_search_and_open_a_customer(wharf, admin):
    name = f"Globex {uuid.uuid4().hex[:6]}"
    customer_id = await create_customer(admin, name)
    r = await admin.get(f"/vendor/customers/{customer_id}")
    assert r.status_code == 200 and f"Customer {name} created." in r.text and "No license yet" in r.text
    entry = await last_audit(wharf, "customer.created")
    assert entry.object_id == str(customer_id) and entry.actor.endswith("@acme.test)") and entry.client_ip == admin.ip
    r = await admin.get("/vendor/customers", params={"q": name[-6:].upper()})
    assert name in r.text
    r = await admin.get("/vendor/customers", params={"q": "no such customer zzz"})
    assert "No customer matches" in r.text
    r = await admin.get("/vendor/customers", params={"q": name}, headers={"HX-Request": "true"})
    assert name in r.text and "<html" not in r.text  # htmx gets the results block only


async def test_customer_list_is_paged(admin):
    prefix = f"Paged {uuid.uuid4().hex[:6]}"
    for i in range(27):
        await create_customer(admin, f"{prefix} {i:02d}")
    rows = re.compile(rf'href="/vendor/customers/\d+">{prefix}')
    first = await admin.get("/vendor/customers", params={"q": prefix})
    assert len(rows.findall(first.text)) == 25 and "page=2" in first.text
    second = await admin.get("/vendor/customers", params={"q": prefix, "page": "2"})
    assert len(rows.findall(second.text)) == 2 and "page=2" not in second.text
    assert (await admin.get("/vendor/customers", params={"page": "not-a-number"})).status_code == 200


async def test_form_errors_show_next_to_the_field(admin):
    await admin.get("/vendor/customers/new")
    r = await admin.post("/vendor/customers", {"name": "   "})
    assert r.status_code == 400 and 'id="name-error"' in r.text and "A customer needs a name." in r.text
    customer_id = await create_customer(admin, "Initech")
    await admin.get(f"/vendor/customers/{customer_id}")
    r = await admin.post(f"/vendor/customers/{customer_id}/invitations", {"email": "not an email", "role": "member"})
    assert r.status_code == 400 and 'id="email-error"' in r.text
    r = await admin.post(f"/vendor/customers/{customer_id}/pull-tokens", {"name": "", "expires": ""})
    assert r.status_code == 400 and 'id="token_name-error"' in r.text
    r = await admin.post(f"/vendor/customers/{customer_id}/pull-tokens", {"name": "k8s", "expires": "2001-01-01"})
    assert r.status_code == 400 and "Choose an expiry date in the future." in r.text
    r = await admin.post(f"/vendor/customers/{customer_id}/pull-tokens", {"name": "k8s", "expires": "31/12/2030"})
    assert r.status_code == 400 and "YYYY-MM-DD" in r.text


async def test_rename_is_recorded_with_before_and_after(wharf, admin):
    customer_id = await create_customer(admin, "Old Name")
    await admin.get(f"/vendor/customers/{customer_id}")
    r = await admin.post(f"/vendor/customers/{customer_id}/name", {"name": "New Name"})
    assert r.status_code == 303
    assert "New Name" in (await admin.get(f"/vendor/customers/{customer_id}")).text
    entry = await last_audit(wharf, "customer.updated")
    assert '"Old Name"' in entry.before and '"New Name"' in entry.after


async def test_invitation_is_mailed_and_accepting_it_lists_the_person(wharf, admin, smtp_sink):
    customer_id = await create_customer(admin, "Hooli")
    email = f"ops-{uuid.uuid4().hex[:6]}@hooli.test"
    await admin.get(f"/vendor/customers/{customer_id}")
    r = await admin.post(f"/vendor/customers/{customer_id}/invitations", {"email": email, "role": "admin"})
    assert r.status_code == 303
    page = await admin.get(f"/vendor/customers/{customer_id}")
    assert f"Invitation sent to {email}." in page.text and "Open invitations" in page.text
    path = smtp_sink.wait_for(email, "Hooli").link("/portal/invitations/")
    async with Browser(wharf.app) as invitee:
        await invitee.get(path)
        accepted = await invitee.post(path, {"name": "Ops Person", "password": "long enough"})
        assert accepted.status_code == 303 and accepted.headers["location"] == "/portal/"  # accepted and signed in
        assert "Ops Person" in (await invitee.get("/portal/")).text
    page = await admin.get(f"/vendor/customers/{customer_id}")
    assert "Ops Person" in page.text and "Open invitations" not in page.text


async def test_invitation_link_is_shown_when_no_mail_server_is_configured(wharf, admin):
    from app.mail import LogMailer

    context = wharf.app.state.services.deps  # the mailer every service sends with
    mailer, context.mailer = context.mailer, LogMailer()
    try:
        customer_id = await create_customer(admin, "Umbrella")
        await admin.get(f"/vendor/customers/{customer_id}")
        await admin.post(f"/vendor/customers/{customer_id}/invitations", {"email": "x@umbrella.test", "role": "member"})
        page = await admin.get(f"/vendor/customers/{customer_id}")
        assert "No mail server is configured" in page.text
        assert re.search(r"http://testserver.local/portal/invitations/[\w-]{20,}", page.text)
    finally:
        context.mailer = mailer


async def test_invitation_link_is_shown_when_the_mail_server_refuses(wharf, admin):
    from app.mail import SmtpMailer
    from app.settings import MailSettings
    from tests.support.server import free_port

    context = wharf.app.state.services.deps  # the mailer every service sends with
    mailer = context.mailer
    context.mailer = SmtpMailer(MailSettings(smtp_host="127.0.0.1", smtp_port=free_port(), mail_from="w@x.test"))
    try:
        customer_id = await create_customer(admin, "Nobody listens")
        await admin.get(f"/vendor/customers/{customer_id}")
        r = await admin.post(f"/vendor/customers/{customer_id}/invitations", {"email": "y@z.test", "role": "member"})
        assert r.status_code == 303
        page = await admin.get(f"/vendor/customers/{customer_id}")
        assert "could not be sent" in page.text and "/portal/invitations/" in page.text
    finally:
        context.mailer = mailer


async def test_pull_token_is_shown_once_works_and_revoking_asks_first(wharf, admin):
    customer_id = await create_customer(admin, "Stark")
    await admin.get(f"/vendor/customers/{customer_id}")
    r = await admin.post(f"/vendor/customers/{customer_id}/pull-tokens", {"name": "prod cluster", "expires": ""})
    assert r.status_code == 200 and "shown only once" in r.text
    secret = re.search(r"wharf_pull_[\w-]+", r.text).group(0)
    assert (await wharf.client.get("/v2/", auth=("x", secret))).status_code == 200
    token_id = re.search(rf"/vendor/customers/{customer_id}/pull-tokens/(\d+)/revoke", r.text).group(1)
    assert secret not in (await admin.get(f"/vendor/customers/{customer_id}")).text
    revoke = f"/vendor/customers/{customer_id}/pull-tokens/{token_id}/revoke"
    asked = await admin.post(revoke)  # no confirmation yet: a page asks first, nothing changes
    assert asked.status_code == 200 and "Revoke the token prod cluster?" in asked.text
    assert (await wharf.client.get("/v2/", auth=("x", secret))).status_code == 200
    r = await admin.post(revoke, {"confirm": "yes"})
    assert r.status_code == 303
    assert (await wharf.client.get("/v2/", auth=("x", secret))).status_code == 401
    entry = await last_audit(wharf, "pull_token.revoked")
    assert entry.object_id == token_id and entry.client_ip == admin.ip


async def test_recent_pulls_name_images_as_clients_do_and_actions_in_words(wharf, admin):
    customer_id = await create_customer(admin, f"Initech {uuid.uuid4().hex[:6]}")
    repo, img = wharf.repo("recent"), image("recent-pulls")
    await push_image(wharf, repo, img, "1.0.0")
    api = {"Authorization": f"Bearer {wharf.token}"}
    grants = [{"repository": repo, "tags": ["*"]}]
    body = {"customer_id": customer_id, "name": "Recent", "grants": grants}
    assert (await wharf.client.post("/api/v1/licenses", json=body, headers=api)).is_success
    made = await wharf.client.post(f"/api/v1/customers/{customer_id}/pull-tokens", json={"name": "ci"}, headers=api)
    auth = {"Authorization": basic("x", made.json()["token"])}
    for ref in ("1.0.0", img.digest):
        assert (await wharf.client.get(f"/v2/{repo}/manifests/{ref}", headers=auth)).status_code == 200
    await wharf.app.state.audit_writer.drain()
    r = await admin.get(f"/vendor/customers/{customer_id}")
    algorithm, hex_part = img.digest.split(":")
    assert f"{repo}@{algorithm}:{hex_part[:12]}…" in r.text and f'title="{repo}@{img.digest}"' in r.text
    assert f"{repo}:1.0.0" in r.text and f"{repo}:{algorithm}" not in r.text
    assert '<span class="badge ok">pull</span>' in r.text and "manifest.get" not in r.text
