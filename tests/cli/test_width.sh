#!/bin/sh
# test_width.sh - what lamina prints for people fits the terminal: every
# command's --help (the commands read from `lamina --help`, the export
# formats from `lamina export --help`, so a new one is checked without
# editing this file) and usage errors fit 79 columns; `lamina info` of a
# model with many long feature and class names, and train's summary, fit
# COLUMNS=80 and COLUMNS=60, wrapped without losing or cutting a name;
# --json stays one line.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
# longest FILE: the length of its longest line in characters (UTF-8
# continuation bytes dropped: awk may count bytes)
longest() { LC_ALL=C tr -d '\200-\277' <"$1" | LC_ALL=C awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }'; }
# fits FILE N NAME: every line of FILE has at most N columns
fits() {
    n=$(longest "$1")
    [ "$n" -le "$2" ]; res $? "$3" "a line of $n columns (over $2): $(awk -v n="$2" 'length($0) > n' "$1" | head -n 2)"
}

# ------------------------------------------------------------ --help
"$L" --help >"$TMP/top" 2>&1
fits "$TMP/top" 79 width_help_lamina
cmds=$(sed -n '/^commands:/,/^$/p' "$TMP/top" | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ "$(echo $cmds | wc -w)" -ge 7 ]; res $? width_help_commands_listed "commands read: '$(echo $cmds)'"
for c in $cmds; do
    "$L" "$c" --help >"$TMP/h" 2>&1; rc=$?
    { [ "$rc" -eq 0 ] && grep -q 'usage: lamina' "$TMP/h"; }; res $? "width_help_${c}_runs" "rc $rc: $(head -n 2 "$TMP/h")"
    fits "$TMP/h" 79 "width_help_$c"
    "$L" help "$c" >"$TMP/h2" 2>&1
    cmp -s "$TMP/h" "$TMP/h2"; res $? "width_help_cmd_$c" "lamina help $c differs from lamina $c --help"
    # a usage error's message and hint
    "$L" "$c" --no-such-option >"$TMP/u" 2>&1; rc=$?
    [ "$rc" -eq 2 ]; res $? "width_usage_${c}_exit" "rc $rc"
    fits "$TMP/u" 79 "width_usage_$c"
done
"$L" export --help >"$TMP/ex" 2>&1
fmts=$(sed -n '/^Writes/,/^$/p' "$TMP/ex" | sed -n 's/^  \([a-z0-9][a-z0-9]*\) .*/\1/p')
[ "$(echo $fmts | wc -w)" -ge 2 ]; res $? width_help_export_formats_listed "formats read: '$(echo $fmts)'"
for f in $fmts; do
    "$L" export --format "$f" --help >"$TMP/h" 2>&1
    fits "$TMP/h" 79 "width_help_export_$f"
    "$L" export "$TMP/none.lmn" --format "$f" >"$TMP/u" 2>&1 # no --out
    fits "$TMP/u" 79 "width_usage_export_$f"
done
for c in train eval predict info import export; do "$L" "$c"; done >"$TMP/u" 2>&1
fits "$TMP/u" 79 width_usage_no_arguments
# The option texts keep every word: each option's description, joined
# from its lines, is the text the option table holds (spot checks).
"$L" train --help | awk '/^  --/ { if (t) print t; t = $0; next } /^        / { sub(/^ +/, " "); t = t $0; next } { if (t) print t; t = "" }' >"$TMP/joined"
grep -q -- '--layers SPEC  *layers after the input, e.g. 256:relu,10:softmax (output optional); also conv:32:3x3:same, maxpool:2, avgpool:2, gap, dropout:0.5, batchnorm, relu (a standalone activation)$' "$TMP/joined"
res $? width_help_text_kept "$(grep -- '--layers' "$TMP/joined")"

