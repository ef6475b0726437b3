"""`portal-gateway preview-link`: print a staff preview link, or revoke every one issued.

A link is `BASE<admin_prefix>/preview/<token>`, the token signed with the configured session
key (gateway/policy/preview.py). `--revoke-all` bumps the preview generation in the control
file the gateways read once per TTL: every link issued before it stops working.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gateway.config import Config, ConfigIssue
from gateway.config.yamlnodes import Errors, load_nodes
from gateway.policy.preview import PreviewCodec, link
from gateway.settings.control import ControlRefused, default_path, load_control, save_control
from gateway.wire.values import parse_duration

DEFAULT_FOR = 2 * 3600.0
EXIT_CONFIG = 2


def control_path(config: Config) -> str:
    """The control file the gateways read: `settings.override_file` (beside the config by
    default)."""
    return config.settings.override_file or default_path(config.file)


def base_url(config: Config) -> str:
    """`http://` and the public listener's address (127.0.0.1 for every interface)."""
    host = config.listen_host or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.listen_port}"


def _key_line(config: Config) -> int:
    """Where a session key would go: the `customer_portal:` line, else the file's first."""
    try:
        text = Path(config.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 1
    root = load_nodes(text, config.file, Errors(config.file))
    if root is None:
        return 1
    return root.key_lines.get("customer_portal", 1)


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a duration (90s, 30m, 2h), got {text!r}"
        ) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text!r}")
    return seconds


def _shown(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def preview_link(config: Config, args: argparse.Namespace, now: float | None = None) -> int:
    path = control_path(config)
    try:
        control = load_control(path)
    except ControlRefused as exc:
        print(f"portal-gateway: control file: {exc}", file=sys.stderr)
        return 1
    if args.revoke_all:
        control = control.revoked()
        try:
            save_control(path, control)
        except OSError as exc:
            print(f"portal-gateway: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"revoked every preview link issued so far (generation {control.preview_generation})")
        print(f"control file: {path} (read by every gateway once per settings.ttl)")
        return 0
    key = config.customer_portal.session_key
    if key is None:
        issue = ConfigIssue(
            config.file,
            _key_line(config),
            "customer_portal.session_key",
            "required for preview links",
        )
        print(issue, file=sys.stderr)
        return EXIT_CONFIG
    cap = config.settings.max_override
    seconds = DEFAULT_FOR if args.duration is None else args.duration
    if seconds > cap:
        print(
            f"portal-gateway: --for {_shown(seconds)}: at most {_shown(cap)} "
            "(settings.max_override)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    base = args.base_url or base_url(config)
    if not base.startswith(("http://", "https://")) or "?" in base or "#" in base:
        print(
            f"portal-gateway: --base-url {base!r}: expected an origin such as "
            "https://portal.example.com",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    now = time.time() if now is None else now
    expires_at = now + seconds
    token = PreviewCodec(key).issue(expires_at, control.preview_generation)
    print(link(base, config.admin_prefix, token))
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(expires_at)))
    print(f"valid until {until}; revoke with: preview-link --revoke-all", file=sys.stderr)
    return 0


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--for",
        dest="duration",
        type=_duration,
        default=None,
        metavar="DURATION",
        help="how long the link works (90s, 30m, 2h; default 2h), at most settings.max_override "
        "(default 24h)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="the origin customers reach the portal at (https://portal.example.com); "
        "default: http:// and the config's listen address",
    )
    parser.add_argument(
        "--revoke-all",
        action="store_true",
        help="invalidate every preview link issued so far (the gateways notice within one "
        "settings.ttl) instead of printing one",
    )
