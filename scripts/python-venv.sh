# Sourced by the scripts that need Python packages from PyPI. Sets `cache` (the folder the venvs
# and downloads are kept in: M365D_VALIDATE_CACHE, or m365-defender-validate under TMPDIR) and
# defines `python_venv NAME PACKAGE...`, which makes the venv `$cache/NAME` with those packages
# on its first call and sets `venv` to its path.

cache=${M365D_VALIDATE_CACHE:-${TMPDIR:-/tmp}/m365-defender-validate}

python_venv() {
    local name=$1
    shift
    venv=$cache/$name
    mkdir -p "$cache"
    # The venv counts as ready only once its install finished (marker file), so an interrupted
    # install is redone instead of leaving a half-built venv behind.
    if [ -f "$venv/.ready" ]; then
        return
    fi
    rm -rf "$venv"
    local pip
    if python3 -m venv "$venv" >/dev/null 2>&1; then
        pip=("$venv/bin/python" -m pip)
    else
        # Some distributions ship python3 without ensurepip: make a bare venv and drive it with
        # the system pip instead.
        rm -rf "$venv"
        python3 -m venv --without-pip "$venv"
        pip=(python3 -m pip --python "$venv/bin/python")
    fi
    "${pip[@]}" install --quiet --disable-pip-version-check "$@"
    touch "$venv/.ready"
}
