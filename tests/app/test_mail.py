"""The mailers: SMTP into a real sink, the log-only fallback, and an unreachable server."""

from __future__ import annotations

import logging

import pytest

from app.mail import LogMailer, Mail, MailError, SmtpMailer, build_mailer, send_invitation
from app.main import create_app
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
