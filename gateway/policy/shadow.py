"""Shadow mode: the enforce-mode decision, turned into an allow that changes nothing.

`customer_portal.mode: shadow` puts the gateway in front of production before it is trusted:
every customer request reaches the upstream as the client sent it, and what enforcing would
have done instead is said in the decision, `reason="would_block"` with `shadowed` naming why
(the portal's cause for a refusal, `stale_session_stripped` for a session enforcing would
have logged out). Both count as `would_block`: either way the customer would not have reached
the upstream as who they are.

Only the portal's own refusals are translated: a refusal that has a cause (customer routes
while the portal is off). No route (404), a malformed request (400), a loop (508) are refused
as in enforce mode; shadow is about the portal switch only.

The session stamp keeps being issued and bound (Gate.respond binds in shadow mode even across
a disable), and the gateway's own stamp cookie is still kept from the upstream, which never
saw it before the gateway was in front either.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from gateway.policy import preview
from gateway.policy.decision import Allow, Decision, Deny
from gateway.policy.facts import GateState, RequestFacts
from gateway.wire import cookies

if TYPE_CHECKING:
    from gateway.policy.gate import Gate

WOULD_BLOCK = "would_block"
STALE = "stale_session_stripped"


def translate(gate: Gate, decision: Decision, facts: RequestFacts, state: GateState) -> Decision:
    """`decision` (enforce mode's) as shadow mode answers it."""
    if isinstance(decision, Deny):
        if decision.cause is None or decision.route is None:
            # SECURITY: only the portal's own refusals (a customer route while it is off) turn
            # into allows; 404, 400, 421, 405, a loop and the reserved prefix still refuse.
            return decision
        # The request as enforcing would forward it were the portal on: its route, target and
        # stamp plan (sessions bound as they would be), then untouched.
        replay = gate.enforce(facts, replace(state, enabled=True))
        if not isinstance(replay, Allow):
            # SECURITY: cannot happen (the same request classified a moment ago); refuse.
            return decision
        return untouched(gate, replay, facts, decision.cause)
    if decision.route.portal != "customer":
        return decision  # office and public pass untouched in enforce mode too
    return untouched(gate, decision, facts, STALE if decision.reason == STALE else None)


def untouched(gate: Gate, allow: Allow, facts: RequestFacts, shadowed: str | None) -> Allow:
    """`allow` with every edit for the upstream undone but the stamp's own cookie."""
    stamp_name = gate.portal.stamp_cookie
    carried = {name for name, _ in cookies.parse(facts.cookie_lines)}
    # The gateway's own cookies (its stamp, a staff preview) never reach the upstream.
    withheld = tuple(n for n in (stamp_name, preview.COOKIE) if n in carried)
    plan = allow.stamp
    if plan is not None:
        # Nothing is expired in the browser; the plan still binds and re-issues the stamp.
        plan = replace(plan, stale=(), shared_stale=(), gone=())
    return Allow(
        route=allow.route,
        target=allow.target,
        host_header=allow.host_header,
        reason=WOULD_BLOCK if shadowed is not None else allow.reason,
        upstream_cookie=cookies.without(facts.cookie_lines, withheld) if withheld else None,
        cookie_edited=bool(withheld),
        # Forward-auth's stamp (the proxy copies it to the answer); never an expiry.
        set_cookies=tuple(
            line for line in allow.set_cookies if line.partition("=")[0].strip() == stamp_name
        ),
        withheld=withheld,
        stamp=plan,
        shadowed=shadowed,
    )
