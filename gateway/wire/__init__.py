"""Pure canonical forms the gate rests on: paths, hosts, headers, cookies, secrets. No aiohttp."""
