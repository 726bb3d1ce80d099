# Sourced by .ci/run: start the real servers the server tests need, on loopback only, and stop
# them on exit. Sets HNET_TEST_POSTGRES_URL and HNET_TEST_RAY_ADDRESS.

ci_tmp="$(mktemp -d /tmp/hnet-ci-XXXXXX)"
chmod 755 "$ci_tmp"

start_postgres() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ]; then
    echo "ci: installing PostgreSQL (Debian package)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  local data="$ci_tmp/pg" port=55432
  mkdir -p "$data" && chown postgres "$data"
  su postgres -c "$bin/initdb -D $data -A trust -U postgres" >/dev/null
  su postgres -c "$bin/pg_ctl -D $data -l $data/log -w start -o '-p $port -k $ci_tmp -c listen_addresses=127.0.0.1'" >/dev/null
  su postgres -c "psql -h 127.0.0.1 -p $port -U postgres -c \"CREATE DATABASE hnet\"" >/dev/null
  export HNET_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/hnet"
  stop_postgres() { su postgres -c "$bin/pg_ctl -D $data -m fast stop" >/dev/null 2>&1 || true; }
}

start_ray_cluster() {
  local ray=".venv/bin/ray" port=6390
  export RAY_TMPDIR="$ci_tmp/ray"
  mkdir -p "$RAY_TMPDIR"
  "$ray" start --head --node-ip-address 127.0.0.1 --port "$port" --num-cpus 1 \
    --include-dashboard false --disable-usage-stats >/dev/null
  "$ray" start --address "127.0.0.1:$port" --node-ip-address 127.0.0.1 --num-cpus 1 \
    --disable-usage-stats >/dev/null
  export HNET_TEST_RAY_ADDRESS="127.0.0.1:$port"
  stop_ray_cluster() { "$ray" stop --force >/dev/null 2>&1 || true; }
}

stop_servers() {
  declare -F stop_ray_cluster >/dev/null && stop_ray_cluster
  declare -F stop_postgres >/dev/null && stop_postgres
  rm -rf "$ci_tmp"
}
