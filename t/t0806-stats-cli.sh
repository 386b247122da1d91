#!/bin/sh
# qib stats on a cohort table in long format (a gathered cohort.csv with
# cases SUBJECT_SESSION): the hand-worked 4 x 2 set of t0805, a subject
# with one measurement left out, the result table, the Bland-Altman PNG;
# the wide format; usage errors.
. "${top_srcdir:?}/t/t0800-lib.sh"

cat > "$tmp/cohort.csv" <<'CSV'
case,label,volume_ml
S1_retest,1,12
S1_test,1,10
S2_test,1,20
S2_retest,1,19
S3_test,1,30
S3_retest,1,33
S4_test,1,40
S4_retest,1,40
S5_test,1,50
CSV
run "$QIB" stats "$tmp/cohort.csv" --value volume_ml --subject-from-case _ --out "$tmp/r.csv" \
    --plot "$tmp/ba.png"
is_rc 0 "long format"
has "qib stats: subject S5 left out: 1 measurement of 2" "the subject measured once is named"
has "subjects n = 4, measurements per subject k = 2, grand mean 25.5" "n, k, mean"
has "plot: $tmp/ba.png (x: mean " "the plot's axis ranges are printed"
# Without --session the rows keep their order: S1 is (12, 10), so the
# differences are -2, -1, 3, 0: bias 0, SD sqrt(14/3).
v() { awk -F, -v k="$1" '$1 == k { print $2 }' "$tmp/r.csv"; }
is "$(v n),$(v k)" "4,2" "result table: n and k"
is "$(v wsd)" "$(python3 -c 'print(repr(1.75 ** 0.5))')" "wSD = sqrt(1.75), as in t0805"
is "$(v ba_bias)" "0" "bias of the differences -2, -1, 3, 0"
is "$(python3 -c "print(abs($(v ba_sd) - (14 / 3) ** 0.5) < 1e-12)")" True "SD of the differences sqrt(14/3)"
is "$(python3 -c "print(abs($(v icc31) - (1 - 2 * $(v mse) / ($(v msr) + $(v mse)))) < 1e-12)")" True \
    "ICC(3,1) = (MSR - MSE) / (MSR + MSE) for k = 2"

# --session orders each subject's measurements (as text): visit 1 first.
{
    echo "case,subject,visit,volume_ml"
    echo "a,S1,2,12"; echo "b,S1,1,10"; echo "c,S2,1,20"; echo "d,S2,2,19"
    echo "e,S3,1,30"; echo "f,S3,2,33"; echo "g,S4,2,40"; echo "h,S4,1,40"
} > "$tmp/visits.csv"
run "$QIB" stats "$tmp/visits.csv" --value volume_ml --subject subject --session visit --out "$tmp/s.csv"
is_rc 0 "--subject and --session"
is "$(awk -F, '$1 == "ba_bias" { print $2 }' "$tmp/s.csv")" 1 \
    "visit 1 first: the hand-worked bias 1 of t0805"

# The PNG: signature and IHDR 640 x 480 RGB.
hdr=$(od -An -tx1 -N26 "$tmp/ba.png" | tr -d ' \n')
is "$hdr" "89504e470d0a1a0a0000000d4948445200000280000001e00802" "Bland-Altman PNG: 640 x 480, 8-bit RGB"

# Wide format: Shrout & Fleiss (1979) Table 2.
printf 'target,j1,j2,j3,j4\nA,9,2,5,8\nB,6,1,3,2\nC,8,4,6,8\nD,7,1,2,6\nE,10,5,6,9\nF,6,2,4,7\n' > "$tmp/sf.csv"
run "$QIB" stats "$tmp/sf.csv" --wide j1,j2,j3,j4
is_rc 0 "wide format"
has "ICC(2,1)                 0.2898  95 % CI [0.0188, 0.7611]" "ICC(2,1) .29 (Shrout & Fleiss 1979)"
has "ICC(3,1)                 0.7148  95 % CI [0.3425, 0.9459]" "ICC(3,1) .71 (Shrout & Fleiss 1979)"

run "$QIB" stats "$tmp/sf.csv" --wide j1,j2,j3,j4 --plot "$tmp/x.png"
is_rc 1 "--plot needs k = 2"
run "$QIB" stats "$tmp/sf.csv" --wide j1,jx
is_rc 2 "an unknown column"
has "no column \"jx\"" "named"
run "$QIB" stats "$tmp/cohort.csv" --value volume_ml
is_rc 2 "no subject"
run "$QIB" stats "$tmp/cohort.csv" --value volume_ml --subject-from-case -
is_rc 2 "a case without the separator"
printf 'case,v\nS1_a,1\nS1_b,x\n' > "$tmp/nan.csv"
run "$QIB" stats "$tmp/nan.csv" --value v --subject-from-case _
is_rc 1 "a value that is not a number"
has "record 3, column v: \"x\" is not a number" "named"
finish
