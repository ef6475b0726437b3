"""Shadow mode in the pure core: enforce's decision, forwarded untouched, said would_block.

The behaviour table (tests/policy/cases.py, `mode="shadow"` rows) holds the verdicts through
every front end; these hold what only the pure core shows: the cause carried, the stamp kept
and bound across a disable, the switch to enforce afterwards.
"""

from __future__ import annotations

from dataclasses import replace

from gateway.policy import Allow, Deny, Gate, GateState, RequestFacts
from tests.conftest import SESSION_KEY
from tests.policy.cases import BEFORE, DISABLED_AT, NOW, Case, S, table_config
from tests.policy.test_gate import facts_of

SHADOW = Gate(table_config(mode="shadow"), SESSION_KEY.encode())
ENFORCE = Gate(table_config(), SESSION_KEY.encode())


def test_a_refusal_is_forwarded_with_its_cause_and_cookies_as_sent() -> None:
    case = Case("x", "POST", "/pay", "", "", cookie="portal_session=s1; theme=dark")
    state = GateState(False, DISABLED_AT, cause="override")
    enforced = ENFORCE.decide(facts_of(case), state)
    assert isinstance(enforced, Deny) and enforced.set_cookies
    decision = SHADOW.decide(facts_of(case), state)
    assert isinstance(decision, Allow)
    assert (decision.reason, decision.shadowed) == ("would_block", "override")
    assert decision.route.name == "customer" and decision.target.path == "/pay"
    assert not decision.cookie_edited and decision.set_cookies == ()
    # The upstream gets the client's own Cookie lines: nothing withheld.
    assert decision.withheld == ()


def test_a_stale_session_is_kept_and_said_stale() -> None:
    case = Case("x", "GET", "/", "", "", cookie=S, stamp={"portal_session": ("s1", BEFORE)})
    decision = SHADOW.decide(facts_of(case), GateState(True, DISABLED_AT))
    assert isinstance(decision, Allow)
    assert (decision.reason, decision.shadowed) == ("would_block", "stale_session_stripped")
    # Only the gateway's own stamp is kept from the upstream, as in every mode.
    assert decision.withheld == ("portal_gateway_stamp",)
    assert decision.upstream_cookie == S
    assert decision.stamp is not None and decision.stamp.stale == ()


def test_forward_auth_still_gets_the_stamp_and_no_expiry() -> None:
    case = Case("x", "GET", "/", "", "", cookie=S)
    decision = SHADOW.decide(facts_of(case, "forward_auth"), GateState(False, DISABLED_AT))
    assert isinstance(decision, Allow) and decision.reason == "would_block"
    assert [c.split("=", 1)[0] for c in decision.set_cookies] == ["portal_gateway_stamp"]


def test_refusals_that_are_not_the_portals_stand() -> None:
    loop = replace(facts_of(Case("x", "GET", "/", "", "")), via_loop=True)
    decision = SHADOW.decide(loop, GateState(False, DISABLED_AT))
    assert isinstance(decision, Deny) and decision.reason == "loop"
    refused = SHADOW.decide(facts_of(Case("x", "GET", "/a/../b", "", "")), GateState(False, None))
    assert isinstance(refused, Deny) and refused.reason == "refused_400"


def test_a_login_answered_while_disabled_is_bound_not_expired() -> None:
    """In shadow mode the answer's session is kept; its stamp binds the request's start."""
    case = Case("x", "POST", "/login", "", "")
    off = GateState(False, DISABLED_AT)
    decision = SHADOW.decide(facts_of(case), off)
    assert isinstance(decision, Allow) and decision.stamp is not None
    lines = ["portal_session=new; Path=/; HttpOnly"]
    keep, added = SHADOW.respond(decision.stamp, lines, off, NOW + 1)
    assert keep == lines
    assert [a.split("=", 1)[0] for a in added] == ["portal_gateway_stamp"]
    stamp = added[0].split(";", 1)[0].split("=", 1)[1]
    later = RequestFacts(
        **{
            **facts_of(Case("y", "GET", "/", "", "")).__dict__,
            "cookie_lines": (f"portal_session=new; portal_gateway_stamp={stamp}",),
        }
    )
    # Switched to enforce after the portal came back: a session begun while it was off is
    # what enforcing logs out (it could not have begun under enforce).
    back = GateState(True, NOW + 100)
    assert ENFORCE.decide(later, back).reason == "stale_session_stripped"
    # One begun after the last disable ended is kept by enforce.
    assert ENFORCE.decide(later, GateState(True, NOW - 100)).reason == "forwarded"


def test_office_and_public_pass_as_in_enforce_mode() -> None:
    for target in ("/office/x", "/public/x"):
        case = Case("x", "GET", target, "", "", cookie=S)
        state = GateState(False, DISABLED_AT)
        assert SHADOW.decide(facts_of(case), state) == ENFORCE.decide(facts_of(case), state)
