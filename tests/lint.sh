#!/usr/bin/env bash
# Static analysis of cohmap's C sources (make lint): cppcheck, then clang-tidy,
# each with a chosen set of checks, both required to report nothing.
#
# cppcheck: its warning, portability and performance classes (real defects
# and undefined behaviour; the "style" class is left out: it asks for const
# everywhere and fights the code's C idioms). clang-tidy: the families listed
# below, minus the checks named with the reason each is off. Compiler flags
# are the Makefile's (pkg-config, -I., -D).
#
#   tests/lint.sh                # the whole tree
#   tests/lint.sh base/csv.c  # some files
set -uo pipefail
cd "$(dirname "$0")/.."
files=("$@")
[[ ${#files[@]} == 0 ]] && mapfile -t files < <(ls base/*.c kernels/*.c topology/*.c plots/*.c harness/*.c experiments/*/*.c cli/*.c tests/unit/*.c tests/fuzz/*.c bench/*.c 2>/dev/null)
flags=(-std=gnu11 -I. -D_GNU_SOURCE -DCOHMAP_DATADIR=\"/usr/local/share/cohmap\" $(pkg-config --cflags papi numa jansson 2>/dev/null))
failures=0

echo "== cppcheck $(cppcheck --version | cut -d' ' -f2) on ${#files[@]} files"
# tests/cppcheck.cfg adds jansson's foreach macros and mmap's fd of -1. The
# suppressions are false positives of cppcheck 2.10 on patterns this code
# uses on purpose:
#  missingIncludeSystem  system headers are not given to it (it would guess)
#  readdirCalled         it wants readdir_r, which glibc deprecates; one DIR
#                        per thread makes readdir safe
#  invalidPointerCast    typed arrays carved out of one byte region (shared
#                        memory) at offsets aligned for their type
#  leakReturnValNotUsed  mmap(MAP_FIXED) over a reservation the caller owns
#  memleak in kernels/mappings.c  the same: the mapping is m->base's
#  pointerSize in base/csv.c   an array of pointers and the text in one block
#  unknownEvaluationOrder in experiments/falseshare/falseshare_sweep.c  `a[n++] = (struct
#                        point){ .n = ... }`: the designator .n is not n
# A finding that is not a defect and is not one of these is silenced where it
# is, with `// cppcheck-suppress id` and the reason.
cpp_out=$(cppcheck --quiet --inline-suppr --std=c11 --library=posix --library=tests/cppcheck.cfg \
	--enable=warning,portability,performance -D_GNU_SOURCE -D__x86_64__ -I. \
	--suppress=missingIncludeSystem --suppress=readdirCalled --suppress=invalidPointerCast \
	--suppress=leakReturnValNotUsed --suppress=memleak:kernels/mappings.c \
	--suppress=pointerSize:base/csv.c --suppress=unknownEvaluationOrder:experiments/falseshare/falseshare_sweep.c \
	"${files[@]}" 2>&1)
[[ -n $cpp_out ]] && printf '%s\n' "$cpp_out"
n=$(printf '%s\n' "$cpp_out" | grep -cE ': (error|warning|portability|performance|style):')
echo "cppcheck: $n findings"
[[ $n == 0 ]] || failures=$((failures + 1))

# clang-tidy: bugprone, cert, the clang static analyzer (path-sensitive: leaks,
# null dereferences, use after free, dead stores) and misc. Off, and why:
#  bugprone-easily-swappable-parameters  every (cpu_a, cpu_b) signature
#  bugprone-reserved-identifier, cert-dcl37-c, cert-dcl51-cpp  libFuzzer's
#    LLVMFuzzer* entry points and _GNU_SOURCE-style names
#  cert-err33-c  unchecked printf/snprintf results: terminal output, and
#    snprintf that truncates on purpose (see -Wno-format-truncation)
#  cert-err34-c  wants strto* instead of atoi: the code uses strto* already,
#    and the check also fires on sscanf that is checked
#  cert-env33-c  system() in unit tests that clean up scratch directories
#  bugprone-assignment-in-if-condition  `if ((rc = f()) != 0)` is house style
#  bugprone-narrowing-conversions, -implicit-widening-of-multiplication-result,
#    -misplaced-widening-cast  int indices and counts checked by the callers:
#    hundreds of findings, none a bug in the ones read
#  bugprone-sizeof-expression  fires on `sizeof *p` for arrays of pointers
#  bugprone-suspicious-string-compare  `if (!strcmp(a, b))` is idiomatic C
#  bugprone-macro-parentheses  designated-initializer macros with value
#    arguments
#  misc-unused-parameters  callbacks keep the signature of their table
#  misc-no-recursion  none is unbounded (read by hand)
#  clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,
#    .strcpy  wants Annex K / strlcpy; each strcpy follows a length check
#  clang-analyzer-security.insecureAPI.vfork  vfork is measured on purpose
#  clang-analyzer-valist.Uninitialized  clang 14 false positive on every
#    va_start/vsnprintf pair
checks='-*,bugprone-*,cert-*,clang-analyzer-*,misc-*'
for off in bugprone-easily-swappable-parameters bugprone-reserved-identifier cert-dcl37-c cert-dcl51-cpp \
	cert-err33-c cert-err34-c cert-env33-c bugprone-assignment-in-if-condition \
	bugprone-narrowing-conversions bugprone-implicit-widening-of-multiplication-result \
	bugprone-misplaced-widening-cast bugprone-sizeof-expression bugprone-suspicious-string-compare \
	bugprone-macro-parentheses misc-unused-parameters misc-no-recursion \
	clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling \
	clang-analyzer-security.insecureAPI.strcpy clang-analyzer-security.insecureAPI.vfork \
	clang-analyzer-valist.Uninitialized; do
	checks+=",-$off"
done
echo "== clang-tidy $(clang-tidy --version | grep -o 'version [0-9.]*' | cut -d' ' -f2) on ${#files[@]} files"
out=$(clang-tidy --quiet --checks="$checks" "${files[@]}" -- "${flags[@]}" 2>/dev/null)
printf '%s\n' "$out" | grep -E ': (warning|error):' -A3
n=$(printf '%s\n' "$out" | grep -cE ': (warning|error):')
echo "clang-tidy: $n findings"
[[ $n == 0 ]] || failures=$((failures + 1))

echo "lint: $((2 - failures)) passed, $failures failed"
[[ $failures == 0 ]]
