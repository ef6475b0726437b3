"""The gate, pure: facts in, one decision out. No aiohttp, no I/O.

`Gate(config, key).decide(facts, state)` is called by the proxy handler and by
`/_gateway/decision` alike; `Gate.respond()` is the response phase the proxy applies to an
upstream answer.
"""

from gateway.policy.classify import Classified, Refused, classify, is_reserved
from gateway.policy.decision import Allow, Decision, Deny
from gateway.policy.facts import FrontEnd, GateState, RequestFacts, gate_state
from gateway.policy.gate import Gate
from gateway.wire.negotiate import wants_json

__all__ = [
    "Allow",
    "Classified",
    "Decision",
    "Deny",
    "FrontEnd",
    "Gate",
    "GateState",
    "Refused",
    "RequestFacts",
    "classify",
    "gate_state",
    "is_reserved",
    "wants_json",
]
