#!/usr/bin/env bats
# perl and git under the library.

load test_helper

setup() {
    common_setup
    export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
    export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
    export GIT_CONFIG_NOSYSTEM=1 HOME="$T"
}

@test "the library is loaded into perl and git" {
    run_both perl -e 'print "hi\n"'
    assert_loaded perl
    run_both git --version
    assert_loaded git
}

@test "perl runs hashes, regexes and sorting unchanged" {
    cat >"$T/p.pl" <<'PL'
my %h; my @a;
for my $i (1 .. 200000) { my $k = "k" . ($i * 7919 % 50021); $h{$k} .= chr(65 + $i % 26); push @a, $k if $i % 5 == 0; }
my $n = grep { /7.*9/ } keys %h;
my @s = sort { length($h{$b}) <=> length($h{$a}) || $a cmp $b } keys %h;
print scalar(keys %h), " $n $s[0] ", scalar(@a), "\n";
my $str = join(",", @a); $str =~ s/k(\d+)/<$1>/g; print length($str), "\n";
PL
    run_both perl "$T/p.pl"
    assert_loaded perl
    assert_same
    assert_quiet
}

@test "git init, add, commit, log and gc run unchanged" {
    work() {
        rm -rf "$T/repo" && mkdir "$T/repo" && cd "$T/repo"
        git init -q -b main .
        for i in $(seq 1 30); do
            seq 1 $((i * 100)) >"file$i.txt"
            git add "file$i.txt"
            git commit -qm "commit $i"
        done
        git log --oneline | wc -l
        git log --stat -3 | tail -5
        git gc -q && git count-objects -v | grep -E '^(count|in-pack)'
        git rev-parse HEAD
    }
    work >"$T/plain.out" 2>"$T/plain.err"
    export LD_PRELOAD="$LIB" MYMALLOC_OPTIONS=stats=1
    work >"$T/lib.out" 2>"$T/lib.err"
    export MYMALLOC_OPTIONS="heapmap=$T/quiet.%p.svg"
    work >"$T/quiet.out" 2>"$T/quiet.err"
    unset LD_PRELOAD MYMALLOC_OPTIONS
    plain_status=0 lib_status=0 quiet_status=0
    assert_loaded git
    assert_same
    assert_quiet
}
