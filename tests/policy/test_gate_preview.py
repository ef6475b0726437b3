"""The gate's response phase for exchanges let in while disabled (preview links, staff networks).

A previewer must be able to log in while customers cannot; that login must never let a browser
without the preview cookie in while disabled, and must end with the disable.
"""

from __future__ import annotations

from gateway.policy import Allow, Deny, Gate, GateState, RequestFacts
from tests.conftest import SESSION_KEY
from tests.policy.cases import DISABLED_AT, NOW, STAFF_IP, preview_value, table_config

GATE = Gate(table_config(), SESSION_KEY.encode())
DISABLED = GateState(False, DISABLED_AT)
LOGIN = "portal_session=new; Path=/; HttpOnly"


def facts(cookie: str, at: float = NOW, client: str = "192.0.2.44") -> RequestFacts:
    return RequestFacts(
        method="POST",
        target="/login",
        host_lines=("portal.example.com",),
        cookie_lines=(cookie,) if cookie else (),
        accept="",
        client_ip=client,
        secure=False,
        started_at=at,
    )


def login(cookie: str, client: str = "192.0.2.44") -> tuple[list[str], list[str], str]:
    """Log in while disabled: (kept, added, the stamp cookie the browser now holds)."""
    decision = GATE.decide(facts(cookie, client=client), DISABLED)
    assert isinstance(decision, Allow) and decision.stamp is not None
    keep, added = GATE.respond(decision.stamp, [LOGIN], DISABLED, NOW + 1)
    (stamp_line,) = [a for a in added if a.startswith("portal_gateway_stamp=")]
    return keep, added, stamp_line.split(";", 1)[0].split("=", 1)[1]


def test_a_previewer_can_log_in_while_disabled() -> None:
    keep, added, _ = login(f"portal_gateway_preview={preview_value('valid')}")
    assert keep == [LOGIN]  # not expired, as an ordinary answer relayed while disabled is
    assert not any(a.startswith("portal_session=") for a in added)


def test_the_previewers_session_passes_with_the_preview_cookie_only() -> None:
    token = preview_value("valid")
    _, _, stamp = login(f"portal_gateway_preview={token}")
    session = f"portal_session=new; portal_gateway_stamp={stamp}"
    again = GATE.decide(facts(f"{session}; portal_gateway_preview={token}", NOW + 5), DISABLED)
    assert isinstance(again, Allow) and again.reason == "preview"
    assert "portal_session" not in again.withheld  # still logged in during the preview
    # SECURITY: the same session and stamp in a browser without the preview cookie: refused,
    # and logged out.
    copied = GATE.decide(facts(session, NOW + 5), DISABLED)
    assert isinstance(copied, Deny) and copied.status == 503
    assert any(c.startswith("portal_session=;") for c in copied.set_cookies)


def test_a_preview_login_ends_with_the_disable() -> None:
    token = preview_value("valid")
    _, _, stamp = login(f"portal_gateway_preview={token}")
    re_enabled = GateState(True, NOW + 60)  # the disable ended after the login
    after = GATE.decide(
        facts(f"portal_session=new; portal_gateway_stamp={stamp}", NOW + 90), re_enabled
    )
    assert isinstance(after, Allow) and after.reason == "stale_session_stripped"
    assert "portal_session" in after.withheld


def test_a_staff_network_login_ends_with_the_disable_too() -> None:
    keep, _, stamp = login("", client=STAFF_IP)
    assert keep == [LOGIN]
    re_enabled = GateState(True, NOW + 60)
    after = GATE.decide(
        facts(f"portal_session=new; portal_gateway_stamp={stamp}", NOW + 90), re_enabled
    )
    assert isinstance(after, Allow) and after.reason == "stale_session_stripped"


def test_an_ordinary_answer_relayed_while_disabled_still_loses_its_login() -> None:
    decision = GATE.decide(facts(""), GateState(True, None))
    assert isinstance(decision, Allow) and decision.stamp is not None
    keep, added = GATE.respond(decision.stamp, [LOGIN], DISABLED, NOW + 1)
    assert keep == []
    assert any(a.startswith("portal_session=;") for a in added)


def test_a_dead_preview_cookie_is_removed_on_the_answer_too() -> None:
    decision = GATE.decide(
        facts(f"portal_gateway_preview={preview_value('expired')}"), GateState(True, None)
    )
    assert isinstance(decision, Allow) and decision.stamp is not None
    _, added = GATE.respond(decision.stamp, [], GateState(True, None), NOW + 1)
    assert any(a.startswith("portal_gateway_preview=;") and "Max-Age=0" in a for a in added)
