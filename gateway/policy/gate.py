"""decide(facts, state) -> Allow | Deny: the one decision both front ends translate.

Built once per config (`Gate(config, key)`); at request time it reads only the facts and the
state it is handed. No I/O, no aiohttp: the proxy handler and `/_gateway/decision` call the same
`decide()`, so whatever one refuses the other refuses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from gateway.config import Config
from gateway.policy import preview, shadow
from gateway.policy.classify import Refused, classify
from gateway.policy.decision import Allow, Decision, Deny
from gateway.policy.facts import GateState, RequestFacts
from gateway.policy.staff import StaffNetworks
from gateway.policy.stamps import Stamp, StampCodec, StampPlan, is_deletion, judge
from gateway.wire import cookies


class Gate:
    """The gate for one config: routes, session cookie names, the stamp key."""

    def __init__(self, config: Config, session_key: bytes) -> None:
        self.config = config
        portal = config.customer_portal
        self.portal = portal
        self.sessions = cookies.SessionCookieMatcher(portal.session_cookies)
        self.shared = cookies.SessionCookieMatcher(portal.shared_session_cookies)
        self.codec = StampCodec(session_key, portal.stamp_cookie)
        self.previews = preview.PreviewCodec(session_key)
        self.staff = StaffNetworks(portal.allow_while_disabled)

    def __repr__(self) -> str:
        return f"Gate(routes={len(self.config.routes)}, stamp={self.portal.stamp_cookie!r})"

    @property
    def shadow(self) -> bool:
        return self.portal.mode == "shadow"

    # -- request phase ---------------------------------------------------------------------
    def decide(self, facts: RequestFacts, state: GateState) -> Decision:
        decision = self.enforce(facts, state)
        if self.shadow:
            # Decided in enforce terms first, so what is counted as would_block is exactly what
            # enforcing would refuse or strip (gateway/policy/shadow.py).
            return shadow.translate(self, decision, facts, state)
        return decision

    def enforce(self, facts: RequestFacts, state: GateState) -> Decision:
        """The decision of enforce mode, whatever `customer_portal.mode` says."""
        if facts.via_loop:
            return Deny(508, "loop", "error", close=facts.has_body)
        try:
            classified = classify(facts, self.config)
        except Refused as exc:
            # A refused request may be the front half of a desync attempt: never reuse.
            return Deny(exc.status, f"refused_{exc.status}", "error", close=True, detail=exc.reason)
        route = classified.route
        allow = Allow(route=route, target=classified.target, host_header=classified.host_header)
        if route.portal != "customer":
            if any(preview.COOKIE in line for line in facts.cookie_lines):
                # SECURITY: the preview cookie is the gateway's own credential: no upstream
                # (office or public either) ever sees it.
                allow = _without_preview(allow, facts.cookie_lines)
            if route.portal != "office" or not self.portal.shared_session_cookies:
                return allow
            # Office requests pass untouched; the answer may bind a shared session it sets.
            return _with_plan(allow, self._plan(Stamp(), False, (), (), facts, "office"))
        pairs = cookies.parse(facts.cookie_lines)
        previewed = self.previews.first_valid(
            [v for n, v in pairs if n == preview.COOKIE], facts.started_at, state.preview_generation
        )
        if not state.enabled:
            # SECURITY: while disabled only the people staff chose pass: a browser holding a
            # valid preview link's cookie, or a client whose real address (resolved through
            # trusted proxies only) is in a staff network. Their sessions are still judged by
            # the stamps, and what they log in to ends with the disable (see respond()).
            if previewed is not None and previewed.valid:
                return self._allow_customer(allow, pairs, facts, state, previewed, "preview")
            if self.staff.holds(facts.client_ip):
                return self._allow_customer(allow, pairs, facts, state, previewed, "allowlisted")
            # SECURITY: logging customers out is part of the answer: every session cookie the
            # browser sent is deleted for each Path/Domain variant it may have been set with.
            # Shared staff/customer cookies are only not forwarded: staff stay logged in.
            expire = self._expiries(n for n, v in pairs if self._is_customer_only(n, v))
            if previewed is not None:  # expired, revoked or tampered: ignored, and removed
                expire += self._preview_expiry()
            return Deny(
                503,
                "customer_disabled",
                "unavailable",
                set_cookies=expire,
                close=facts.has_body,
                route=route,
                cause=state.cause,
            )
        return self._allow_customer(allow, pairs, facts, state, previewed)

    def _preview_expiry(self) -> tuple[str, ...]:
        return tuple(cookies.expiry_lines(preview.COOKIE, ("/",), ()))

    def _is_customer_only(self, name: str, value: str) -> bool:
        # SECURITY: `carries` matches a name as every upstream parser may read it, and finds
        # session pairs hidden in a value for parsers that split on more than ';'.
        return self.sessions.carries(name, value) and not self.shared.carries(name, value)

    def _allow_customer(
        self,
        allow: Allow,
        pairs: list[tuple[str, str]],
        facts: RequestFacts,
        state: GateState,
        previewed: preview.Checked | None,
        admitted: str | None = None,
    ) -> Allow:
        """Forward with stale sessions stripped; `admitted` names why while disabled
        (`preview`, `allowlisted`), None when the portal is enabled."""
        stamp_name = self.portal.stamp_cookie
        stamp = self.codec.load([v for n, v in pairs if n == stamp_name], facts.started_at)
        own = (stamp_name, preview.COOKIE)
        carried = [(n, v) for n, v in pairs if n not in own and self._is_session(n, v)]
        disabled_at = state.last_disabled_at
        stale, changed = judge(self.codec, stamp, carried, disabled_at)
        if facts.front_end == "forward_auth" and (
            stamp.issued_at is None or (disabled_at is not None and stamp.issued_at <= disabled_at)
        ):
            # Forward-auth mode never sees the answer: a stamp issued now, before any session this
            # request may start, is what later tells a new login from an old one.
            stamp.issued_at = facts.started_at
            changed = True
        shared_stale = tuple(n for n in stale if self.shared(n))
        own_stale = tuple(n for n in stale if n not in shared_stale)
        withheld = [*stale, *own]
        if disabled_at is not None:
            # SECURITY: once a disable has been seen, a name that is no RFC 6265 token may be
            # read by the upstream as a session cookie under its own normalisation.
            withheld += [n for n, _ in pairs if not cookies.is_token(n)]
        names = {n for n, _ in pairs}
        withheld_here = tuple(dict.fromkeys(n for n in withheld if n in names))
        # An expired, revoked or tampered preview cookie is removed.
        gone = self._preview_expiry() if previewed is not None and not previewed.valid else ()
        plan = self._plan(stamp, changed, own_stale, shared_stale, facts, "customer", admitted)
        plan = replace(plan, gone=gone)
        # Both front ends expire stale sessions; the proxy lets an answer that sets the same
        # cookie win (see respond()).
        set_cookies = self._expiries(own_stale) + gone
        if facts.front_end == "forward_auth" and changed:
            set_cookies += (self.codec.issue(stamp, facts.started_at, facts.secure, disabled_at),)
        return Allow(
            route=allow.route,
            target=allow.target,
            host_header=allow.host_header,
            reason=admitted or ("stale_session_stripped" if stale else "forwarded"),
            upstream_cookie=cookies.without(facts.cookie_lines, withheld_here)
            if facts.cookie_lines
            else None,
            cookie_edited=bool(facts.cookie_lines),
            set_cookies=set_cookies,
            withheld=withheld_here,
            stamp=plan,
        )

    def _is_session(self, name: str, value: str) -> bool:
        return self.sessions.carries(name, value) or self.shared.carries(name, value)

    def _plan(
        self,
        stamp: Stamp,
        changed: bool,
        stale: tuple[str, ...],
        shared_stale: tuple[str, ...],
        facts: RequestFacts,
        portal: str,
        admitted: str | None = None,
    ) -> StampPlan:
        return StampPlan(
            stamp,
            changed,
            stale,
            shared_stale,
            facts.started_at,
            facts.secure,
            portal,
            admitted_while_disabled=admitted is not None,
        )

    def _expiries(self, names: Iterable[str]) -> tuple[str, ...]:
        lines: list[str] = []
        for name in dict.fromkeys(names):
            lines += cookies.expiry_lines(
                name, self.portal.cookie_paths, self.portal.cookie_domains
            )
        return tuple(lines)

    # -- response phase (proxy) ------------------------------------------------------------
    def respond(
        self, plan: StampPlan, set_cookies: Sequence[str], state: GateState, now: float
    ) -> tuple[list[str], list[str]]:
        """(Set-Cookie lines to keep from the upstream, in order; lines the gateway adds).

        Session cookies an answer sets bind to the request's start time. An answer relayed
        after the switch (a disable now in force, or one since the request began) gets its
        customer session cookies expired instead, and no stamp.
        """
        # Shadow mode expires nothing, and binds what it sees as enforcing would have, so the
        # stamps are right the day enforcing starts (README "Shadow mode").
        # SECURITY: an exchange let in while disabled (a preview link, a staff network) may log
        # in: its session is kept and bound to the request's start, a moment inside the
        # disable. While the disable lasts it passes only with the preview cookie or from the
        # staff network (every other browser is refused before stamps are read); once the
        # portal is re-enabled the disable ends after that moment, so the session is stale
        # (stripped, logged out) like every other session from the disable: preview logins
        # never outlive the preview.
        after_switch = (
            not self.shadow
            and state.straddles_disable(plan.started_at)
            and not plan.admitted_while_disabled
        )
        stamp, changed = plan.stamp, plan.changed
        keep: list[str] = []
        added: list[str] = []
        set_here: set[str] = set()
        for line in set_cookies:
            name, _, value = line.split(";", 1)[0].partition("=")
            name = name.strip()
            shared = self.shared(name)
            if not (shared or (plan.portal == "customer" and self.sessions(name))):
                keep.append(line)
                continue
            set_here.add(name)
            if after_switch and not shared:
                # SECURITY: a login answered after the switch must not outlive it.
                added += self._expiries([name])
                continue
            keep.append(line)
            if after_switch:
                continue
            if is_deletion(line, now):
                changed |= stamp.bound.pop(name, None) is not None
            else:
                digest = self.codec.digest(name, value.strip().strip('"'))
                stamp.bound[name] = {"h": digest, "t": plan.started_at}
                changed = True
        added += self._expiries(n for n in plan.stale if n not in set_here)
        added += plan.gone
        if changed and not after_switch:
            added.append(self.codec.set_cookie(stamp, now, plan.secure))
        return keep, added


def _with_plan(allow: Allow, plan: StampPlan) -> Allow:
    return replace(allow, stamp=plan)


def _without_preview(allow: Allow, cookie_lines: tuple[str, ...]) -> Allow:
    if not any(n == preview.COOKIE for n, _ in cookies.parse(cookie_lines)):
        return allow
    return Allow(
        route=allow.route,
        target=allow.target,
        host_header=allow.host_header,
        upstream_cookie=cookies.without(cookie_lines, (preview.COOKIE,)),
        cookie_edited=True,
        withheld=(preview.COOKIE,),
    )
