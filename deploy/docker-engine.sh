#!/usr/bin/env bash
# Docker engine (Debian's docker.io; no systemd here, so dockerd is started by hand when it is not running)
# and compose v2 + buildx as CLI plugins from Debian trixie's .debs (bookworm has only compose v1).
# Idempotent; the host's apt configuration is never changed (trixie is read through a private sources list).
set -euo pipefail
CACHE=${PBN_DEPLOY_CACHE:-/var/cache/pbn-deploy}
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)}
export DEBIAN_FRONTEND=noninteractive
mkdir -p "$CACHE"
ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 || apt-get update -qq
if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  apt-get install -y -qq --no-install-recommends docker.io debootstrap iptables ca-certificates >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io debootstrap iptables ca-certificates >/dev/null; }
fi
if ! docker info >/dev/null 2>&1; then
  nohup dockerd >"$CACHE/dockerd.log" 2>&1 &
  for _ in $(seq 90); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null || { tail -20 "$CACHE/dockerd.log"; exit 1; }
fi
PLUGINS=/usr/local/lib/docker/cli-plugins
if ! docker compose version >/dev/null 2>&1 || ! docker buildx version >/dev/null 2>&1; then
  if ! ls "$CACHE"/docker-compose_*.deb "$CACHE"/docker-buildx_*.deb >/dev/null 2>&1; then
    A=$(mktemp -d); mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" >"$A/sources.list"
    APT=(-o "Dir::Etc::SourceList=$A/sources.list" -o Dir::Etc::SourceParts=/nonexistent
      -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache")
    apt-get "${APT[@]}" update -qq
    (cd "$CACHE" && apt-get "${APT[@]}" download docker-compose docker-buildx >/dev/null 2>&1)
    rm -rf "$A"
  fi
  X=$(mktemp -d)
  for d in "$CACHE"/docker-compose_*.deb "$CACHE"/docker-buildx_*.deb; do dpkg -x "$d" "$X"; done
  install -D -m 0755 -t "$PLUGINS" "$X"/usr/libexec/docker/cli-plugins/docker-compose \
    "$X"/usr/libexec/docker/cli-plugins/docker-buildx
  rm -rf "$X"
fi
docker info --format 'docker engine {{.ServerVersion}} ({{.Driver}})'
docker compose version
