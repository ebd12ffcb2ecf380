#!/usr/bin/env bash
# programs: programs of the machine that no one here wrote, for
# scripts/bench --programs.
#
#   programs.sh list                  the programs whose tools are installed, one a line
#   programs.sh prepare DIR [SCALE [NAME...]]
#                                     their inputs into DIR, and what each program
#                                     named (default: all installed) prints, run
#                                     once here (no preload): DIR/NAME.expected
#   programs.sh argv NAME DIR         the command line of NAME, each word ended by a NUL
#
# Each runs one tool with its own defaults (python with pymalloc, its own
# small-object allocator, in front of malloc) on inputs made from a fixed
# seed: JSON, text, sorted lines, a git history, SQL, compiles of a C++
# file of standard containers. scripts/bench runs each command itself
# (no shell around it, so that the peak is the tool's own) and compares
# what it printed with DIR/NAME.expected: a broken allocator shows as a
# failure. SCALE multiplies the size of the inputs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# name: the tool it needs
programs=(py_json:python3 py_ast:python3 perl_words:perl awk_words:awk sort_lines:sort
    xz_text:xz git_log:git sqlite_rows:sqlite3 jq_group:jq gxx_stl:g++ clangxx_stl:clang++
    node_map:node tcl_dict:tclsh bc_pi:bc bash_assoc:bash find_usr:find)

argv() {   # $1 name, $2 dir
    local d=$2
    case $1 in
        py_json) printf '%s\0' python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
s = json.dumps(d, sort_keys=True, indent=1)
e = json.loads(s)
print(len(s), len(e["items"]), sum(len(i["tags"]) for i in e["items"]))' "$d/data.json" ;;
        py_ast) printf '%s\0' python3 -c 'import ast, sys
n = 0
for f in open(sys.argv[1]).read().split():
    n += sum(1 for _ in ast.walk(ast.parse(open(f, encoding="utf-8").read())))
print(n)' "$d/modules.txt" ;;
        perl_words) printf '%s\0' perl -ne 'for (split) { $c{$_}++ }
END { my @k = sort { $c{$b} <=> $c{$a} || $a cmp $b } keys %c; print scalar(@k), " @k[0..9]\n" }' "$d/corpus.txt" ;;
        awk_words) printf '%s\0' awk '{ for (i = 1; i <= NF; i++) { c[$i]++; l[$i] = length($i) } }
END { n = 0; s = 0; for (w in c) { n++; s += c[w] * l[w] } print n, s }' "$d/corpus.txt" ;;
        sort_lines) printf '%s\0' sort -k2,2 -k1,1n "$d/lines.txt" ;;
        xz_text) printf '%s\0' xz -6 -T1 -k -f "$d/corpus.txt" ;;   # (into corpus.txt.xz: binary output would hide the summary)
        git_log) printf '%s\0' git -C "$d/repo" log -p --stat main ;;
        sqlite_rows) printf '%s\0' sqlite3 :memory: ".read $d/rows.sql" ;;
        jq_group) printf '%s\0' jq -c '[.items[] | {k: (.id % 97), v: .name, t: (.tags | length)}]
| group_by(.k) | map({k: .[0].k, n: length, t: (map(.t) | add)}) | sort_by(-.n) | .[0:5]' "$d/data.json" ;;
        gxx_stl) printf '%s\0' g++ -O1 -std=gnu++17 -c -o /dev/null "$root/test/programs/cxx_containers.cpp" ;;
        clangxx_stl) printf '%s\0' clang++ -O1 -std=gnu++17 -c -o /dev/null "$root/test/programs/cxx_containers.cpp" ;;
        node_map) printf '%s\0' node -e 'const m = new Map(); let s = 0;
const n = Number(process.argv[1]);
for (let i = 0; i < n; i++) m.set("k" + i, { i, s: String(i * 7919 % n).repeat(1 + i % 4) });
for (let i = 0; i < n; i += 3) m.delete("k" + i);
for (const v of m.values()) s += v.s.length;
console.log(m.size, s, JSON.stringify([...m.entries()].slice(0, 3)));' "$(cat "$d/n")" ;;
        tcl_dict) printf '%s\0' tclsh "$d/dict.tcl" ;;
        bc_pi) printf '%s\0' bc -lq "$d/pi.bc" ;;
        bash_assoc) printf '%s\0' bash -c 'declare -A m; n=$1; s=0
for ((i = 0; i < n; i++)); do m[k$((i * 7919 % n))]="${i}x${i}"; done
for k in "${!m[@]}"; do v=${m[$k]}; s=$((s + ${#v})); done
echo "${#m[@]} $s"' bash_assoc "$(($(cat "$d/n") / 10))" ;;
        find_usr) printf '%s\0' find /usr/share /usr/lib -xdev -name '*.h' -o -name '*.py' -o -name '*.so*' ;;
        *) echo "programs.sh: no program '$1'" >&2; return 2 ;;
    esac
}

