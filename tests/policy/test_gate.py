"""decide(facts, state): the behaviour table against the pure core, and what only it can show."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.policy import Allow, Deny, Gate, GateState, RequestFacts
from tests.conftest import SESSION_KEY
from tests.policy.cases import CASES, DISABLED_AT, NOW, Case, outcome, stamp_value, table_config

CONFIG = table_config()
GATE = Gate(CONFIG, SESSION_KEY.encode())
GATES = {
    "enforce": GATE,
    "shadow": Gate(table_config(mode="shadow"), SESSION_KEY.encode()),
}


def facts_of(case: Case, front_end: str = "proxy") -> RequestFacts:
    version = tuple(int(p) for p in case.extra.get("version", "1.1").split("."))
    te = case.extra.get("te")
    return RequestFacts(
        method=case.method,
        target=case.target,
        host_lines=(case.host,),
        cookie_lines=(case.cookie_header(),) if case.cookie_header() else (),
        accept="",
        client_ip=case.client or "203.0.113.7",
        secure=False,
        started_at=NOW,
        front_end="proxy" if front_end == "proxy" else "forward_auth",
        http_version=(version[0], version[1]) if front_end == "proxy" else None,
        transfer_codings=tuple(t.strip() for t in te.split(",")) if te else (),
        has_body=case.method == "POST",
    )


def state_of(case: Case) -> GateState:
    """The state the front ends' table tests reach: a disabled case was disabled at
    DISABLED_AT."""
    disabled_at = case.disabled_at if case.enabled else DISABLED_AT
    return GateState(case.enabled, disabled_at, preview_generation=case.generation)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_behaviour_table(case: Case) -> None:
    state = state_of(case)
    assert outcome(GATES[case.mode].decide(facts_of(case), state)) == (
        case.expect,
        case.reason,
        case.expired,
        case.withheld,
    )


@pytest.mark.parametrize("case", [c for c in CASES if not c.proxy_only], ids=lambda c: c.id)
def test_both_front_ends_reach_the_same_verdict(case: Case) -> None:
    state = state_of(case)
    gate = GATES[case.mode]
    proxy = outcome(gate.decide(facts_of(case, "proxy"), state))
    forward_auth = outcome(gate.decide(facts_of(case, "forward_auth"), state))
    assert proxy == forward_auth


def test_an_unreadable_stamp_counts_as_none() -> None:
    case = Case("x", "GET", "/", "", "", cookie="portal_session=s1; portal_gateway_stamp=junk")
    decision = GATE.decide(facts_of(case), GateState(True, DISABLED_AT))
    assert isinstance(decision, Allow) and decision.reason == "stale_session_stripped"
    assert decision.upstream_cookie is None  # neither the stale session nor the junk stamp


def test_stale_values_stay_stale_after_a_new_login() -> None:
    """An old value kept aside must not come back beside the new login's stamp."""
    old = Case("old", "GET", "/", "", "", cookie="portal_session=old", stamp_issued=DISABLED_AT - 1)
    first = GATE.decide(facts_of(old, "forward_auth"), GateState(True, DISABLED_AT))
    assert isinstance(first, Allow) and first.reason == "stale_session_stripped"
    stamp_line = next(c for c in first.set_cookies if c.startswith("portal_gateway_stamp="))
    new_stamp = stamp_line.split(";", 1)[0].split("=", 1)[1]
    again = RequestFacts(
        method="GET",
        target="/",
        host_lines=("portal.example.com",),
        cookie_lines=(f"portal_session=old; portal_gateway_stamp={new_stamp}",),
        accept="",
        client_ip="203.0.113.7",
        secure=False,
        started_at=NOW + 1,
        front_end="forward_auth",
    )
    decision = GATE.decide(again, GateState(True, DISABLED_AT))
    assert isinstance(decision, Allow) and decision.reason == "stale_session_stripped"


def test_forward_auth_issues_a_stamp_the_proxy_leaves_to_the_answer() -> None:
    case = Case("x", "GET", "/login", "", "")
    proxy = GATE.decide(facts_of(case, "proxy"), GateState(True, None))
    plugin = GATE.decide(facts_of(case, "forward_auth"), GateState(True, None))
    assert isinstance(proxy, Allow) and proxy.set_cookies == ()
    assert isinstance(plugin, Allow)
    assert [c.split("=", 1)[0] for c in plugin.set_cookies] == ["portal_gateway_stamp"]


