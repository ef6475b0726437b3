"""Every config error class, with its exact message and line."""

from __future__ import annotations

import copy
import re
import textwrap
from typing import Any

import pytest

from gateway.config import (
    UNAVAILABLE_MESSAGE,
    ConfigError,
    config_from_text,
    load_config,
    parse_config,
)
from gateway.settings import SOURCES
from tests.conftest import (
    DEFAULT_ROUTES,
    ENABLED_STORE,
    config_data,
    config_yaml,
)

URL = "http://127.0.0.1:8081"


def text_of(**overrides: Any) -> str:
    """The test config with `overrides` merged in (None removes a key), as YAML text."""
    return config_yaml(config_data(URL, **overrides))


def settings(**changes: Any) -> dict[str, Any]:
    """The default settings section with `changes` (None removes a key)."""
    base: dict[str, Any] = {"source": ENABLED_STORE, "field": "enabled", "ttl": 2, **changes}
    return {k: v for k, v in base.items() if v is not None}


def routes(index: int, **changes: Any) -> list[dict[str, Any]]:
    """The default routes with `changes` to the one at `index`."""
    out = copy.deepcopy(DEFAULT_ROUTES)
    out[index].update(changes)
    return out


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


GOOD = text_of()


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_text(textwrap.dedent(text), "cfg.yaml", SOURCES)
    return [str(i) for i in info.value.issues]


def test_the_shipped_example_config_is_valid() -> None:
    config = load_config("config/gateway.yaml", SOURCES)
    assert [r.name for r in config.routes] == ["public", "assets", "office", "customer"]
    assert config.settings.ttl == 2.0
    assert config.settings.timeout == 1.0


def test_good_config_parses_every_section() -> None:
    config = config_from_text(GOOD, "cfg.yaml", SOURCES)
    assert config.upstreams["portal"].url == "http://127.0.0.1:8081"
    assert config.routes[0].segments == (("public",),)
    assert config.routes[2].segments == ((),)
    assert config.customer_portal.retry_after == 120
    assert (
        "Our Customer Portal is currently unavailable." in config.customer_portal.unavailable_html
    )


def test_unknown_key_has_a_did_you_mean_on_its_line() -> None:
    text = text_of(settings=settings(ttl=None, timout=2))
    line = line_of(text, "timout:")
    assert errors_of(text) == [
        f"cfg.yaml:{line}: settings.timout: unknown key (did you mean 'timeout'?)"
    ]


