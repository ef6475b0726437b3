"""The aiohttp side: the proxy front end, forwarding, WebSockets, live exchanges, the server."""
