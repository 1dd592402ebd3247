"""The commands the portals show, per kind of artifact, each tool the way it expects: docker, podman,
containerd and Kubernetes for images; helm for charts; oras for anything else; cosign or notation to
verify a signature.

Every snippet is a bash command that runs when pasted (tests run `bash -n` on each): logins read the
secret from stdin, one user name everywhere, and with a plain-http public URL each tool gets the flag
it needs. With `secret` (a token just created) the commands carry it; otherwise they read $WHARF_TOKEN.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit

USER = "token"  # registry clients need a user name; Wharf looks only at the token
IMAGE_KINDS = ("image", "index")


@dataclass(frozen=True)
class Snippet:
    tool: str  # docker, podman, containerd, kubernetes, skopeo, helm, oras, cosign, notation, shell
    label: str
    text: str
    note: str | None = None


@dataclass(frozen=True)
class Registry:
    """Where clients reach Wharf, and with which secret."""

    host: str
    plain_http: bool
    secret: str | None = None

    @classmethod
    def of(cls, public_url: str, secret: str | None = None) -> Registry:
        parts = urlsplit(public_url)
        return cls(parts.netloc, parts.scheme == "http", secret)

    @property
    def token(self) -> str:
        """The secret as the shell should see it."""
        return shlex.quote(self.secret) if self.secret else '"$WHARF_TOKEN"'

    def user_and_token(self) -> str:
        return shlex.quote(f"{USER}:{self.secret}") if self.secret else f'"{USER}:$WHARF_TOKEN"'

    def flag(self, flag: str) -> str:
        return f" {flag}" if self.plain_http else ""

    def login(self, tool: str) -> str:
        pipe = f"echo {self.token} | "
        if tool == "helm":
            return f"{pipe}helm registry login {self.host} --username {USER} --password-stdin{self.flag('--insecure')}"
        insecure = {
            "podman": "--tls-verify=false",
            "skopeo": "--tls-verify=false",
            "oras": "--plain-http",
            "notation": "--insecure-registry",
        }
        extra = self.flag(insecure[tool]) if tool in insecure else ""
        return f"{pipe}{tool} login{extra} {self.host} -u {USER} --password-stdin"


def set_token() -> Snippet:
    """Once per shell: the token goes into WHARF_TOKEN without landing in the shell's history."""
    return Snippet("shell", "Your pull token", "read -rsp 'Pull token: ' WHARF_TOKEN && export WHARF_TOKEN")


def export_token(secret: str) -> Snippet:
    return Snippet("shell", "Your pull token", f"export WHARF_TOKEN={shlex.quote(secret)}")


def release_name(name: str) -> str:
    """A Helm release name (a DNS label of at most 53 characters) from a chart or repository name."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:53].strip("-")
    return label or "release"


def chart_version(tag: str) -> str:
    """The chart version a tag stores (OCI tags cannot hold '+', so Helm writes it as '_')."""
    return tag.replace("_", "+")


def pull_secret(reg: Registry, vendor_slug: str, image: str | None = None) -> Snippet:
    """A Kubernetes image pull secret, used by the namespace's default service account."""
    name = release_name(vendor_slug) + "-pull"
    using = f"image: {image}" if image else f"images from {reg.host}"
    return Snippet(
        "kubernetes",
        "Kubernetes",
        f"kubectl create secret docker-registry {name} --docker-server={reg.host} \\\n"
        f"  --docker-username={USER} --docker-password={reg.token}\n"
        f'kubectl patch serviceaccount default -p \'{{"imagePullSecrets": [{{"name": "{name}"}}]}}\'',
        f"Pods of the namespace's default service account can then use {using}"
        + (f" (the nodes' container runtime must allow plain http for {reg.host})." if reg.plain_http else "."),
    )


