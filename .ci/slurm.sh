# Sourced by .ci/run: a real single-node SLURM (Debian's slurm-wlm and munge) on this machine,
# for the tests of examples/slurm/study.sbatch. start_slurm installs the packages if needed,
# writes slurm.conf for this host and its CPUs under a folder of its own, starts munged,
# slurmctld and slurmd, and exports SLURM_CONF (which sbatch, squeue and scontrol read) and
# HNET_TEST_SLURM=1; stop_slurm stops the three daemons it started, by their pids.

slurm_pids=()
slurm_dir=""

stop_slurm_if_started() { declare -F stop_slurm >/dev/null && stop_slurm; return 0; }

start_slurm() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "ci: installing SLURM and munge (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
  fi
  # global, not local: stop_slurm runs from the EXIT trap, after start_slurm returned
  slurm_dir="$(mktemp -d /tmp/hnet-slurm-XXXXXX)"
  local dir="$slurm_dir"
  chmod 755 "$dir"
  mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
  # munge: a key of this run's own and a socket in the folder (no system service touched)
  dd if=/dev/urandom bs=1 count=1024 of="$dir/munge/munge.key" 2>/dev/null
  chmod 400 "$dir/munge/munge.key"
  local socket="$dir/munge/munge.socket"
  munged --force --key-file "$dir/munge/munge.key" --socket "$socket" \
    --pid-file "$dir/munge/munged.pid" --log-file "$dir/munge/munged.log" \
    --seed-file "$dir/munge/munged.seed"
  slurm_pids+=("$(cat "$dir/munge/munged.pid")")
  local host cpus memory
  host="$(hostname -s)"
  cpus="$(nproc)"
  memory="$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))"
  # cred_expire=10: SLURM holds a requeued job for this long (default 120 s) before it may run
  cat > "$dir/slurm.conf" <<CONF
ClusterName=hnetci
SlurmctldHost=$host
SlurmctldPort=46817
SlurmdPort=46818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket,cred_expire=10
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
KillWait=30
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  echo "CgroupPlugin=cgroup/v1" > "$dir/cgroup.conf"
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  local i
  for i in $(seq 1 60); do
    [ -s "$dir/slurmctld.pid" ] && [ -s "$dir/slurmd.pid" ] \
      && sinfo -h -o '%T' 2>/dev/null | grep -qx idle && break
    sleep 1
  done
  slurm_pids+=("$(cat "$dir/slurmctld.pid")" "$(cat "$dir/slurmd.pid")")
  if ! sinfo -h -o '%T' | grep -qx idle; then
    echo "ci: SLURM did not come up"; tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log"
    return 1
  fi
  export HNET_TEST_SLURM=1
  stop_slurm() {
    local pid
    for pid in "${slurm_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 2
    for pid in "${slurm_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    [ -n "$slurm_dir" ] && rm -rf "$slurm_dir"
    return 0
  }
}
