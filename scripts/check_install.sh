#!/usr/bin/env bash
# The README's install command, exactly as written, on the system's own Python
# (Debian's marks itself "externally managed", PEP 668: plain `pip install`
# is refused), in a throwaway HOME. Then the installed command must run.
set -euo pipefail
cd "$(dirname "$0")/.."

# The first line of the README's first ```sh block is the install command.
install=$(awk '/^```sh$/ {inside=1; next} inside {print; exit}' README.md)
case "$install" in
  "pipx install . && localgate start") ;;
  *) echo "README's first command is not 'pipx install . && localgate start': $install" >&2; exit 1 ;;
esac
# The same command, but on any free port: CI's machine may have 8080 taken.
install="${install/localgate start/localgate start --port 0}"

if ! command -v pipx >/dev/null; then
  if command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pipx >/dev/null
  else
    echo "pipx is not installed and there is no apt-get to install it" >&2
    exit 1
  fi
fi

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export HOME="$home" PIPX_HOME="$home/.local/share/pipx" PIPX_BIN_DIR="$home/.local/bin"
export XDG_CONFIG_HOME="$home/.config" XDG_STATE_HOME="$home/.local/state"
unset VIRTUAL_ENV PYTHONPATH LOCALGATE_CONFIG
# pipx runs on the system Python; say so if that Python refuses plain pip.
python=$(head -1 "$(command -v pipx)" | sed 's/^#!//')
if "$python" -c 'import sysconfig, pathlib, sys; sys.exit(not (pathlib.Path(sysconfig.get_path("stdlib")) / "EXTERNALLY-MANAGED").exists())'; then
  echo "install check: $python is externally managed (PEP 668)"
fi

echo "install check: $install"
localgate="$PIPX_BIN_DIR/localgate"
trap '"$localgate" stop >/dev/null 2>&1 || true; rm -rf "$home"' EXIT
(export PATH="$PIPX_BIN_DIR:$PATH"; eval "$install") >"$home/install.log" 2>&1 \
  || { cat "$home/install.log" >&2; exit 1; }
grep -q "http://127.0.0.1:" "$home/install.log" || { cat "$home/install.log" >&2; exit 1; }
status=$("$localgate" status 2>&1) || true
grep -qi running <<<"$status" || {
  echo "install check: 'localgate status' does not say running:" >&2
  echo "$status" >&2
  "$localgate" logs -n 30 >&2 || true
  exit 1
}
"$localgate" --version
"$localgate" -h >/dev/null
"$localgate" >/dev/null                      # bare: the help, exit 0
"$localgate" config example | grep -q '^\[server\]'
"$localgate" config init >/dev/null && "$localgate" config show >/dev/null
"$localgate" stop >/dev/null
echo "install check: passed"
