"""What every front end (edge, admin, plugin) shares on the aiohttp side, below all three.

The policy's pages are values (gateway.policy.pages); `pages.page_response` is the one place
they become aiohttp responses. `background.Endings` runs the endings a disable starts (a
WebSocket's close handshake) and waits for them at shutdown.
"""
