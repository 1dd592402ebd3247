"""Repositories: the list with kinds, tag counts and last push; one repository's versions (kind, size,
who is entitled, who pulled), how customers get it, its settings and referrers; one version's details,
release notes and customers; deleting a tag or a manifest."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import licensing
from app import adoption, artifacts, catalog, commands, immutability
from app.dependencies import CurrentActor, ProductSettings, Reader, Repositories, SignedIn
from app.guards import staff
from app.models import Organization
from app.policy import licenses_by_customer
from app.roles import Permission
from app.services.errors import Invalid, NotFound
from app.services.repository_settings import FIELDS, notes_of, settings_of, snapshot
from app.times import utcnow
from app.web.charts import pulls_chart
from app.web.context import web
from app.web.pages import redirect_with
from app.web.users import WebUser
from portal_vendor.common import PAGE_SIZE, Form, Pager, Req, confirm, field_error, not_found, page, page_number
from registry.kinds import ATTACHMENTS

READ = [staff(Permission.READ)]
# what happens to a repository left without tags (said before and after deleting its last one)
LAST_TAG_GONE = (
    "the repository has no versions left. Its manifests and layers take up storage until an operator runs "
    "`wharf gc --delete`, which reclaims them."
)
EDIT = [staff(Permission.PUSH)]


def split_version(name: str) -> tuple[str, str | None]:
    """`<repository>/tags/<tag>` names a version page; anything else a repository."""
    head, marker, tag = name.rpartition("/tags/")
    return (head, tag) if marker and head and tag and "/" not in tag else (name, None)


async def customer_names(session: AsyncSession, vendor_id: int) -> dict[int, str]:
    rows = await session.execute(
        select(Organization.id, Organization.name).where(
            Organization.vendor_id == vendor_id, Organization.kind == "customer"
        )
    )
    return {int(i): str(n) for i, n in rows}


async def _tag_count(reader: AsyncSession, slug: str, name: str) -> int:
    """How many tags the repository has, counted up to two (enough to tell the last one)."""
    repo_id = await catalog.repository_id(reader, slug, name)
    return 0 if repo_id is None else len(await artifacts.tags(reader, repo_id, 2))


class RepositoryController(Controller):
    path = "/repositories"
    include_in_schema = False

    @get("/", guards=READ)
    async def list_(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        found = await catalog.repositories(reader, user.vendor_slug)
        return await page(
            request, "vendor/repositories.html", user, section="repositories", repositories=found, slug=user.vendor_slug
        )

    @post("/delete", status_code=200, guards=[staff(Permission.DELETE)])
    async def delete(
        self,
        request: Req,
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        repositories: Repositories,
        reader: Reader,
    ) -> Template | Redirect:
        """Delete a tag (`tag`) or a manifest and all its tags (`digest`) of `repository`, after a confirmation.
        Deleting the last tag says where the storage goes and leads back to the repository list."""
        name, tag, digest = data.get("repository", ""), data.get("tag", ""), data.get("digest", "")
        if not name.startswith(user.vendor_slug + "/") or not (tag or digest):
            raise not_found("repository")
        back = f"/vendor/repositories/{name}"
        last_tag = bool(tag) and await _tag_count(reader, user.vendor_slug, name) == 1
        if data.get("confirm") != "yes":
            if tag:
                question = f"Delete the tag {tag} of {name}?"
                detail = "Pulls of this tag fail from now on; the content stays reachable by digest until collected."
                if last_tag:
                    detail = f"It is the only tag of {name}: pulls of it fail from now on, and {LAST_TAG_GONE}"
            else:
                question = f"Delete the manifest {digest[:19]}… of {name}?"
                detail = "Every tag pointing to it goes too; its layers are removed by the next garbage collection."
            fields = {"repository": name, "tag": tag, "digest": digest}
            return await confirm(request, user, question, detail, "/vendor/repositories/delete", "Delete", fields)
        try:
            if tag:
                await repositories.delete_tag(actor, name, tag)
            else:
                await repositories.delete_manifest(actor, name, digest)
        except NotFound:
            raise not_found("tag or manifest") from None
        if last_tag:
            return redirect_with(
                request, "/vendor/repositories", f"Deleted {tag}, the last tag of {name}: {LAST_TAG_GONE}"
            )
        return redirect_with(request, back, f"Deleted {tag or digest[:19] + '…'}.")

    @post("/settings", status_code=200, guards=EDIT)
    async def save_settings(
        self,
        request: Req,
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        repository_settings: ProductSettings,
        reader: Reader,
    ) -> Template | Redirect:
        name = data.get("repository", "")
        values = {f: data.get(f, "") for f in FIELDS}
        try:
            await repository_settings.update(actor, name, values)
        except NotFound:
            raise not_found("repository") from None
        except Invalid as exc:
            return await self._repository(request, user, reader, name, 1, values, field_error(exc), 400)
        return redirect_with(request, f"/vendor/repositories/{name}", "Settings saved.")

    @post("/notes", status_code=303, guards=EDIT)
    async def save_notes(
        self, request: Req, data: Form, actor: CurrentActor, repository_settings: ProductSettings
    ) -> Redirect:
        name, tag = data.get("repository", ""), data.get("tag", "")
        back = f"/vendor/repositories/{name}/tags/{tag}"
        try:
            stored = await repository_settings.set_notes(actor, name, tag, data.get("notes", ""))
        except NotFound:
            raise not_found("version") from None
        except Invalid as exc:
            return redirect_with(request, back, exc.message, "error")
        return redirect_with(request, back, "Release notes saved." if stored else "Release notes removed.")

    @get("/{name:path}", guards=READ)
    async def detail(self, request: Req, name: FromPath[str], user: SignedIn, reader: Reader) -> Template:
        name = name.strip("/")
        repository, tag = split_version(name)
        if tag is not None and await catalog.repository_id(reader, user.vendor_slug, repository) is not None:
            return await self._version(request, user, reader, repository, tag)
        return await self._repository(request, user, reader, name, page_number(request.query_params.get("page")))

    async def _repository(
        self,
        request: Req,
        user: WebUser,
        reader: AsyncSession,
        name: str,
        number: int,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        repo_id = await catalog.repository_id(reader, user.vendor_slug, name)
        if repo_id is None:
            raise not_found("repository")
        tags = await artifacts.tags(reader, repo_id, PAGE_SIZE + 1, (number - 1) * PAGE_SIZE)
        shown = tags[:PAGE_SIZE]
        licenses = await licenses_by_customer(reader, user.vendor_id)
        entitled = adoption.entitled_customers(licenses, name, [t.tag for t in shown], utcnow())
        settings = await settings_of(reader, name)
        vendor_rule = await reader.scalar(select(Organization.immutable_tags).where(Organization.id == user.vendor_id))
        installable = [t for t in shown if t.kind not in ATTACHMENTS]
        newest = licensing.newest_release(t.tag for t in installable) or (installable[0].tag if installable else None)
        newest_info = next((t for t in shown if t.tag == newest), None)
        reg = commands.Registry.of(web(request).public_url)
        how = (
            commands.commands(
                reg, name, newest_info.tag, newest_info.kind, newest_info.chart.name if newest_info.chart else None
            )
            if newest_info
            else []
        )
        return await page(
            request,
            "vendor/repository.html",
            user,
            section="repositories",
            status=status,
            name=name,
            tags=shown,
            total=await catalog.tag_count(reader, repo_id),
            kinds=await catalog.kinds_in(reader, repo_id),
            entitled=entitled,
            pullers=await adoption.pulling_customers(reader, user.vendor_id, name),
            pulls_chart=await pulls_chart(
                await reader.connection(), user.vendor_id, f"Pulls of {name} per day", repository=name
            ),
            referrers=await catalog.referrers(reader, repo_id),
            tag_of={t.digest: t.tag for t in shown},
            newest=newest,
            how=how,
            settings=values or {k: v or "" for k, v in snapshot(settings).items()},
            errors=errors or {},
            rules=immutability.RULES,
            vendor_rule=immutability.RULES.get(vendor_rule or "", "off"),
            pager=Pager(number, len(tags) > PAGE_SIZE, f"/vendor/repositories/{name}", {}),
        )

    async def _version(self, request: Req, user: WebUser, reader: AsyncSession, name: str, tag: str) -> Template:
        repo_id = await catalog.repository_id(reader, user.vendor_slug, name)
        found = await artifacts.tags(reader, repo_id, only=[tag]) if repo_id is not None else []
        if not found:
            raise not_found("version")
        info = found[0]
        licenses = await licenses_by_customer(reader, user.vendor_id)
        entitled = adoption.entitled_customers(licenses, name, [tag], utcnow())[tag]
        pulls = await adoption.version_pulls(reader, user.vendor_id, name, tag)
        names = await customer_names(reader, user.vendor_id)
        customers = sorted(entitled | set(pulls), key=lambda c: names.get(c, "").lower())
        reg = commands.Registry.of(web(request).public_url)
        return await page(
            request,
            "vendor/version.html",
            user,
            section="repositories",
            name=name,
            info=info,
            notes=(await notes_of(reader, name, [tag])).get(tag, ""),
            customers=[(c, names.get(c, f"customer {c}"), c in entitled, pulls.get(c)) for c in customers],
            how=commands.commands(reg, name, tag, info.kind, info.chart.name if info.chart else None),
        )
