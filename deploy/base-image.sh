#!/usr/bin/env bash
# A local Python 3.11 base image for the Dockerfile where no image registry is reachable:
# debootstrap a minbase bookworm from the Debian mirror this machine uses, import it, and add python3 in a venv
# (first on PATH) plus this host's extra CA certificates (pip inside the build goes through the same proxy).
# The rootfs tarball and both images are cached; a rerun with them present takes seconds.
# Usage: deploy/base-image.sh [TAG]   (default local/python:3.11-bookworm); prints the tag.
set -euo pipefail
TAG=${1:-local/python:3.11-bookworm}
CACHE=${PBN_DEPLOY_CACHE:-/var/cache/pbn-deploy}
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)}
mkdir -p "$CACHE"
if ! docker image inspect local/bookworm-minbase >/dev/null 2>&1; then
  if [ ! -s "$CACHE/bookworm-minbase.tar" ]; then
    ROOTFS=$(mktemp -d)
    debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
    tar -C "$ROOTFS" -cf "$CACHE/bookworm-minbase.tar.part" . && mv "$CACHE/bookworm-minbase.tar.part" "$CACHE/bookworm-minbase.tar"
    rm -rf "$ROOTFS"
  fi
  docker import "$CACHE/bookworm-minbase.tar" local/bookworm-minbase >/dev/null
fi
if ! docker image inspect "$TAG" >/dev/null 2>&1; then
  CTX=$(mktemp -d); mkdir -p "$CTX/ca"
  cp /usr/local/share/ca-certificates/*.crt "$CTX/ca/" 2>/dev/null || true
  cat >"$CTX/Dockerfile" <<'DOCKERFILE'
FROM local/bookworm-minbase
ARG DEBIAN_FRONTEND=noninteractive
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && update-ca-certificates \
    && python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LANG=C.UTF-8
CMD ["python3"]
DOCKERFILE
  docker build -q -t "$TAG" "$CTX" >/dev/null
  rm -rf "$CTX"
fi
echo "$TAG"
