"""The `project` and `client` commands, through an argparse parser as the
`trackflow` CLI builds it, against a registry in a temporary directory."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ingress import registry_cli
from ingress.registry import Registry, RegistryError


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="trackflow")
    registry_cli.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_create_list_and_revoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "registry.sqlite3"
    monkeypatch.setenv("TRACKFLOW_REGISTRY", str(path))

    assert (
        run(["project", "create", "shop", "--session-timeout-min", "10", "--window-days", "2"])
        == 0
    )
    (project,) = Registry(path).projects()
    assert (project.session_timeout_ms, project.window_ms) == (600_000, 2 * 86_400_000)

    assert run(["client", "create", project.id, "--name", "backend"]) == 0
    out = capsys.readouterr().out
    secret = out.split("client secret: ")[1].split()[0]
    assert run(["client", "create", project.id, "--no-secret", "--origin", "*.shop.com"]) == 0
    clients = Registry(path).clients(project.id)
    assert len(clients) == 2 and clients[1].origins == ("*.shop.com",)
    assert secret not in path.read_bytes().decode("latin-1")

    assert run(["client", "revoke", clients[0].id]) == 0
    assert run(["client", "revoke", clients[0].id]) == 1
    assert run(["client", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert run(["client", "create", "no-such-project"]) == 1


def test_browser_client_needs_an_origin(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "r.sqlite3")
    project = registry.create_project("p")

    with pytest.raises(RegistryError):
        registry.create_client(project.id, with_secret=False)
