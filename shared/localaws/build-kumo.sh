#!/usr/bin/env bash
# build-kumo.sh OUT [PATCH...]
#
# Builds the kumo emulator at the pinned version with the given patches
# applied in order, into the executable OUT. The source comes from the Go
# module proxy (go mod download) and is copied to a build folder beside OUT:
# the module cache is never edited. The build is skipped when OUT was built
# from the same version and the same patch contents.
set -euo pipefail

KUMO_MODULE=github.com/sivchari/kumo
KUMO_VERSION=${KUMO_VERSION:-v0.33.1}

out=$1; shift
out_dir=$(cd "$(dirname "$out")" 2>/dev/null && pwd || { mkdir -p "$(dirname "$out")"; cd "$(dirname "$out")" && pwd; })
name=$(basename "$out")
src="$out_dir/../src/$name"
keyfile="$out_dir/.$name.key"

key=$( { echo "$KUMO_MODULE@$KUMO_VERSION $(go env GOVERSION)"; for p in "$@"; do echo "== $(basename "$p")"; cat "$p"; done; } | sha256sum | cut -d' ' -f1)
if [[ -x "$out" && -f "$keyfile" && "$(cat "$keyfile")" == "$key" ]]; then
  echo "kumo: $out is up to date ($KUMO_VERSION + $# patches)"
  exit 0
fi

start=$(date +%s)
echo "kumo: fetching $KUMO_MODULE@$KUMO_VERSION"
moddir=$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod GOWORK=off go mod download -json "$KUMO_MODULE@$KUMO_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[[ -d "$moddir" ]] || { echo "kumo: go mod download gave no source directory" >&2; exit 1; }

rm -rf "$src"
mkdir -p "$(dirname "$src")"
cp -r "$moddir" "$src"
chmod -R u+w "$src"
# A repository of its own, so `git apply` works inside this project's work
# tree and a patch author can `git diff` their change.
git -C "$src" init -q
git -C "$src" add -A
git -C "$src" -c user.name=autostop -c user.email=build@autostop.invalid commit -qm "kumo $KUMO_VERSION"

for p in "$@"; do
  echo "kumo: applying $(basename "$p")"
  if ! git -C "$src" apply --whitespace=nowarn "$(cd "$(dirname "$p")" && pwd)/$(basename "$p")"; then
    echo "kumo: patch $p does not apply to $KUMO_VERSION" >&2
    exit 1
  fi
done

echo "kumo: building $out"
(cd "$src" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out_dir/$name" ./cmd/kumo)
echo "$key" > "$keyfile"
echo "kumo: built $out in $(( $(date +%s) - start ))s ($KUMO_VERSION + $# patches)"
