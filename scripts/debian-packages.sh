# Sourced by the scripts that need Debian packages (test.sh, bench-compare.sh):
# installs what is missing, as root or through sudo.

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# install_missing [COMMAND:PACKAGE]... [-- PACKAGE...]
# Installs each PACKAGE whose COMMAND is not on the PATH, plus every PACKAGE after
# `--` unconditionally (for what no command reveals), in one apt-get run.
install_missing() {
    local wanted=() pair
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        pair=$1
        shift
        command -v "${pair%%:*}" >/dev/null 2>&1 || wanted+=("${pair#*:}")
    done
    [ "${1:-}" = -- ] && shift
    wanted+=("$@")
    [ ${#wanted[@]} -eq 0 ] && return 0
    echo "== installing Debian packages: ${wanted[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${wanted[@]}" >/dev/null
}
