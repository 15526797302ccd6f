#!/bin/sh
# A Debian 12 base image made from Debian's own packages, for machines that reach Debian's
# archive but no image registry:  sh deploy/podman/debian-base.sh [podman command]
# then: make image BASE_IMAGE=localhost/debian-base:bookworm
set -eu
PODMAN="${1:-podman}"
ROOTFS="$(mktemp -d)"
trap 'rm -rf "$ROOTFS"' EXIT
debootstrap --variant=minbase bookworm "$ROOTFS" http://deb.debian.org/debian
tar -C "$ROOTFS" -c . | $PODMAN import - localhost/debian-base:bookworm
