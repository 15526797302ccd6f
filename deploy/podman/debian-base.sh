#!/bin/sh
# A Debian base image made from Debian's own packages, for machines that reach Debian's
# archive but no image registry:  sh deploy/podman/debian-base.sh [podman command] [suite]
# then: make image BASE_IMAGE=localhost/debian-base:bookworm
# The suite defaults to bookworm (Debian 12, the Frontdesk and Redis images); the local
# PostgreSQL image needs trixie (Debian 13: pgvector 0.8), see deploy/podman/README.md.
set -eu
PODMAN="${1:-podman}"
SUITE="${2:-bookworm}"
ROOTFS="$(mktemp -d)"
trap 'rm -rf "$ROOTFS"' EXIT
debootstrap --variant=minbase "$SUITE" "$ROOTFS" http://deb.debian.org/debian
# mktemp made the root directory 0700: the image's non-root users must be able to enter it
chmod 755 "$ROOTFS"
# the .debs debootstrap downloaded and apt's lists are not part of an image
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
tar -C "$ROOTFS" -c . | $PODMAN import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    - "localhost/debian-base:$SUITE"