def test_shared_cookies_are_never_expired() -> None:
    case = Case("x", "GET", "/", "", "", cookie="sessionid=st; portal_session=p")
    decision = GATE.decide(facts_of(case), GateState(False, DISABLED_AT))
    assert isinstance(decision, Deny)
    assert [c.split("=", 1)[0] for c in decision.set_cookies] == ["portal_session"]


def test_answers_after_the_switch_expire_the_sessions_they_set() -> None:
    case = Case("x", "POST", "/login", "", "")
    decision = GATE.decide(facts_of(case), GateState(True, None))
    assert isinstance(decision, Allow) and decision.stamp is not None
    set_cookie = ["portal_session=new; Path=/; HttpOnly", "theme=dark"]
    # Enabled throughout: the session is kept and stamped with the request's start time.
    keep, added = GATE.respond(decision.stamp, set_cookie, GateState(True, None), NOW + 5)
    assert keep == set_cookie and added[0].startswith("portal_gateway_stamp=")
    # Disabled (and re-enabled) while the answer was on its way: expired, no stamp.
    decision = GATE.decide(facts_of(case), GateState(True, None))
    assert isinstance(decision, Allow) and decision.stamp is not None
    keep, added = GATE.respond(decision.stamp, set_cookie, GateState(True, NOW + 1), NOW + 5)
    assert keep == ["theme=dark"]
    assert added and all(a.startswith("portal_session=; Max-Age=0") for a in added)


def test_a_stamp_binds_the_request_start_not_the_answer_time() -> None:
    case = Case("x", "POST", "/login", "", "")
    decision = GATE.decide(facts_of(case), GateState(True, None))
    assert isinstance(decision, Allow) and decision.stamp is not None
    _, added = GATE.respond(decision.stamp, ["portal_session=n"], GateState(True, None), NOW + 50)
    stamp = added[0].split(";", 1)[0].split("=", 1)[1]
    later = Case("y", "GET", "/", "", "", cookie="portal_session=n")
    facts = facts_of(later)
    facts = RequestFacts(
        **{**facts.__dict__, "cookie_lines": (f"portal_session=n; portal_gateway_stamp={stamp}",)}
    )
    # A disable between the request's start and its answer makes the session stale.
    assert GATE.decide(facts, GateState(True, NOW + 10)).reason == "stale_session_stripped"
    assert GATE.decide(facts, GateState(True, NOW - 10)).reason == "forwarded"


def test_the_stamp_hides_the_session_and_the_key() -> None:
    value = stamp_value({"portal_session": ("a-session-value-to-hide", 5.0)})
    assert "a-session-value-to-hide" not in value
    assert SESSION_KEY not in repr(GATE) and SESSION_KEY not in repr(GATE.codec)


def test_cookie_less_forward_auth_decisions_share_a_stamp_minted_after_the_disable() -> None:
    gate = Gate(CONFIG, SESSION_KEY.encode())
    case = Case("x", "GET", "/login", "", "")

    def stamp_at(started_at: float, disabled_at: float) -> str:
        facts = replace(facts_of(case, "forward_auth"), started_at=started_at)
        decision = gate.decide(facts, GateState(True, disabled_at))
        assert isinstance(decision, Allow)
        (line,) = decision.set_cookies
        return line

    first = stamp_at(NOW, DISABLED_AT)
    assert stamp_at(NOW + 0.3, DISABLED_AT) == first
    # A disable seen since: a new stamp, issued after it, so a login answered now stays fresh.
    second = stamp_at(NOW + 0.6, NOW + 0.5)
    assert second != first
    value = second.split(";", 1)[0].split("=", 1)[1]
    login = Case(
        "login",
        "GET",
        "/account",
        "",
        "",
        cookie=f"portal_session=new; portal_gateway_stamp={value}",
    )
    facts = replace(facts_of(login, "forward_auth"), started_at=NOW + 0.9)
    decision = gate.decide(facts, GateState(True, NOW + 0.5))
    assert isinstance(decision, Allow) and decision.reason == "forwarded"