def test_every_error_in_the_file_is_reported_not_just_the_first() -> None:
    text = text_of(
        settings=settings(ttl="soon"),
        customer_portal={"retry_after": -1},
        routes=routes(1, portal="staff"),
    )
    found = errors_of(text)
    assert len(found) == 3
    assert any(
        re.match(
            r"^cfg\.yaml:\d+: settings\.ttl: expected seconds \(2, \"2s\", \"500ms\"\), got 'soon'$",
            e,
        )
        for e in found
    )
    assert any(
        re.match(
            r"^cfg\.yaml:\d+: customer_portal\.retry_after: expected whole seconds, got -1$", e
        )
        for e in found
    )
    assert any(
        re.match(
            r"^cfg\.yaml:\d+: routes\[1\]\.portal: expected customer \| office \| public, got 'staff'$",
            e,
        )
        for e in found
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"listen": "nowhere"},
            r"listen: expected host:port \(127\.0\.0\.1:8080\), a port \(8080\), got 'nowhere'$",
        ),
        (
            {"upstreams": {"portal": "ftp://x"}},
            r"upstreams\.portal: expected an http:// or https:// URL, got 'ftp://x'$",
        ),
        (
            {"upstreams": {"portal": "http://h:1/base"}},
            r"upstreams\.portal: must be an origin \(scheme://host:port\); paths are forwarded unchanged$",
        ),
        (
            {"settings": settings(source="gopher://x")},
            r"settings\.source: unsupported scheme 'gopher'; expected one of http, https, file, sqlite, postgresql, mysql, redis$",
        ),
        (
            {"settings": settings(source="memory://")},
            r"settings\.source: unsupported scheme 'memory'; expected one of http, https, file, sqlite, postgresql, mysql, redis$",
        ),
        (
            {"settings": settings(source="http://x/s", field=None)},
            r"settings\.field: required for http:// sources \(e\.g\. enabled\)$",
        ),
        (
            {"settings": settings(source="postgresql://db/x", field=None)},
            r"settings\.query: required for postgresql:// sources$",
        ),
        (
            {"settings": settings(on_error="maybe")},
            r"settings\.on_error: expected last-known \| enabled \| disabled, got 'maybe'$",
        ),
        (
            {"settings": settings(ttl=0)},
            r"settings\.ttl: expected seconds \(2, \"2s\", \"500ms\"\), got 0$",
        ),
        (
            {"routes": routes(1, upstream="portl")},
            r"routes\[1\]\.upstream: unknown upstream 'portl' \(did you mean 'portal'\?\)$",
        ),
        (
            {"routes": routes(0, paths=["public"])},
            r"routes\[0\]\.paths\[0\]: request target must start with '/', got 'public'$",
        ),
        (
            {"routes": routes(0, paths=["/a/../b"])},
            r"routes\[0\]\.paths\[0\]: dot segment in path, got '/a/\.\./b'$",
        ),
        (
            {"routes": routes(0, paths=["/_gateway/x"])},
            r"routes\[0\]\.paths: '/_gateway/x' is reserved for the gateway \(/_gateway\)$",
        ),
        (
            {"routes": routes(0, hosts=["bad host"])},
            r"routes\[0\]\.hosts\[0\]: expected a host name or \*\.domain, got 'bad host'$",
        ),
        (
            {"routes": routes(0, methods=["get"])},
            r"routes\[0\]\.methods\[0\]: expected an upper-case method, got 'get'$",
        ),
        (
            {"customer_portal": {"retry_after": "soon"}},
            r"customer_portal\.retry_after: expected whole seconds, got 'soon'$",
        ),
        (
            {"customer_portal": {"unavailable_page": "/nonexistent/page.html"}},
            r"customer_portal\.unavailable_page: file not found: /nonexistent/page\.html$",
        ),
        (
            {"log_format": "xml"},
            r"log_format: expected json \| text, got 'xml'$",
        ),
        (
            {"log_query": "yes"},
            r"log_query: expected true or false, got 'yes'$",
        ),
        (
            {"customer_portal": {"session_key": "short"}},
            r"customer_portal\.session_key: must be at least 32 characters \(the value is not shown\)$",
        ),
    ],
)
def test_error_classes(overrides: dict[str, Any], expected: str) -> None:
    found = errors_of(text_of(**overrides))
    assert len(found) == 1, found
    assert re.match(r"^cfg\.yaml:\d+: " + expected, found[0]), found[0]
    assert "short" not in found[0]  # a secret is never echoed


def test_the_access_log_keys_and_their_defaults() -> None:
    default = parse_config(text_of(), "cfg.yaml")
    assert (default.log_format, default.log_query) == (None, False)
    chosen = parse_config(text_of(log_format="text", log_query=True), "cfg.yaml")
    assert (chosen.log_format, chosen.log_query) == ("text", True)


def test_error_lines_point_at_the_offending_value() -> None:
    text = text_of(customer_portal={"retry_after": "soon"})
    line = line_of(text, "retry_after")
    assert errors_of(text)[0].startswith(f"cfg.yaml:{line}: customer_portal.retry_after:")


def test_duplicate_keys_are_errors_not_last_wins() -> None:
    # Data cannot hold a duplicate key: this one case writes the YAML itself.
    text = GOOD + "proxy:\n  read_timeout: 2\n  read_timeout: 3\n"
    line = text.splitlines().index("  read_timeout: 3") + 1
    assert errors_of(text) == [
        f"cfg.yaml:{line}: proxy.read_timeout: duplicate key (first on line {line - 1})"
    ]


def test_page_without_the_sentence_is_a_config_error(tmp_path: object) -> None:
    import pathlib

    assert isinstance(tmp_path, pathlib.Path)
    page = tmp_path / "page.html"
    page.write_text("<h1>Down</h1>")
    found = errors_of(text_of(customer_portal={"unavailable_page": str(page)}))
    assert found[0].endswith(
        "does not contain the required sentence 'Our Customer Portal is currently unavailable. Please check back later.'"
    )


def test_yaml_syntax_error_is_located() -> None:
    found = errors_of(GOOD + "routes: [unclosed\n")
    assert re.match(r"^cfg\.yaml:\d+: \(yaml\): ", found[0])


def test_missing_file_is_a_config_error(tmp_path: object) -> None:
    with pytest.raises(
        ConfigError, match=r"^/nonexistent\.yaml:1: \(file\): No such file or directory$"
    ):
        load_config("/nonexistent.yaml")


