"""The mailers: SMTP into a real sink, the log-only fallback, and an unreachable server."""

from __future__ import annotations

import logging
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.mail import LogMailer, Mail, MailError, SmtpMailer, build_mailer, send_invitation
from app.main import create_app
from app.services import validation
from app.services.errors import Invalid
from app.settings import DatabaseSettings, MailSettings, ServerSettings, Settings
from tests.app.test_cli import run
from tests.support.server import free_port
from tests.support.web import Browser


async def _app_without_smtp(data_dir):
    """The app on a bootstrapped SQLite database, with no WHARF_SMTP_HOST; and its admin's email."""
    email = "ops@acme.test"
    booted = run("bootstrap", "--vendor", "acme", "--email", email, "--password", "pw-123456", data_dir=data_dir)
    assert booted.returncode == 0, booted.stderr
    settings = Settings(
        server=ServerSettings(host="127.0.0.1", port=80, public_url="http://wharf.test", data_dir=data_dir),
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{data_dir / 'wharf.db'}", auto_migrate=False),
    )
    app = create_app(settings)
    await app.state.startup()
    return app, email


async def test_smtp_mail_arrives_in_the_sink(smtp_sink):
    mailer = build_mailer(MailSettings(smtp_host="127.0.0.1", smtp_port=smtp_sink.port, mail_from="w@x.test"))
    assert isinstance(mailer, SmtpMailer)
    assert await send_invitation(mailer, "eve@mail.test", "Globex", "Acme", "http://w.test/portal/invitations/abc")
    received = smtp_sink.wait_for("eve@mail.test", "Acme")
    assert received.link("/portal/invitations/") == "/portal/invitations/abc" and "Globex" in received.body


async def test_without_smtp_a_mail_is_reported_undelivered_and_its_link_never_logged(caplog):
    """Whoever reads the logs must not find a link that takes over an account."""
    mailer = build_mailer(MailSettings(smtp_host=""))
    assert isinstance(mailer, LogMailer)
    with caplog.at_level(logging.DEBUG):
        assert not await send_invitation(mailer, "eve@mail.test", "Globex", "Acme", "http://w.test/x/secret")
    assert "secret" not in caplog.text
    assert "eve@mail.test" in caplog.text and "Your invitation" in caplog.text
    assert "not sent" in caplog.text


async def test_a_reset_asked_for_anonymously_without_smtp_logs_no_link(tmp_path, caplog):
    """The forgot-password page: no mail server, so nothing is sent, and the log says only that."""
    app, email = await _app_without_smtp(tmp_path)
    async with Browser(app) as browser:
        await browser.get("/password/forgot")
        with caplog.at_level(logging.DEBUG):
            r = await browser.post("/password/forgot", {"email": email})
    assert r.status_code == 200 and "/password/reset/" not in r.text
    assert "/password/reset/" not in caplog.text and "Reset your password" in caplog.text
    await app.state.registry.metadata.engine.dispose()


async def test_an_unreachable_server_is_an_error_not_a_crash(caplog):
    mailer = SmtpMailer(MailSettings(smtp_host="127.0.0.1", smtp_port=free_port()))
    with pytest.raises(MailError):
        await mailer.send(Mail("eve@mail.test", "hello", "text"))
    with caplog.at_level(logging.ERROR, logger="app.mail"):
        assert not await send_invitation(mailer, "eve@mail.test", "Globex", "Acme", "http://w.test/x")


def test_an_unknown_tls_mode_is_refused():
    with pytest.raises(ValueError, match="WHARF_SMTP_TLS"):
        SmtpMailer(MailSettings(smtp_host="mail.test", smtp_tls="ssl"))


async def test_an_invitation_names_the_vendor_carries_its_branding_and_comes_as_text_and_html(smtp_sink):
    from app.mail import MailBrand

    mailer = build_mailer(MailSettings(smtp_host="127.0.0.1", smtp_port=smtp_sink.port, mail_from="w@x.test"))
    brand = MailBrand("Acme <Software>", "#ffd84d", "https://w.test/branding/logo/1?v=abc")
    assert await send_invitation(mailer, "ivy@mail.test", "Globex", brand, "http://w.test/portal/invitations/xyz")
    received = smtp_sink.wait_for("ivy@mail.test", "Acme")
    assert "Acme <Software>'s software portal" in received.subject
    assert "Globex on Acme <Software>'s software portal" in received.body
    assert received.link("/portal/invitations/") == "/portal/invitations/xyz"
    assert received.html is not None
    assert "Acme &lt;Software&gt;" in received.html and "<Software>" not in received.html
    assert 'src="https://w.test/branding/logo/1?v=abc"' in received.html
    assert "background:#ffd84d;color:#111827" in received.html  # dark text on a light accent
    assert 'href="http://w.test/portal/invitations/xyz"' in received.html