def image_commands(reg: Registry, repository: str, tag: str, kind: str = "image") -> list[Snippet]:
    ref = f"{reg.host}/{repository}:{tag}"
    docker_note = (
        f"Docker reaches plain-http registries only when its daemon lists {reg.host} under insecure-registries."
        if reg.plain_http
        else None
    )
    archive = f"{release_name(repository.rsplit('/', 1)[-1])}-{tag}.tar"
    return [
        Snippet("docker", "Docker", f"{reg.login('docker')}\ndocker pull {ref}", docker_note),
        Snippet("podman", "Podman", f"{reg.login('podman')}\npodman pull{reg.flag('--tls-verify=false')} {ref}"),
        Snippet(
            "containerd",
            "containerd",
            f"ctr images pull{reg.flag('--plain-http')} --user {reg.user_and_token()} {ref}",
        ),
        pull_secret(reg, repository.split("/", 1)[0], ref),
        Snippet(
            "skopeo",
            "Copy to a file (skopeo)",
            f"{reg.login('skopeo')}\n"
            f"skopeo copy{reg.flag('--src-tls-verify=false')}{' --all' if kind == 'index' else ''} "
            f"docker://{ref} oci-archive:{archive}",
        ),
    ]


def chart_commands(reg: Registry, repository: str, tag: str, chart_name: str | None) -> list[Snippet]:
    url = f"oci://{reg.host}/{repository}"
    version = shlex.quote(chart_version(tag))
    plain = reg.flag("--plain-http")
    name = release_name(chart_name or repository.rsplit("/", 1)[-1])
    return [
        Snippet("helm", "Helm", f"{reg.login('helm')}\nhelm install {name} {url} --version {version}{plain}"),
        Snippet("helm", "Default values", f"helm show values {url} --version {version}{plain}"),
        Snippet("helm", "Download the chart", f"helm pull {url} --version {version}{plain}"),
    ]


def artifact_commands(reg: Registry, repository: str, tag: str) -> list[Snippet]:
    return [
        Snippet(
            "oras",
            "ORAS",
            f"{reg.login('oras')}\noras pull{reg.flag('--plain-http')} {reg.host}/{repository}:{tag}",
        )
    ]


def commands(reg: Registry, repository: str, tag: str, kind: str, chart_name: str | None = None) -> list[Snippet]:
    """How to get one version, with the tools that can: never docker for a chart, never helm for an image."""
    if kind in IMAGE_KINDS:
        return image_commands(reg, repository, tag, kind)
    if kind == "helm-chart":
        return chart_commands(reg, repository, tag, chart_name)
    return artifact_commands(reg, repository, tag)


def verify_commands(reg: Registry, repository: str, tag: str, cosign: bool) -> list[Snippet]:
    """How to check a version's signature: cosign (with your copy of the vendor's public key) or notation."""
    ref = f"{reg.host}/{repository}:{tag}"
    if cosign:
        flag = reg.flag("--allow-http-registry")
        return [
            Snippet(
                "cosign", "Verify the signature", f"{reg.login('cosign')}\ncosign verify{flag} --key cosign.pub {ref}"
            )
        ]
    flag = reg.flag("--insecure-registry")
    return [Snippet("notation", "Verify the signature", f"{reg.login('notation')}\nnotation verify{flag} {ref}")]


def attachment_command(reg: Registry, repository: str, digest: str) -> Snippet:
    """Download an SBOM or attestation by digest (oras pulls any artifact)."""
    return Snippet("oras", "Download", f"oras pull{reg.flag('--plain-http')} {reg.host}/{repository}@{digest}")


def logins(reg: Registry, kinds: set[str]) -> list[Snippet]:
    """Sign-in commands for the tools that pull `kinds` (after a token is created); signatures and SBOMs
    come with what they describe."""
    kinds = kinds - {"signature", "sbom"}
    found = []
    if kinds & set(IMAGE_KINDS):
        found += [Snippet("docker", "Docker", reg.login("docker")), Snippet("podman", "Podman", reg.login("podman"))]
        found.append(Snippet("skopeo", "skopeo", reg.login("skopeo")))
    if "helm-chart" in kinds:
        found.append(Snippet("helm", "Helm", reg.login("helm")))
    if kinds - {*IMAGE_KINDS, "helm-chart"}:
        found.append(Snippet("oras", "ORAS", reg.login("oras")))
    return found