def test_durations_and_sizes_accept_units() -> None:
    config = config_from_text(
        text_of(
            settings=settings(ttl="500ms"), proxy={"client_max_size": "512k", "read_timeout": "2m"}
        ),
        "cfg.yaml",
    )
    assert config.settings.ttl == 0.5
    assert config.proxy.client_max_size == 512 * 1024
    assert config.proxy.read_timeout == 120.0


def test_secrets_never_appear_in_repr() -> None:
    config = config_from_text(GOOD, "cfg.yaml", SOURCES)
    assert "k" * 40 not in repr(config)


@pytest.mark.parametrize(
    ("listen", "admin", "why"),
    [
        (
            "127.0.0.1:8080",
            "127.0.0.1:8080",
            "127.0.0.1:8080 is the address of listen (127.0.0.1:8080); the reserved endpoints "
            "need a listener of their own (another port)",
        ),
        (
            "localhost:8080",
            "127.0.0.1:8080",
            "127.0.0.1:8080 is the address of listen (localhost:8080); the reserved endpoints "
            "need a listener of their own (another port)",
        ),
        (
            "[::1]:8080",
            "[0:0::1]:8080",
            "[0:0::1]:8080 is the address of listen ([::1]:8080); the reserved endpoints need "
            "a listener of their own (another port)",
        ),
        (
            "0.0.0.0:8080",
            "127.0.0.1:8080",
            "127.0.0.1:8080 overlaps listen (0.0.0.0:8080): 0.0.0.0 is every address, so both "
            "would take port 8080; use another port",
        ),
        (
            ":8080",
            "10.0.0.5:8080",
            "10.0.0.5:8080 overlaps listen (*:8080): * is every address, so both would take "
            "port 8080; use another port",
        ),
        (
            "127.0.0.1:8080",
            "[::]:8080",
            "[::]:8080 overlaps listen (127.0.0.1:8080): :: is every address, so both would "
            "take port 8080; use another port",
        ),
    ],
)
def test_admin_listen_on_the_listen_address_is_a_config_error(
    listen: str, admin: str, why: str
) -> None:
    text = text_of(listen=listen, admin_listen=admin)
    assert errors_of(text) == [f"cfg.yaml:{line_of(text, 'admin_listen:')}: admin_listen: {why}"]


@pytest.mark.parametrize(
    ("listen", "admin"),
    [
        ("127.0.0.1:8080", "127.0.0.1:8082"),
        ("127.0.0.1:8080", "10.0.0.5:8080"),  # two addresses, one port each
        ("127.0.0.1:8080", "127.0.0.2:8080"),
        ("127.0.0.1:8080", "[::1]:8080"),  # localhost would be both
        ("127.0.0.1:0", "127.0.0.1:0"),  # two free ports, picked at bind time
    ],
)
def test_admin_listen_beside_listen(listen: str, admin: str) -> None:
    config = config_from_text(text_of(listen=listen, admin_listen=admin), "cfg.yaml", SOURCES)
    host, _, port = admin.rpartition(":")
    assert config.admin_listen == (host.strip("[]"), int(port))


def test_a_bad_listen_is_reported_alone_not_as_a_clash() -> None:
    text = text_of(listen="nowhere", admin_listen="127.0.0.1:8080")
    assert errors_of(text) == [
        "cfg.yaml:1: listen: expected host:port (127.0.0.1:8080), a port (8080), got 'nowhere'"
    ]


FORGETS = (
    "a restart forgets the last disable, so sessions from before a disable that happened "
    "before the restart would be resumed"
)


