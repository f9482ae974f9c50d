#!/usr/bin/env bash
# Throwaway PostgreSQL for the test suite: `postgres.sh start DIR` / `postgres.sh stop DIR`.
#
# start: installs postgresql-15 from Debian when no server binaries are found (as root), creates
# a cluster in DIR with initdb, starts it on 127.0.0.1 on a free port and writes the connection
# URL to DIR/url. initdb and the server refuse to run as root, so as root they run as the
# 'postgres' user (created by Debian's package) via runuser.
set -euo pipefail
action="$1"; dir="$2"

find_bindir() {
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ] && { pg_config --bindir; return 0; }
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
start)
  if ! bindir=$(find_bindir); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing postgresql-15 from Debian ..." >&2
      mkdir -p /etc/postgresql-common
      # Only our throwaway cluster: do not create and start Debian's default one.
      grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf \
        || echo "create_main_cluster = false" >> /etc/postgresql-common/createcluster.conf
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
      bindir=$(find_bindir)
    else
      echo "error: PostgreSQL server binaries not found; install postgresql-15 (apt-get install postgresql-15)" >&2
      exit 3
    fi
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
    chown postgres "$dir"
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_owner "$bindir/initdb" -D "$dir/data" -U lakevault --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "postgresql+psycopg://lakevault@127.0.0.1:$port/postgres" > "$dir/url"
  echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') started on 127.0.0.1:$port" >&2
  ;;
stop)
  if [ -d "$dir/data" ] && bindir=$(find_bindir); then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: postgres.sh start|stop DIR" >&2; exit 2 ;;
esac
