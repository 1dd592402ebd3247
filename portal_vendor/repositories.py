"""Repositories: the list with tag counts and last push; one repository's tags, referrers and pull commands;
deleting a tag or a manifest."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app import artifacts, catalog
from app.dependencies import CurrentActor, Reader, Repositories, SignedIn
from app.guards import staff
from app.roles import Permission
from app.services.errors import NotFound
from app.times import iso
from app.usage import usage_query
from app.web.pages import redirect_with
from portal_vendor.common import PAGE_SIZE, Form, Pager, Req, confirm, not_found, page, page_number

READ = [staff(Permission.READ)]


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
        self, request: Req, data: Form, user: SignedIn, actor: CurrentActor, repositories: Repositories
    ) -> Template | Redirect:
        """Delete a tag (`tag`) or a manifest and all its tags (`digest`) of `repository`, after a confirmation."""
        name, tag, digest = data.get("repository", ""), data.get("tag", ""), data.get("digest", "")
        if not name.startswith(user.vendor_slug + "/") or not (tag or digest):
            raise not_found("repository")
        back = f"/vendor/repositories/{name}"
        if data.get("confirm") != "yes":
            if tag:
                question = f"Delete the tag {tag} of {name}?"
                detail = "Pulls of this tag fail from now on; the content stays reachable by digest until collected."
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
        return redirect_with(request, back, f"Deleted {tag or digest[:19] + '…'}.")

    @get("/{name:path}", guards=READ)
    async def detail(self, request: Req, name: FromPath[str], user: SignedIn, reader: Reader) -> Template:
        name = name.strip("/")
        number = page_number(request.query_params.get("page"))
        repo_id = await catalog.repository_id(reader, user.vendor_slug, name)
        if repo_id is None:
            raise not_found("repository")
        tags = await artifacts.tags(reader, repo_id, PAGE_SIZE + 1, (number - 1) * PAGE_SIZE)
        total = await catalog.tag_count(reader, repo_id)
        referrers = await catalog.referrers(reader, repo_id)
        conn = await reader.connection()
        pulls = dict(
            (r.key, int(r.pulls))
            for r in await conn.execute(await usage_query(conn, user.vendor_id, "tag", None, None, None, name))
        )
        pager = Pager(number, len(tags) > PAGE_SIZE, f"/vendor/repositories/{name}", {})
        tag_of = {t.digest: t.tag for t in tags}
        newest = max(tags, key=lambda t: str(iso(t.pushed_at))).tag if tags else None
        return await page(
            request,
            "vendor/repository.html",
            user,
            section="repositories",
            name=name,
            tags=tags[:PAGE_SIZE],
            total=total,
            pulls=pulls,
            referrers=referrers,
            tag_of=tag_of,
            newest=newest,
            pager=pager,
        )
