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

# Each `ray start` runs in a session of its own, whose id is noted: stopping the cluster ends
# those sessions' processes (workers included) and no other Ray on the machine (`ray stop
# --force` would end a user's own cluster too).
ray_sessions=()

start_ray_node() {
  local sid_file="$ci_tmp/ray-node-$(( ${#ray_sessions[@]} + 1 )).sid"
  setsid bash -c 'echo $$ > "$0"; exec "$@" >/dev/null' "$sid_file" "$ray_bin" start "$@"
  ray_sessions+=("$(cat "$sid_file")")
}

start_ray_cluster() {
  local port=6390
  ray_bin="$PWD/.venv/bin/ray"
  export RAY_TMPDIR="$ci_tmp/ray"
  export RAY_AUTH_MODE=token   # both nodes and every driver use ~/.ray/auth_token
  mkdir -p "$RAY_TMPDIR"
  "$ray_bin" get-auth-token --generate >/dev/null
  start_ray_node --head --node-ip-address 127.0.0.1 --port "$port" --num-cpus 1 \
    --include-dashboard false --disable-usage-stats
  start_ray_node --address "127.0.0.1:$port" --node-ip-address 127.0.0.1 --num-cpus 1 \
    --num-gpus 1 --disable-usage-stats   # declares a GPU it does not have: GPU packing tests
  export HNET_TEST_RAY_ADDRESS="127.0.0.1:$port"
  stop_ray_cluster() {
    local sid
    for sid in "${ray_sessions[@]}"; do pkill -TERM -s "$sid" 2>/dev/null || true; done
    sleep 2
    for sid in "${ray_sessions[@]}"; do pkill -KILL -s "$sid" 2>/dev/null || true; done
  }
}

stop_servers() {
  declare -F stop_ray_cluster >/dev/null && stop_ray_cluster
  declare -F stop_postgres >/dev/null && stop_postgres
  rm -rf "$ci_tmp"
}
