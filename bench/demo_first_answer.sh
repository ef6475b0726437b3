#!/usr/bin/env bash
# How long a newcomer waits: seconds from `make demo` in a fresh clone (a new venv, no pip
# cache) to the first HTTP answer on 127.0.0.1:8080. Clones the committed HEAD of this
# repository into a temporary directory; needs git, make, curl and the package index.
#
#   bench/demo_first_answer.sh        prints e.g. "first answer after 31.4 s"
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
url=http://127.0.0.1:8080/
limit=${DEMO_BENCH_LIMIT:-300}

for tool in git make curl setsid; do
    command -v "$tool" >/dev/null || { echo "demo_first_answer: needs $tool" >&2; exit 2; }
done
if curl -s -o /dev/null "$url"; then
    echo "demo_first_answer: something already answers on $url; stop it first" >&2
    exit 2
fi

work=$(mktemp -d)
demo=
cleanup() {
    if [ -n "$demo" ] && kill -0 "$demo" 2>/dev/null; then
        # Ctrl-C, as a user would: the demo stops the gateway and the portal it started.
        kill -INT -- "-$demo" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$demo" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$demo" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
start=$(date +%s.%N)
# setsid: the demo and everything it starts form one process group, stopped together.
PIP_NO_CACHE_DIR=1 setsid make demo >"$work/demo.log" 2>&1 &
demo=$!
until curl -s -o /dev/null "$url"; do
    if ! kill -0 "$demo" 2>/dev/null; then
        echo "demo_first_answer: make demo exited before answering:" >&2
        cat "$work/demo.log" >&2
        exit 1
    fi
    if awk -v s="$start" -v now="$(date +%s.%N)" -v l="$limit" 'BEGIN { exit !(now - s > l) }'; then
        echo "demo_first_answer: no answer within ${limit}s" >&2
        exit 1
    fi
    sleep 0.2
done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "first answer after %.1f s\n", e - s }'
