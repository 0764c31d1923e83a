# --help / -h of a low-shot script: prints the script's header comment and
# exits; sourced first thing by every script (and tools/quickstart.sh,
# tools/dist_train.sh, tools/slurm_train.sh).
# Also defines no_arguments, which a script that takes none calls with "$@":
# an argument there is a mistake (settings are environment variables), not
# ignored; and positional_arguments, the same for a script that takes some;
# and refuse, the scripts' one refusal line; and whole_number, the check of
# a count given in the environment or on the command line; and in_bash,
# which a bash script (the launchers, tools/quickstart.sh) calls first.
case "${1:-}" in
    -h|--help)
        # the header comment, from the first line (a #! line left out:
        # _help.sh and _env.sh have none, and their help began mid-
        # sentence) to the first line of code
        sed -n '/^#!/d; /^$/q; /^[^#]/q; s/^# \{0,1\}//p' "$0"
        case $0 in
            *_env.sh)  # run itself (bash _env.sh --help): its settings
                echo
                echo "Settings (NAME=\${NAME:-default}), each read from the" \
                    "environment:"
                sed -n '/^[A-Z][A-Z_]*=\${/s/^/  /p; /^ \{30,\}#/p' "$0" ;;
            *)
                if [ -f "$(dirname "$0")/_env.sh" ]; then
                    echo "Settings shared by the scripts:" \
                        "$(dirname "$0")/_env.sh (sh $(dirname "$0")/_env.sh" \
                        "--help lists them)"
                fi ;;
        esac
        exit 0 ;;
esac

# refuse MESSAGE...: a script's refusal, as every command's: one line on
# stderr, "error: <script>: MESSAGE", and exit code 2 (docs/refusals.md);
# in a $(...) substitution the script stops there under set -e. A newline
# in MESSAGE (a value as the user gave it: NNODES='1<newline>2') is
# written \n: the refusal was two lines. The shell's own expansions, no
# other command: a script refusing for want of a tool (in_bash, without
# bash) may lack others too (awk here wrote 'awk: not found' instead)
refuse() {
    _msg="error: $0: $*"
    _line=
    _nl='
'
    while :; do
        case $_msg in
            *"$_nl"*) _line="$_line${_msg%%"$_nl"*}\\n"
                      _msg=${_msg#*"$_nl"} ;;
            *) break ;;
        esac
    done
    printf '%s\n' "$_line$_msg" >&2
    exit 2
}

# whole_number NAME VALUE MIN: prints VALUE as a decimal whole number of at
# least MIN, its leading zeros dropped (bash's arithmetic reads 010 as
# octal 8), or refuses it, naming NAME; call it as
# GPUS=$(whole_number GPUS "$GPUS" 1), which stops the script under set -e
whole_number() {
    case $2 in
        ''|*[!0-9]*) _n= ;;
        *) _n=$(printf '%s\n' "$2" | sed 's/^0*//'); _n=${_n:-0} ;;
    esac
    # more digits are beyond what [ -lt ] and $((...)) hold
    if [ -n "$_n" ] && [ ${#_n} -gt 9 ]; then
        refuse "$1 must be a whole number below 10**9, got '$2'"
    fi
    if [ -z "$_n" ] || [ "$_n" -lt "$3" ]; then
        refuse "$1 must be a whole number of at least $3, got '$2'"
    fi
    echo "$_n"
}

# in_bash "$@": what a script written for bash calls before its `set -euo
# pipefail`: run by sh (dash, /bin/sh on Debian and Ubuntu), it runs itself
# again under bash with the same arguments (`sh tools/dist_train.sh ...`
# stopped at "set: Illegal option -o pipefail"), or refuses in one line
# where there is no bash (or the 'bash' on PATH is another shell)
in_bash() {
    if [ -n "${BASH_VERSION:-}" ]; then return 0; fi
    if ! command -v bash >/dev/null 2>&1; then
        refuse "this script needs bash, which is not on PATH"
    fi
    # a 'bash' that is another shell (a link to sh, as some images make
    # one) ran the script again and again, never returning
    if ! bash -c '[ -n "${BASH_VERSION:-}" ]' >/dev/null 2>&1; then
        refuse "this script needs bash; the 'bash' on PATH" \
            "($(command -v bash)) is another shell"
    fi
    exec bash "$0" "$@"
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
