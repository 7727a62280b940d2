# Source this file: starts a throwaway PostgreSQL server on 127.0.0.1 for the catalog tests and exports
# MREG_TEST_POSTGRES_URL; the server and its data folder go away when the sourcing shell exits.
# Installs Debian's postgresql package first when the server is missing and we are root.

_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

start_test_postgres() {
    local bin data port run_as=()
    bin="$(_pg_bin)"
    if [ -z "$bin" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "Installing PostgreSQL (apt-get install postgresql) for the catalog tests..."
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        bin="$(_pg_bin)"
    fi
    if [ -z "$bin" ]; then
        echo "PostgreSQL is not installed: the PostgreSQL catalog tests will be skipped."
        return 0
    fi
    data="$(mktemp -d /tmp/mreg-pg.XXXXXX)"
    if [ "$(id -u)" = "0" ]; then  # initdb refuses to run as root
        chown postgres "$data"
        run_as=(runuser -u postgres --)
    fi
    port="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "${run_as[@]}" "$bin/initdb" -D "$data" -A trust -U mreg >/dev/null
    "${run_as[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
        -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U mreg mreg_test
    export MREG_TEST_POSTGRES_URL="postgresql+psycopg://mreg@127.0.0.1:$port/mreg_test"
    # shellcheck disable=SC2064  # expand now: the trap must stop this server
    trap "${run_as[*]} '$bin/pg_ctl' -D '$data' -m fast stop >/dev/null 2>&1; rm -rf '$data'" EXIT
}