@pytest.mark.parametrize(
    ("section", "warning"),
    [
        (
            {"source": "http://s/x", "field": "enabled"},
            f"neither settings.changed_at_field nor settings.state_file is set: {FORGETS}",
        ),
        (
            {"source": "file:///srv/s.json", "field": "enabled"},
            f"neither settings.changed_at_field nor settings.state_file is set: {FORGETS}",
        ),
        (
            {"source": "sqlite:///s.db", "query": "SELECT enabled FROM s WHERE id = 1"},
            "the query returns no change time (a second column) and settings.state_file is "
            f"not set: {FORGETS}",
        ),
        (
            {"source": "sqlite:///s.db", "query": "select coalesce(a, 'x,y') from s"},
            "the query returns no change time (a second column) and settings.state_file is "
            f"not set: {FORGETS}",
        ),
        ({"source": "http://s/x", "field": "enabled", "changed_at_field": "at"}, None),
        (
            {"source": "http://s/x", "field": "enabled", "state_file": "/var/lib/pg/state.json"},
            None,
        ),
        ({"source": "sqlite:///s.db", "query": "SELECT enabled, changed_at FROM s"}, None),
        ({"source": "sqlite:///s.db", "query": "SELECT * FROM s"}, None),  # cannot tell
        ({"source": "redis://cache/0", "key": "k"}, None),  # the poller tells, at its first read
    ],
)
def test_a_config_that_forgets_the_last_disable_on_restart_warns(
    section: dict[str, Any], warning: str | None
) -> None:
    text = text_of(settings={**section, "ttl": 2})
    config = config_from_text(text, "cfg.yaml", SOURCES)
    line = text.splitlines().index("settings:") + 1
    expected = [] if warning is None else [f"cfg.yaml:{line}: settings: warning: {warning}"]
    # (the test routes' office and customer routes share every host: routes warn on their own)
    assert [str(w) for w in config.warnings if w.key == "settings"] == expected


# -- parse_config itself is pure: the page, the environment and the stores come as arguments --


class Given:
    """Resources from the test, so nothing is read from disk or the environment."""

    def __init__(self, pages: dict[str | None, str], environ: dict[str, str]) -> None:
        self.pages, self.environ, self.asked = pages, environ, list[str | None]()

    def page(self, path: str | None) -> str | None:
        self.asked.append(path)
        if path not in self.pages:
            raise FileNotFoundError(path)
        return self.pages[path]

    def env(self, name: str) -> str | None:
        return self.environ.get(name)


def test_parse_config_alone_reads_no_page_and_no_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORTAL_GATEWAY_SESSION_KEY", "e" * 40)
    text = text_of(
        customer_portal={"unavailable_page": "/nonexistent/page.html", "session_key": None}
    )
    config = parse_config(text, "cfg.yaml")
    assert config.customer_portal.unavailable_page == "/nonexistent/page.html"
    assert config.customer_portal.unavailable_html == ""
    assert config.customer_portal.session_key is None


def test_parse_config_takes_the_page_and_the_key_from_its_resources() -> None:
    html = f"<p>{UNAVAILABLE_MESSAGE}</p>"
    given = Given({"/srv/page.html": html}, {"PORTAL_GATEWAY_SESSION_KEY": "e" * 40})
    text = text_of(customer_portal={"unavailable_page": "/srv/page.html", "session_key": None})
    config = parse_config(text, "cfg.yaml", given)
    assert given.asked == ["/srv/page.html"]
    assert config.customer_portal.unavailable_html == html
    assert config.customer_portal.session_key == b"e" * 40
    # Without the key, the packaged page is asked for (None).
    packaged = Given({None: html}, {})
    no_page = text_of(customer_portal={"unavailable_page": None, "session_key": None})
    parse_config(no_page, "c.yaml", packaged)
    assert packaged.asked == [None]


# A file store with its `field` misspelt and another store's `query` beside it.
MISSPELT = {"source": ENABLED_STORE, "feild": "enabled", "query": "SELECT 1", "ttl": 2}


def test_without_the_registry_a_stores_own_keys_are_kept_not_judged() -> None:
    text = text_of(settings=MISSPELT)
    kept = parse_config(text, "cfg.yaml").settings
    assert dict(kept.options) == {"feild": "enabled", "query": "SELECT 1"}
    line = text.splitlines().index("  feild: enabled") + 1
    assert kept.line("feild") == line
    assert kept.line("source") == line - 1
    assert kept.line(kept.HEADER) == text.splitlines().index("settings:") + 1
    # Given the registry, the same text is judged in the same report as everything else.
    text = text_of(
        settings=MISSPELT,
        customer_portal={"retry_after": "x"},
    )
    retry = next(i for i, ln in enumerate(text.splitlines(), 1) if "retry_after" in ln)
    assert errors_of(text) == [
        f"cfg.yaml:{line - 1}: settings.field: required for file:// sources (e.g. enabled)",
        f"cfg.yaml:{line}: settings.feild: unknown key (did you mean 'field'?)",
        f"cfg.yaml:{line + 1}: settings.query: only used by sqlite/postgresql/mysql sources",
        f"cfg.yaml:{retry}: customer_portal.retry_after: expected whole seconds, got 'x'",
    ]