# ------------------------------------------------ info: long names
# 24 features with long names, one name wider than any line, and 4
# classes with long names.
awk 'BEGIN {
    h = ""
    for (j = 1; j <= 24; j++) h = h sprintf("measurement_of_something_long_%02d,", j)
    h = h "an_extremely_long_feature_name_that_is_wider_than_any_terminal_line_lamina_wraps_to_at_all,label"
    print h
    split("first_class_with_a_long_name second_class_with_a_long_name third_class_with_a_long_name fourth_class_with_a_long_name", cls, " ")
    for (i = 0; i < 40; i++) {
        r = ""
        for (j = 1; j <= 25; j++) r = r sprintf("%.2f,", ((i * 7 + j * 13) % 17) / 10)
        print r cls[i % 4 + 1]
    }
}' >"$TMP/wide.csv"
head -n 1 "$TMP/wide.csv" | sed 's/,label$//' >"$TMP/features"
tr ',' '\n' <"$TMP/features" | awk 'length($0) > 80' >"$TMP/toolong"
# 120 epochs: the per-epoch lines with 3-digit numbers and a validation set
COLUMNS=80 "$L" train --data "$TMP/wide.csv" --layers 16:relu,12:tanh --epochs 120 --val 0.25 --test "$TMP/wide.csv" \
    --out "$TMP/w.lmn" --threads 1 >"$TMP/train" 2>&1; rc=$?
[ "$rc" -eq 0 ]; res $? width_train_runs "rc $rc: $(head -n 3 "$TMP/train")"
# train's messages: the one line wider than 80 may be the path, which is the user's
grep -v "^read $TMP/wide.csv:" "$TMP/train" >"$TMP/train2"
fits "$TMP/train2" 80 width_train_summary_80
for w in 80 60; do
    COLUMNS=$w "$L" info "$TMP/w.lmn" >"$TMP/info" 2>&1; rc=$?
    [ "$rc" -eq 0 ]; res $? "width_info_runs_$w" "rc $rc: $(head -n 2 "$TMP/info")"
    # every line fits but the one holding the name wider than any line
    grep -vF -f "$TMP/toolong" "$TMP/info" >"$TMP/info2"
    fits "$TMP/info2" "$w" "width_info_$w"
    # the over-wide name is printed whole, on a line of its own
    grep -qx " *$(cat "$TMP/toolong"),\{0,1\}" "$TMP/info"
    res $? "width_info_long_name_whole_$w" "$(grep -F "$(cut -c 1-20 "$TMP/toolong")" "$TMP/info")"
    # the features entry joined back is the header's list, name for name
    awk '/^  features / { on = 1; printf "%s", substr($0, 20); next }
         on && /^                   [^ ]/ { printf "%s", substr($0, 20); next } { on = 0 }' "$TMP/info" >"$TMP/got"
    echo >>"$TMP/got"
    cmp -s "$TMP/features" "$TMP/got"; res $? "width_info_features_kept_$w" "joined: $(cat "$TMP/got")"
    # the classes, joined back
    awk '/^classes: / { on = 1; printf "%s", substr($0, 13); next }
         on && /^            [^ ]/ { printf " %s", substr($0, 13); next } { on = 0 }' "$TMP/info" >"$TMP/got"
    echo >>"$TMP/got"
    echo "first_class_with_a_long_name fourth_class_with_a_long_name second_class_with_a_long_name third_class_with_a_long_name" >"$TMP/want"
    cmp -s "$TMP/want" "$TMP/got"; res $? "width_info_classes_kept_$w" "joined: $(cat "$TMP/got")"
    # the layer table stays aligned: the header's "params" and each
    # layer's count end in column 49, the spec starts in column 52
    sed -n '/^  #   layer/,/^params:/p' "$TMP/info" | grep -v '^      input\|^params:' |
        awk '{ print (substr($0, 49, 3) ~ /^[0-9s]  $/ && substr($0, 52, 1) != " ") }' | sort -u >"$TMP/tab"
    [ "$(cat "$TMP/tab")" = 1 ]; res $? "width_info_table_$w" "$(sed -n '/^  #/,/^params/p' "$TMP/info")"
done
# demo: its sparkline of Unicode blocks
LC_ALL=C.UTF-8 COLUMNS=80 "$L" demo >"$TMP/demo" 2>&1; rc=$?
{ [ "$rc" -eq 0 ] && grep -q '^loss .* -> ' "$TMP/demo"; }; res $? width_demo_runs "rc $rc: $(head -n 3 "$TMP/demo")"
fits "$TMP/demo" 80 width_demo_80

