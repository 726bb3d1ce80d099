# Sourced by .ci/run: start the real servers the server tests need, on loopback only, and stop
# them on exit. Sets HNET_TEST_POSTGRES_URL and HNET_TEST_RAY_ADDRESS.

ci_tmp="$(mktemp -d /tmp/hnet-ci-XXXXXX)"
chmod 755 "$ci_tmp"

start_postgres() {
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$pg_bin" ]; then
    echo "ci: installing PostgreSQL (Debian package)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  pg_data="$ci_tmp/pg"
  local port=55432
  mkdir -p "$pg_data" && chown postgres "$pg_data"
  su postgres -c "$pg_bin/initdb -D $pg_data -A trust -U postgres" >/dev/null
  if ! su postgres -c "$pg_bin/pg_ctl -D $pg_data -l $pg_data/server.log -w start \
      -o '-p $port -k $pg_data -c listen_addresses=127.0.0.1'" >/dev/null; then
    cat "$pg_data/server.log"; return 1
  fi
  su postgres -c "psql -h 127.0.0.1 -p $port -U postgres -c 'CREATE DATABASE hnet'" >/dev/null
  export HNET_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/hnet"
  # A role with a password, in the URL as a user would give it; tests check it is never shown.
  local secret="ci-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  su postgres -c "psql -h 127.0.0.1 -p $port -U postgres -c \"CREATE ROLE hnet_user LOGIN PASSWORD '$secret'\"" >/dev/null
  su postgres -c "psql -h 127.0.0.1 -p $port -U postgres -c 'CREATE DATABASE hnet_user OWNER hnet_user'" >/dev/null
  export HNET_TEST_POSTGRES_PASSWORD_URL="postgresql+psycopg://hnet_user:$secret@127.0.0.1:$port/hnet_user"
  stop_postgres() { su postgres -c "$pg_bin/pg_ctl -D $pg_data -m fast stop" >/dev/null 2>&1 || true; }
}

start_ray_cluster() {
  local port=6390
  ray_bin="$PWD/.venv/bin/ray"
  export RAY_TMPDIR="$ci_tmp/ray"
  export RAY_AUTH_MODE=token   # both nodes and every driver use ~/.ray/auth_token
  mkdir -p "$RAY_TMPDIR"
  "$ray_bin" get-auth-token --generate >/dev/null
  "$ray_bin" start --head --node-ip-address 127.0.0.1 --port "$port" --num-cpus 1 \
    --include-dashboard false --disable-usage-stats >/dev/null
  "$ray_bin" start --address "127.0.0.1:$port" --node-ip-address 127.0.0.1 --num-cpus 1 \
    --disable-usage-stats >/dev/null
  export HNET_TEST_RAY_ADDRESS="127.0.0.1:$port"
  stop_ray_cluster() { "$ray_bin" stop --force >/dev/null 2>&1 || true; }
}

stop_servers() {
  declare -F stop_ray_cluster >/dev/null && stop_ray_cluster
  declare -F stop_postgres >/dev/null && stop_postgres
  rm -rf "$ci_tmp"
}