def test_the_digest_is_the_sha256_of_the_config_text(tmp_path: Any) -> None:
    import hashlib

    path = tmp_path / "gateway.yaml"
    path.write_text(GOOD, encoding="utf-8")
    config = load_config(path, SOURCES)
    assert config.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert config_from_text(GOOD, "other.yaml", SOURCES).digest == config.digest
    # One byte more (a comment) is another file: replicas running it can be told apart.
    assert config_from_text(GOOD + "# x\n", "cfg.yaml", SOURCES).digest != config.digest
    assert config.digest not in repr(config)  # derived, never a YAML key; not shown


# -- listeners: a bare port is every interface; the admin listener's default, none, public --


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        (8080, "", 8080),  # every interface, IPv4 and IPv6
        ("8080", "", 8080),
        (":8080", "", 8080),
        ("*:8080", "", 8080),
        ("0.0.0.0:8080", "0.0.0.0", 8080),  # IPv4 only, as written
        ("[::]:8080", "::", 8080),
        ("[::1]:9000", "::1", 9000),
        ("localhost:8080", "localhost", 8080),
    ],
)
def test_listen_forms(listen: object, host: str, port: int) -> None:
    config = config_from_text(text_of(listen=listen), "cfg.yaml", SOURCES)
    assert (config.listen_host, config.listen_port) == (host, port)


@pytest.mark.parametrize("listen", ["8080x", 70000, "70000", True, -1, "[::1]8080", None])
def test_a_listen_that_is_no_address_is_an_error(listen: object) -> None:
    text = text_of(listen=listen) if listen is not None else text_of(listen=None) + "listen:\n"
    line = text.splitlines().index(next(ln for ln in text.splitlines() if ln.startswith("listen:")))
    assert errors_of(text) == [
        f"cfg.yaml:{line + 1}: listen: expected host:port (127.0.0.1:8080), "
        f"a port (8080), got {listen!r}"
    ]


def test_the_admin_listener_defaults_to_a_loopback_port_and_none_turns_it_off() -> None:
    default = config_from_text(text_of(admin_listen=None), "cfg.yaml", SOURCES)
    assert (default.admin_listen, default.admin_public) == (("127.0.0.1", 8082), False)
    for off in ("none", "None", "NONE"):
        config = config_from_text(text_of(admin_listen=off), "cfg.yaml", SOURCES)
        assert config.admin_listen is None
    bare = config_from_text(text_of(admin_listen=9100), "cfg.yaml", SOURCES)
    assert bare.admin_listen == ("", 9100)


def test_an_empty_admin_listen_is_an_error_that_names_none() -> None:
    text = text_of(admin_listen=None) + "admin_listen:\n"
    assert errors_of(text) == [
        f"cfg.yaml:{line_of(text, 'admin_listen:')}: admin_listen: expected host:port "
        "(127.0.0.1:8082), a port (8080), or none, got None"
    ]


@pytest.mark.parametrize("listen", ["127.0.0.1:8082", "8082", "0.0.0.0:8082", "localhost:8082"])
def test_listen_on_the_admin_listeners_default_port_is_an_error_at_listen(listen: str) -> None:
    text = text_of(listen=listen, admin_listen=None)
    shown = "*:8082" if listen == "8082" else listen
    assert errors_of(text) == [
        f"cfg.yaml:{line_of(text, 'listen:')}: listen: {shown} takes the admin listener's "
        "default address (127.0.0.1:8082); set admin_listen to another host:port, or to none"
    ]
    # Either fix is enough.
    for admin in ("none", "127.0.0.1:8083"):
        config_from_text(text_of(listen=listen, admin_listen=admin), "cfg.yaml", SOURCES)


ADMIN_PUBLIC = (
    "admin_public: warning: metrics, state and decision also answer on the public listener, "
    "to anyone who reaches it; serve them on admin_listen only unless something in front "
    "filters the reserved prefix"
)


def test_admin_public_warns_and_is_off_by_default() -> None:
    text = text_of(admin_public=True)
    config = config_from_text(text, "cfg.yaml", SOURCES)
    assert config.admin_public is True
    assert [str(w) for w in config.warnings if w.key == "admin_public"] == [
        f"cfg.yaml:{line_of(text, 'admin_public:')}: {ADMIN_PUBLIC}"
    ]
    quiet = config_from_text(text_of(admin_public=False), "cfg.yaml", SOURCES)
    assert [w for w in quiet.warnings if w.key == "admin_public"] == []
    text = text_of(admin_public="yes")
    assert errors_of(text) == [
        f"cfg.yaml:{line_of(text, 'admin_public:')}: admin_public: expected true or false, "
        "got 'yes'"
    ]
