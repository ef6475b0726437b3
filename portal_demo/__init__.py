"""A small enrollment portal (Customer Portal under /, Office Portal under /office/) that stands
behind the gateway in `make demo` and in the browser tests. It knows nothing of the gateway."""
