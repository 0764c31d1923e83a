# --help / -h of a low-shot script: prints the script's header comment and
# exits; sourced first thing by every script (and tools/quickstart.sh).
# Also defines no_arguments, which a script that takes none calls with "$@":
# an argument there is a mistake (settings are environment variables), not
# ignored; and positional_arguments, the same for a script that takes some;
# and refuse, the scripts' one refusal line.
case "${1:-}" in
    -h|--help)
        sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"
        if [ -f "$(dirname "$0")/_env.sh" ]; then
            echo "Settings shared by the scripts: $(dirname "$0")/_env.sh"
        fi
        exit 0 ;;
esac

# refuse MESSAGE...: a script's refusal, as every command's: one line on
# stderr, "error: <script>: MESSAGE", and exit code 2 (docs/refusals.md);
# in a $(...) substitution the script stops there under set -e
refuse() {
    echo "error: $0: $*" >&2
    exit 2
}

no_arguments() {
    if [ $# -gt 0 ]; then
        refuse "takes no arguments, got '$1' (settings are environment" \
            "variables; see $0 --help)"
    fi
}

# positional_arguments USAGE MIN MAX "$@": what a script that takes
# arguments calls: MIN to MAX of them, none a flag ("-" alone is one, the
# ENCODER of imported features). A flag (--num_task 5) would be taken as a
# path, or ignored after the last argument, and the run go on without it.
positional_arguments() {
    _usage=$1; _min=$2; _max=$3; shift 3
    for _arg in "$@"; do
        case $_arg in
            -) ;;
            -*) refuse "'$_arg' is not an argument of this script" \
                "(usage: sh $0 $_usage; settings are environment" \
                "variables, e.g. NUM_TASK=5 sh $0 ...; see $0 --help)" ;;
        esac
    done
    if [ $# -lt "$_min" ] || [ $# -gt "$_max" ]; then
        refuse "usage: sh $0 $_usage (got $# arguments; settings are" \
            "environment variables, see $0 --help)"
    fi
}
