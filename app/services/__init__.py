"""The one write path: every change to customers, licenses, tokens, invitations, the team, settings and
accounts happens in one service method that takes an Actor, checks permission, validates, writes, records
the admin-log entry and the outbox event in the same transaction, and drops caches after commit.

The API, both portals, the CLI and integrations are adapters over these services.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.services.accounts import AccountService
from app.services.base import ServiceDeps
from app.services.customers import CustomerService
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from app.services.exports import ExportService
from app.services.invitations import InvitationService
from app.services.licenses import LicenseService
from app.services.report_schedules import ReportScheduleService
from app.services.repositories import RepositoryService
from app.services.repository_settings import RepositorySettingsService
from app.services.settings import SettingsService
from app.services.team import TeamService
from app.services.tokens import PullTokenService, VendorTokenService


@dataclass(frozen=True)
class Services:
    deps: ServiceDeps
    accounts: AccountService
    customers: CustomerService
    exports: ExportService
    invitations: InvitationService
    licenses: LicenseService
    pull_tokens: PullTokenService
    report_schedules: ReportScheduleService
    repositories: RepositoryService
    repository_settings: RepositorySettingsService
    settings: SettingsService
    team: TeamService
    vendor_tokens: VendorTokenService

    @classmethod
    def build(cls, deps: ServiceDeps) -> Services:
        return cls(
            deps=deps,
            accounts=AccountService(deps),
            customers=CustomerService(deps),
            exports=ExportService(deps),
            invitations=InvitationService(deps),
            licenses=LicenseService(deps),
            pull_tokens=PullTokenService(deps),
            report_schedules=ReportScheduleService(deps),
            repositories=RepositoryService(deps),
            repository_settings=RepositorySettingsService(deps),
            settings=SettingsService(deps),
            team=TeamService(deps),
            vendor_tokens=VendorTokenService(deps),
        )


__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound", "ServiceDeps", "ServiceError", "Services"]
