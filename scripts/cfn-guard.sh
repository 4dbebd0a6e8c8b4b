#!/usr/bin/env bash
# cfn-guard.sh installs AWS CloudFormation Guard (cfn-guard), which checks
# infra/cloudformation/*.yaml against the rules in infra/guard/, and prints
# the path of its binary on stdout.
#
# cfn-guard ships as a static binary inside the npm package
# @cdklabs/cdk-validator-cfnguard; the pinned package version bundles
# cfn-guard 3.1.1 (its package/guard-version.json says so). The package is
# fetched with `npm pack` (the npm registry only, no other download), the one
# binary for this platform is checked against a pinned SHA-256 and copied to
# ${ECSAUDIT_TOOLS:-$HOME/.cache/ecsaudit/tools}/cfn-guard-3.1.1/cfn-guard,
# and reused on later runs while it reports the pinned version. Concurrent
# callers serialise on a lock file, so the binary is installed once.
set -euo pipefail

guard_version=3.1.1
npm_package=@cdklabs/cdk-validator-cfnguard
npm_version=0.0.62
dir="${ECSAUDIT_TOOLS:-$HOME/.cache/ecsaudit/tools}/cfn-guard-${guard_version}"
bin="$dir/cfn-guard"

case "$(uname -s)/$(uname -m)" in
Linux/x86_64) platform=ubuntu/x86_64 sha256=9c7a820318676dc7372f6756ddfc7ca5f0c019299fb5505fda6dfd54718c58bd ;;
Linux/aarch64 | Linux/arm64) platform=ubuntu/aarch64 sha256=f596043df77b6e839759e90e3d08671b5384c6e07d4a9c34f6d0bfbc76148154 ;;
Darwin/x86_64) platform=macos/x86_64 sha256=3e8118e3c4cd98901b3a21b7037a40674023945349ad4661f1a7101f2d96c31f ;;
Darwin/arm64) platform=macos/aarch64 sha256=89e97faaabb5431bc16d0487b5c8e67573e3f84e397b87985bfb02c2bdd4f46a ;;
*)
	echo "cfn-guard.sh: no cfn-guard binary for $(uname -s)/$(uname -m) in ${npm_package}" >&2
	exit 1
	;;
esac

installed() {
	[[ -x $bin ]] && [[ "$("$bin" --version 2>/dev/null)" == "cfn-guard ${guard_version}" ]]
}

sha256_of() {
	if command -v sha256sum >/dev/null; then
		sha256sum "$1" | cut -d' ' -f1
	else
		shasum -a 256 "$1" | cut -d' ' -f1
	fi
}

mkdir -p "$dir"
exec 9>"$dir/.lock"
if command -v flock >/dev/null; then
	flock 9
fi
if ! installed; then
	echo "cfn-guard.sh: installing cfn-guard ${guard_version} from ${npm_package}@${npm_version} into $dir" >&2
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent --ignore-scripts "${npm_package}@${npm_version}" >/dev/null)
	tar -xzf "$tmp"/*.tgz -C "$tmp" "package/bin/${platform}/cfn-guard" package/guard-version.json
	grep -q "\"version\": *\"${guard_version}\"" "$tmp/package/guard-version.json" || {
		echo "cfn-guard.sh: ${npm_package}@${npm_version} does not bundle cfn-guard ${guard_version}" >&2
		exit 1
	}
	got="$(sha256_of "$tmp/package/bin/${platform}/cfn-guard")"
	if [[ $got != "$sha256" ]]; then
		echo "cfn-guard.sh: SHA-256 of ${platform}/cfn-guard is $got, want $sha256" >&2
		exit 1
	fi
	install -m 0755 "$tmp/package/bin/${platform}/cfn-guard" "$bin.new"
	mv -f "$bin.new" "$bin"
	installed || { echo "cfn-guard.sh: $bin does not report cfn-guard ${guard_version}" >&2; exit 1; }
fi
echo "$bin"
