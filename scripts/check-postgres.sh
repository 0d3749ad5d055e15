#!/usr/bin/env bash
# Is the team database reachable? In CI (CI=true) a missing PostgreSQL fails the build.
quiet=${1:-}
host=${WINBACK_PG_HOST:-127.0.0.1}
if python3 - "$host" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection((sys.argv[1], 5432), timeout=3)
s.close()
PY
then
  [ "$quiet" = "--quiet" ] || echo "PostgreSQL: reachable on $host:5432"
  exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is not reachable on $host:5432 and CI=true: failing." >&2
  exit 1
fi
[ "$quiet" = "--quiet" ] || echo "WARNING: PostgreSQL not reachable on $host:5432: the PostgreSQL test run is NOT executed." >&2
exit 1
