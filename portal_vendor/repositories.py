"""Repositories: the list with tag counts and last push; one repository's tags, referrers and pull commands."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath
from litestar.response import Template

from app import catalog, services
from app.usage import usage_query
from portal_vendor.common import PAGE_SIZE, Pager, Req, not_found, page, page_number, reading, staff, vendor_slug


class RepositoryController(Controller):
    path = "/repositories"
    include_in_schema = False

    @get("/")
    async def list_(self, request: Req) -> Template:
        user = await staff(request)
        async with reading(request) as session:
            slug = await vendor_slug(session, user)
            found = await catalog.repositories(session, slug)
        return await page(
            request, "vendor/repositories.html", user, section="repositories", repositories=found, slug=slug
        )

    @get("/{name:path}")
    async def detail(self, request: Req, name: FromPath[str]) -> Template:
        user = await staff(request)
        name = name.strip("/")
        number = page_number(request.query_params.get("page"))
        async with reading(request) as session:
            repo_id = await catalog.repository_id(session, await vendor_slug(session, user), name)
            if repo_id is None:
                raise not_found("repository")
            tags = await catalog.tags(session, repo_id, PAGE_SIZE + 1, (number - 1) * PAGE_SIZE)
            total = await catalog.tag_count(session, repo_id)
            referrers = await catalog.referrers(session, repo_id)
            conn = await session.connection()
            pulls = dict(
                (r.key, int(r.pulls))
                for r in await conn.execute(await usage_query(conn, user.vendor_id, "tag", None, None, None, name))
            )
        pager = Pager(number, len(tags) > PAGE_SIZE, f"/vendor/repositories/{name}", {})
        tag_of = {t.digest: t.tag for t in tags}
        newest = max(tags, key=lambda t: str(services.iso(t.pushed_at))).tag if tags else None
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
