"""The commands the portals show: every one parses in bash, logins read stdin, each tool gets its insecure
flag only for a plain-http registry, and a token just created is carried quoted."""

from __future__ import annotations

import subprocess

import pytest

from app import commands

KINDS = ("image", "index", "helm-chart", "artifact")


def all_snippets(reg: commands.Registry) -> list[commands.Snippet]:
    found = [commands.set_token(), commands.export_token("wharf_pull_a'b c")]
    for kind in KINDS:
        found += commands.commands(reg, "acme/charts/web", "1.2.3_build.4", kind, "Web Chart!")
    found += commands.verify_commands(reg, "acme/web", "1.0.0", True)
    found += commands.verify_commands(reg, "acme/web", "1.0.0", False)
    found.append(commands.attachment_command(reg, "acme/web", "sha256:" + "a" * 64))
    found += commands.logins(reg, set(KINDS))
    found.append(commands.pull_secret(reg, "acme"))
    return found


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "https://registry.example.com"])
@pytest.mark.parametrize("secret", [None, "wharf_pull_Ab-9_x", "wharf_pull_a'b c"])
def test_every_snippet_parses_in_bash(url, secret):
    for snippet in all_snippets(commands.Registry.of(url, secret)):
        checked = subprocess.run(["bash", "-n"], input=snippet.text, capture_output=True, text=True)
        assert checked.returncode == 0, f"{snippet.text!r}: {checked.stderr}"
        assert "<" not in snippet.text and ">" not in snippet.text, snippet.text  # no placeholder redirections


def test_plain_http_gets_each_tools_flag_and_https_none():
    plain = "\n".join(s.text for s in all_snippets(commands.Registry.of("http://127.0.0.1:5000")))
    for flag in ("--tls-verify=false", "--plain-http", "--insecure", "--allow-http-registry", "--insecure-registry"):
        assert flag in plain, flag
    secure = "\n".join(s.text for s in all_snippets(commands.Registry.of("https://registry.example.com")))
    for flag in ("--tls-verify=false", "--plain-http", "--insecure", "--allow-http-registry"):
        assert flag not in secure, flag
    assert "insecure-registries" in commands.image_commands(commands.Registry.of("http://h:1"), "a/b", "1")[0].note


def test_logins_read_stdin_with_one_user_name():
    reg = commands.Registry.of("https://registry.example.com")
    logins = [line for s in all_snippets(reg) for line in s.text.splitlines() if " login " in line]
    assert len(logins) >= 6
    for line in logins:
        assert line.startswith('echo "$WHARF_TOKEN" | ') and "--password-stdin" in line, line
        assert " -u token " in line or " --username token " in line, line


def test_a_token_just_created_is_carried_quoted():
    reg = commands.Registry.of("https://registry.example.com", "wharf_pull_a'b c")
    docker = commands.image_commands(reg, "acme/web", "1.0.0")[0].text
    assert docker.startswith("echo 'wharf_pull_a'\"'\"'b c' | docker login")
    ctr = commands.image_commands(reg, "acme/web", "1.0.0")[2].text
    assert "--user 'token:wharf_pull_a'\"'\"'b c'" in ctr


def test_charts_install_under_a_real_release_name_and_version():
    reg = commands.Registry.of("https://r.example.com")
    install = commands.chart_commands(reg, "acme/charts/web", "1.2.3_build.4", "Web Chart!")[0].text
    assert "helm install web-chart oci://r.example.com/acme/charts/web --version 1.2.3+build.4" in install
    assert commands.release_name("---") == "release" and len(commands.release_name("x" * 80)) == 53
    assert commands.chart_commands(reg, "acme/charts/db", "2.0.0", None)[0].text.endswith("--version 2.0.0")


def test_each_kind_gets_only_its_own_tools():
    reg = commands.Registry.of("https://r.example.com")
    assert {s.tool for s in commands.commands(reg, "a/b", "1", "image")} == {
        "docker",
        "podman",
        "containerd",
        "kubernetes",
        "skopeo",
    }
    assert {s.tool for s in commands.commands(reg, "a/b", "1", "index")} == {
        "docker",
        "podman",
        "containerd",
        "kubernetes",
        "skopeo",
    }
    assert {s.tool for s in commands.commands(reg, "a/b", "1", "helm-chart")} == {"helm"}
    assert {s.tool for s in commands.commands(reg, "a/b", "1", "artifact")} == {"oras"}
