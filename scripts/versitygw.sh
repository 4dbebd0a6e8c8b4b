#!/usr/bin/env bash
# versitygw.sh installs the Versity S3 gateway that ecsaudit's tests use as a
# real S3 server, and prints the path of its binary on stdout.
#
# The binary is built with `go install` (Go module proxy only, no prebuilt
# download) into ${ECSAUDIT_TOOLS:-$HOME/.cache/ecsaudit/tools} and reused on
# later runs while it is the pinned version. Concurrent callers (test packages
# run in parallel) serialise on a lock file, so the binary is built once.
set -euo pipefail

version=v1.8.0
module=github.com/versity/versitygw
dir="${ECSAUDIT_TOOLS:-$HOME/.cache/ecsaudit/tools}"
bin="$dir/versitygw"

installed() {
	[[ -x $bin ]] && go version -m "$bin" 2>/dev/null |
		grep -Eq "^[[:space:]]*mod[[:space:]]+${module}[[:space:]]+${version}([[:space:]]|$)"
}

mkdir -p "$dir"
exec 9>"$dir/.versitygw.lock"
flock 9
if ! installed; then
	echo "versitygw.sh: installing ${module}@${version} into $dir" >&2
	# Outside any module, so the project's go.mod is neither read nor changed.
	(cd "$dir" && GOBIN="$dir" GOFLAGS= GO111MODULE=on go install "${module}/cmd/versitygw@${version}") >&2
	installed || { echo "versitygw.sh: $bin is not ${module}@${version} after install" >&2; exit 1; }
fi
echo "$bin"