async def test_attachments_travel_as_parts_and_only_their_names_reach_the_log(smtp_sink, caplog):
    from app.mail import Attachment

    mail = Mail(
        "ann@mail.test, bob@mail.test",
        "usage",
        "attached",
        attachments=(Attachment("usage.csv", b"customer,pulls\r\n7,2\r\n", "text/csv"),),
        message_id="report-abc",
    )
    await SmtpMailer(MailSettings(smtp_host="127.0.0.1", smtp_port=smtp_sink.port, mail_from="w@x.test")).send(mail)
    received = smtp_sink.wait_for("bob@mail.test", "usage")
    assert sorted(received.to) == ["ann@mail.test", "bob@mail.test"] and received.body.strip() == "attached"
    assert received.attachments == {"usage.csv": b"customer,pulls\r\n7,2\r\n"}
    assert received.message_id == "<report-abc@x.test>"
    with caplog.at_level(logging.WARNING):
        await LogMailer().send(mail)
    assert "usage.csv attached" in caplog.text and "7,2" not in caplog.text


# Text with what breaks a header over-represented: CR, LF, the Unicode line breaks str.splitlines knows, NUL.
_BREAKS = ["\r", "\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00", "\x01"]
_part = st.text(alphabet=st.sampled_from([*_BREAKS, "a", "é", " ", ":"]), min_size=1, max_size=8)
_names = st.builds(lambda a, b: a + b, _part, _part) | st.text(max_size=30)
_emails = st.builds(lambda local, domain, tld: f"{local}@{domain}.{tld}", _part, _part, _part)


@settings(max_examples=500)
@given(name=_names)
def test_every_name_accepted_can_be_in_a_subject(name):
    """A line break in a header made the email package raise: a 500 on sending an invitation to a customer
    whose name held U+2028, and a scheduled report retried forever."""
    try:
        accepted = validation.name("name", name, "customer")
    except Invalid:
        return
    message = EmailMessage()
    message["Subject"] = f"Your invitation to join {accepted}"


@settings(max_examples=500)
@given(email=_emails)
def test_every_address_accepted_is_printable(email):
    """NUL and other control characters went into the To: header and the SMTP dialogue as they were."""
    try:
        accepted = validation.email("email", email)
    except Invalid:
        return
    assert accepted.isprintable()


@pytest.mark.parametrize("email", ["a\x00b@x.test", "a\x01b@x.test", "a\x7fb@x.test", "a@x.test\x00"])
def test_an_address_with_a_control_character_is_refused(email):
    with pytest.raises(Invalid):
        validation.email("email", email)


@pytest.mark.parametrize("name", ["Glo\u2028bex", "Glo\u2029bex", "Glo\x85bex"])
def test_a_name_with_a_line_separator_is_refused(name):
    with pytest.raises(Invalid, match="control characters"):
        validation.name("name", name, "customer")


async def test_a_subject_stored_with_a_line_break_still_goes_out_on_one_line(smtp_sink):
    """Names stored before line separators were refused: the mail goes out, its subject on one line."""
    mailer = SmtpMailer(MailSettings(smtp_host="127.0.0.1", smtp_port=smtp_sink.port, mail_from="w@x.test"))
    await mailer.send(Mail("ned@mail.test", "Report of Glo\u2028bex\r\nBcc: eve@evil.test", "text"))
    received = smtp_sink.wait_for("ned@mail.test")
    assert received.to == ["ned@mail.test"] and received.subject == "Report of Glo bex Bcc: eve@evil.test"


async def test_a_mail_the_email_package_cannot_compose_is_a_mail_error():
    mailer = SmtpMailer(MailSettings(smtp_host="127.0.0.1", smtp_port=free_port(), mail_from="w@x.test"))
    with pytest.raises(MailError, match="could not be composed"):
        await mailer.send(Mail("ned@mail.test\r\nBcc: eve@evil.test", "hello", "text"))
