"""`trackflow project create|list` and `trackflow client create|list|revoke`.

    trackflow project create NAME [--session-timeout-min 30] [--window-days 5]
    trackflow project list
    trackflow client create PROJECT_ID [--name N] [--origin HOST ...] [--no-secret]
    trackflow client list [PROJECT_ID]
    trackflow client revoke CLIENT_ID

The registry file is TRACKFLOW_REGISTRY (see trackflow/settings.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ingress.registry import (
    DEFAULT_SESSION_TIMEOUT_MS,
    DEFAULT_WINDOW_MS,
    Registry,
    RegistryError,
)
from trackflow import settings


def _registry() -> Registry:
    return Registry(settings.load().registry_path)


def _project_create(args: argparse.Namespace) -> int:
    problems = []
    if not args.name.strip():
        problems.append("the project name must not be empty")
    if args.session_timeout_min <= 0:
        problems.append(
            f"--session-timeout-min must be positive, got {args.session_timeout_min:g}"
        )
    if args.window_days <= 0:
        problems.append(f"--window-days must be positive, got {args.window_days:g}")
    if problems:
        print("trackflow: " + "; ".join(problems), file=sys.stderr)
        return 2
    project = _registry().create_project(
        args.name,
        session_timeout_ms=int(args.session_timeout_min * 60_000),
        window_ms=int(args.window_days * 86_400_000),
    )
    print(f"project {project.id} {project.name!r} created")
    print(
        f"session timeout {project.session_timeout_ms // 60_000} min, "
        f"historical window {project.window_ms / 86_400_000:g} days"
    )
    return 0


def _project_list(_args: argparse.Namespace) -> int:
    for project in _registry().projects():
        print(
            f"{project.id}  {project.name!r}  session_timeout_ms={project.session_timeout_ms} "
            f"window_ms={project.window_ms}"
        )
    return 0


def _client_create(args: argparse.Namespace) -> int:
    client, secret = _registry().create_client(
        args.project_id, name=args.name, origins=args.origin, with_secret=not args.no_secret
    )
    print(f"client id:     {client.id}")
    print(f"project:       {client.project_id}")
    if client.origins:
        print(f"origins:       {', '.join(client.origins)}")
    if secret:
        print(f"client secret: {secret}")
        print("The secret is shown only now; it is stored hashed.")
    return 0


def _client_list(args: argparse.Namespace) -> int:
    for client in _registry().clients(args.project_id):
        state = "revoked" if client.revoked else "active"
        kind = "secret" if client.has_secret else "origins: " + ",".join(client.origins)
        print(f"{client.id}  project={client.project_id}  {state}  {kind}  {client.name!r}")
    return 0


def _client_revoke(args: argparse.Namespace) -> int:
    if not _registry().revoke_client(args.client_id):
        print(f"no active client {args.client_id}", file=sys.stderr)
        return 1
    print(f"client {args.client_id} revoked")
    return 0


Handler = Callable[[argparse.Namespace], int]


def _run(handler: Handler) -> Handler:
    """The handler, with a registry refusal printed as one line and exit code 1."""

    def call(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except RegistryError as exc:
            print(f"trackflow: {exc}", file=sys.stderr)
            return 1

    return call


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Registers `project` and `client`; each parser's `func(args)` returns the exit code."""
    project = subparsers.add_parser("project", help="create and list projects")
    project_sub = project.add_subparsers(dest="project_command", required=True)
    create = project_sub.add_parser("create", help="create a project")
    create.add_argument("name")
    create.add_argument(
        "--session-timeout-min", type=float, default=DEFAULT_SESSION_TIMEOUT_MS / 60_000
    )
    create.add_argument("--window-days", type=float, default=DEFAULT_WINDOW_MS / 86_400_000)
    create.set_defaults(func=_run(_project_create))
    project_sub.add_parser("list", help="list projects").set_defaults(func=_run(_project_list))

    client = subparsers.add_parser("client", help="create, list and revoke clients")
    client_sub = client.add_subparsers(dest="client_command", required=True)
    create = client_sub.add_parser("create", help="create a client; prints its secret once")
    create.add_argument("project_id")
    create.add_argument("--name", default="")
    create.add_argument(
        "--origin",
        action="append",
        default=[],
        help="allowed Origin (host, *.example.com or https://host); repeatable",
    )
    create.add_argument(
        "--no-secret", action="store_true", help="a browser client checked by Origin only"
    )
    create.set_defaults(func=_run(_client_create))
    listing = client_sub.add_parser("list", help="list clients")
    listing.add_argument("project_id", nargs="?")
    listing.set_defaults(func=_run(_client_list))
    revoke = client_sub.add_parser("revoke", help="revoke a client")
    revoke.add_argument("client_id")
    revoke.set_defaults(func=_run(_client_revoke))
