"""HTML or JSON: which form of an answer the client prefers, from its Accept header."""

from __future__ import annotations

from functools import lru_cache

# A process sees few distinct Accept headers (one per browser and client library); the bound
# keeps a client that sends a new one each time from growing the cache.
CACHE_SIZE = 512


@lru_cache(maxsize=CACHE_SIZE)
def wants_json(accept: str) -> bool:
    """True when the client prefers JSON to HTML (Accept q-values honoured, HTML wins ties)."""
    best_json = best_html = -1.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media == "application/json" or media.endswith("+json"):
            best_json = max(best_json, q)
        elif media in ("text/html", "application/xhtml+xml", "text/*", "*/*"):
            best_html = max(best_html, q)
    return best_json > 0 and best_json > best_html
