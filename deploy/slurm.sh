#!/usr/bin/env bash
# A one-node SLURM on this machine (munge, slurmctld, slurmd from Debian's packages) for the deploy tests.
# No systemd here: the daemons are started by hand when not running (each forks; PIDs in /run). Idempotent:
# a rerun with the packages installed and the daemons up takes a second.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 || ! command -v sbatch >/dev/null 2>&1; then
  ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 || apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
fi
HOST=$(hostname -s)
if ! grep -q "^SlurmctldHost=$HOST$" /etc/slurm/slurm.conf 2>/dev/null; then
  NODE=$(slurmd -C | head -1)   # NodeName=<host> CPUs=... RealMemory=<MB>
  cat >/etc/slurm/slurm.conf <<CONF
# written by pbn-sweep deploy/slurm.sh: one node, one partition
ClusterName=pbn
SlurmctldHost=$HOST
AuthType=auth/munge
CredType=cred/munge
SlurmUser=slurm
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
$NODE State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
fi
install -d -o slurm -g slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
[ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey --create
install -d -o munge -g munge -m 0755 /run/munge
alive /run/munge/munged.pid || runuser -u munge -- /usr/sbin/munged
munge -n | unmunge >/dev/null
alive /run/slurmctld.pid || /usr/sbin/slurmctld
alive /run/slurmd.pid || /usr/sbin/slurmd
for _ in $(seq 60); do sinfo -h -o %t 2>/dev/null | grep -Eq 'idle|mix|alloc' && break; sleep 1; done
sinfo -h -o '%P %t %D %c' | grep -Eq 'idle|mix|alloc' || { sinfo; tail -20 /var/log/slurm/slurmctld.log; exit 1; }
echo "slurm up: munged $(cat /run/munge/munged.pid) slurmctld $(cat /run/slurmctld.pid) slurmd $(cat /run/slurmd.pid)"