case ${1:-} in
    list)
        for p in "${programs[@]}"; do
            command -v "${p#*:}" >/dev/null && echo "${p%%:*}"
        done
        ;;
    argv)
        argv "${2:?programs.sh argv NAME DIR}" "${3:?programs.sh argv NAME DIR}"
        ;;
    prepare)
        d="${2:?programs.sh prepare DIR [SCALE [NAME...]]}"
        scale="${3:-1}"
        names=("${@:4}")
        ((${#names[@]})) || mapfile -t names < <("${BASH_SOURCE[0]}" list)
        mkdir -p "$d"
        python3 - "$d" "$scale" <<'PY'
import json, os, random, subprocess, sys, sysconfig

d, scale = sys.argv[1], float(sys.argv[2])
rng = random.Random(1)
n = max(1000, int(150000 * scale))
open(os.path.join(d, "n"), "w").write("%d\n" % n)

# words with a long tail, as text has
letters = "etaoinshrdlcumwfgypbvkjxqz"
vocab = ["".join(rng.choice(letters[: 6 + k % 20]) for _ in range(2 + k % 9)) for k in range(20000)]
weights = [1.0 / (1 + k) for k in range(len(vocab))]
words = rng.choices(vocab, weights, k=3 * n)
with open(os.path.join(d, "corpus.txt"), "w") as f:
    for i in range(0, len(words), 12):
        f.write(" ".join(words[i:i + 12]) + "\n")
with open(os.path.join(d, "lines.txt"), "w") as f:
    for i in range(n * 2):
        f.write("%d %s\n" % (rng.randrange(10**6), rng.choice(vocab)))

items = [{"id": i, "name": rng.choice(vocab) + "-" + str(i), "score": round(rng.random() * 100, 3),
          "tags": rng.sample(vocab[:200], rng.randrange(0, 6)),
          "child": {"a": rng.randrange(1000), "b": [rng.randrange(100) for _ in range(rng.randrange(4))]}}
         for i in range(n // 4)]
json.dump({"items": items}, open(os.path.join(d, "data.json"), "w"))

# the standard library's own modules for python to parse
std = sysconfig.get_paths()["stdlib"]
mods = sorted(os.path.join(std, m) for m in os.listdir(std) if m.endswith(".py"))
open(os.path.join(d, "modules.txt"), "w").write("\n".join(mods[: max(5, int(60 * scale))]) + "\n")

with open(os.path.join(d, "rows.sql"), "w") as f:
    f.write("""create table t(id integer primary key, k integer, name text, v real);
with recursive c(i) as (select 1 union all select i + 1 from c where i < %d)
insert into t(k, name, v) select (i * 7919) %% 997, printf('row-%%d-%%x', i, i * 31), i * 0.5 from c;
create index t_k on t(k, name);
select k, count(*), sum(length(name)), max(name) from t group by k order by 2 desc, 1 limit 5;
select count(distinct substr(name, 1, 7)) from t where k between 100 and 600;
""" % n)

with open(os.path.join(d, "dict.tcl"), "w") as f:
    f.write("""set d [dict create]
for {set i 0} {$i < %d} {incr i} { dict set d k[expr {$i * 7919 %% %d}] [string repeat x [expr {1 + $i %% 7}]] }
set s 0
dict for {k v} $d { incr s [string length $v] }
puts "[dict size $d] $s"
""" % (n // 3, n))
open(os.path.join(d, "pi.bc"), "w").write("scale=%d\n4*a(1)\nquit\n" % max(100, int(900 * scale ** 0.5)))

# a git history: 40 files, each commit rewrites a few lines of a few of them
files = {"f%02d.txt" % k: [rng.choice(vocab) + " " + str(j) for j in range(300)] for k in range(40)}
out = []
def data(b):
    out.append(b"data %d\n" % len(b) + b + b"\n")
for c in range(max(10, int(200 * scale))):
    out.append(b"commit refs/heads/main\nmark :%d\n" % (c + 1))
    out.append(b"committer A <a@example.org> %d +0000\n" % (1700000000 + c * 60))
    data(b"commit %d" % c)
    if c:
        out.append(b"from :%d\n" % c)
    for name in (rng.sample(sorted(files), 4) if c else sorted(files)):
        lines = files[name]
        for _ in range(8):
            lines[rng.randrange(len(lines))] = rng.choice(vocab) + " " + str(c)
        out.append(b"M 100644 inline " + name.encode() + b"\n")
        data(("\n".join(lines) + "\n").encode())
repo = os.path.join(d, "repo")
subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
subprocess.run(["git", "-C", repo, "fast-import", "--quiet"], input=b"".join(out), check=True)
PY
        # what each prints, here, without a preload
        for name in "${names[@]}"; do
            mapfile -d '' -t cmd < <(argv "$name" "$d")
            "${cmd[@]}" >"$d/$name.expected" 2>&1 ||
                { echo "programs.sh: $name failed without a preload:" >&2; tail -5 "$d/$name.expected" >&2; exit 1; }
        done
        ;;
    *)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
