#!/usr/bin/env bash
# A throwaway one-node Slurm cluster on this machine (root, no systemd), for tests and trying the job scripts.
#   local-slurm.sh install        apt-get slurmctld, slurmd, slurm-client and munge if sbatch is missing
#   local-slurm.sh start DIR      write DIR/slurm.conf, start munged, slurmctld and slurmd; prints the
#                                 environment to use (SLURM_CONF=...) on stdout
#   local-slurm.sh stop DIR       stop the daemons that start wrote pids for
# Exit status 77 means "cannot here" (no apt, install failed, a daemon did not come up), with the reason on stderr.
set -uo pipefail
cmd=${1:-}; dir=${2:-}
skip() { echo "local-slurm: $*" >&2; exit 77; }

case "$cmd" in
install)
    command -v sbatch >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v munged >/dev/null && exit 0
    [ "$(id -u)" = 0 ] || skip "Slurm is not installed and installing it needs root"
    command -v apt-get >/dev/null || skip "Slurm is not installed and there is no apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # APT::Sandbox::User=root: where /dev/null is not a device the _apt user can write, apt's sandbox fails.
    apt-get -o APT::Sandbox::User=root -qq update >/dev/null 2>&1 || skip "apt-get update failed"
    apt-get -o APT::Sandbox::User=root -qq install -y --no-install-recommends slurmctld slurmd slurm-client munge \
        >/dev/null 2>&1 || skip "apt-get install slurmctld slurmd slurm-client munge failed"
    command -v sbatch >/dev/null || skip "sbatch still missing after install"
    ;;
start)
    [ -n "$dir" ] || { echo "usage: $0 start DIR" >&2; exit 64; }
    [ "$(id -u)" = 0 ] || skip "starting slurmd needs root"
    mkdir -p "$dir"/{state,spool,log,munge}
    dir=$(cd "$dir" && pwd)
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {print int($2/1024*0.8)}' /proc/meminfo)
    # munge: the packaged key, or a fresh one.
    key=/etc/munge/munge.key
    if [ ! -s "$key" ]; then
        mkdir -p /etc/munge
        (command -v mungekey >/dev/null && mungekey --create --keyfile="$key" --force) \
            || dd if=/dev/urandom of="$key" bs=1 count=1024 2>/dev/null
    fi
    chmod 400 "$key"
    sock="$dir/munge/munge.socket"
    # As root (--force): munged's own user cannot always open /dev/null in containers.
    munged --force --socket="$sock" --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
        --seed-file="$dir/munge/seed" --key-file="$key" 2>"$dir/log/munged.err" \
        || skip "munged did not start: $(cat "$dir/log/munged.err")"
    cat > "$dir/slurm.conf" <<CONF
ClusterName=moesimci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
MaxArraySize=10001
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -f "$SLURM_CONF" -i >"$dir/log/slurmctld.out" 2>&1 || skip "slurmctld did not start: $(tail -5 "$dir/log/slurmctld.log" "$dir/log/slurmctld.out" 2>/dev/null)"
    slurmd -f "$SLURM_CONF" >"$dir/log/slurmd.out" 2>&1 || skip "slurmd did not start: $(tail -5 "$dir/log/slurmd.log" "$dir/log/slurmd.out" 2>/dev/null)"
    for _ in $(seq 1 60); do
        state=$(sinfo -h -N -o '%t' 2>/dev/null | head -1)
        case "$state" in idle*|mix*|alloc*) echo "SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
        sleep 0.5
    done
    skip "the node did not come up (state '${state:-none}'): $(tail -5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" 2>/dev/null)"
    ;;
stop)
    [ -n "$dir" ] || { echo "usage: $0 stop DIR" >&2; exit 64; }
    for f in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
        [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    sleep 0.5
    for f in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
        [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && kill -9 "$(cat "$f")" 2>/dev/null
    done
    exit 0
    ;;
*) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 64 ;;
esac