# eval of 10 classes (as Fashion-MNIST's): the confusion matrix fits 80
awk 'BEGIN { print "a,b,label"; for (i = 0; i < 200; i++) printf "%d,%d,c%d\n", i % 10, (i * 3) % 7, i % 10 }' >"$TMP/ten.csv"
"$L" train --data "$TMP/ten.csv" --layers 8 --epochs 1 --out "$TMP/ten.lmn" --quiet >/dev/null 2>&1
COLUMNS=80 "$L" eval "$TMP/ten.lmn" --data "$TMP/ten.csv" >"$TMP/cm" 2>&1; rc=$?
{ [ "$rc" -eq 0 ] && grep -q '^ *c9 ' "$TMP/cm"; }; res $? width_eval_runs "rc $rc: $(head -n 3 "$TMP/cm")"
grep -v "^ten.lmn on " "$TMP/cm" | sed "s|^$TMP/ten.lmn on .*||" >"$TMP/cm2"
fits "$TMP/cm2" 80 width_eval_confusion_80

# An error message on a terminal 80 columns wide (script(1)) is wrapped
# at spaces, no word lost; written to a pipe or file it stays one line.
"$L" train --data "$TMP/wide.csv" --layers 4 --optimizer no-such-optimizer-at-all >"$TMP/o" 2>"$TMP/err"
if command -v script >/dev/null 2>&1; then
    script -qec "stty cols 80; COLUMNS= '$L' train --data '$TMP/wide.csv' --layers 4 --optimizer no-such-optimizer-at-all" \
        /dev/null >"$TMP/tty" 2>&1
    tr -d '\r' <"$TMP/tty" | grep -v '^$' >"$TMP/tty2"
    joined=$(awk '{ sub(/^ +/, ""); printf "%s%s", (NR > 1 ? " " : ""), $0 }' "$TMP/tty2")
    { [ "$(wc -l <"$TMP/err")" -eq 1 ] && [ "$(longest "$TMP/err")" -gt 80 ] &&
      [ "$(wc -l <"$TMP/tty2")" -ge 2 ] && [ "$(longest "$TMP/tty2")" -le 80 ] &&
      [ "$joined" = "$(cat "$TMP/err")" ]; }
    res $? width_error_on_terminal "piped: $(cat "$TMP/err") / on the terminal: $(cat "$TMP/tty2")"
else
    echo "skip width_error_on_terminal: script(1) is needed for a terminal"
fi
# The progress bar on a terminal 40 columns wide drops whole fields
# (the rate, the batch count) and never cuts the loss's digits
if command -v script >/dev/null 2>&1; then
    script -qec "stty cols 40; COLUMNS= '$L' train --data '$TMP/ten.csv' --layers 8 --epochs 3" \
        /dev/null >"$TMP/tty" 2>&1
    tr '\r' '\n' <"$TMP/tty" | sed 's/\x1b\[K//g' | grep '^epoch .*loss .*ETA' >"$TMP/bars"
    { [ -s "$TMP/bars" ] && [ "$(longest "$TMP/bars")" -le 39 ] &&
      ! grep -v 'loss [0-9]*\.[0-9][0-9][0-9][0-9]' "$TMP/bars" | grep -q .; }
    res $? width_progress_40_whole_fields "$(head -n 3 "$TMP/bars")"
else
    echo "skip width_progress_40_whole_fields: script(1) is needed for a terminal"
fi
# --json is for programs: one line, nothing wrapped
COLUMNS=40 "$L" info --json "$TMP/w.lmn" >"$TMP/json" 2>&1
{ [ "$(wc -l <"$TMP/json")" -eq 1 ] && grep -qF "\"features\": \"$(cat "$TMP/features")\"" "$TMP/json"; }
res $? width_info_json_unwrapped "$(wc -l <"$TMP/json") lines"
# A header name holding a comma is shown quoted in train's summary, and a
# quoted name is never broken across lines, at any width
printf '"radius, mean","texture, mean",area,y\n1,2,3,a\n4,5,6,b\n7,8,9,a\n' >"$TMP/cm.csv"
ok_all=0 why=""
for w in 40 44 48 52 56 60 80; do
    COLUMNS=$w "$L" train --data "$TMP/cm.csv" --layers 2 --epochs 1 >"$TMP/cm.out" 2>&1
    j=$(sed -n '1,/^target/p' "$TMP/cm.out" | sed '$d' | sed 's/^  //' | tr '\n' ' ')
    case $j in *'(header: "radius, mean", "texture, mean", area)'*) ;; *) ok_all=1 why="width $w: $j" ;; esac
    # each line holds whole quoted names: an even count of quotes
    odd=$(awk -F'"' 'NF % 2 == 0' "$TMP/cm.out" | head -n 1)
    [ -z "$odd" ] || { ok_all=1 why="width $w: a line ends inside a name: $odd"; }
done
res $ok_all width_quoted_names_not_broken "$why"
finish
