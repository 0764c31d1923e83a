# --help / -h of a low-shot script: prints the script's header comment and
# exits; sourced first thing by every script (and tools/quickstart.sh).
# Also defines no_arguments, which a script that takes none calls with "$@":
# an argument there is a mistake (settings are environment variables), not
# ignored.
case "${1:-}" in
    -h|--help)
        sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"
        if [ -f "$(dirname "$0")/_env.sh" ]; then
            echo "Settings shared by the scripts: $(dirname "$0")/_env.sh"
        fi
        exit 0 ;;
esac

no_arguments() {
    if [ $# -gt 0 ]; then
        echo "$0: takes no arguments, got '$1' (settings are environment" \
            "variables; see $0 --help)" >&2
        exit 2
    fi
}
