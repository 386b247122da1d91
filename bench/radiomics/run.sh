#!/bin/sh
# bench/radiomics: the IBSI pipelines on the CT radiomics phantom (PAT1,
# 204x201x60, GTV 125256 voxels) and on the digital phantom, each run with
# 1 and 2 threads, best of N runs: wall time of the whole `qib run` and of
# the bio.radiomics step, and user CPU.  Configuration C, the full feature
# set at 2 mm, is the reference point (goal: under 2 s on 2 cores).
# Usage: bench/radiomics/run.sh [N]   from a build directory
#        (QIB: the qib command, default ./qib; QIB_PLUGIN_PATH: the plugins,
#         default ./plugins/.libs; QIB_REFDATA: the shared reference data)
set -u
n=${1:-3}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
QIB=${QIB:-./qib}
QIB_PLUGIN_PATH=${QIB_PLUGIN_PATH:-$PWD/plugins/.libs}
QIB_REFDATA=${QIB_REFDATA:-$src/../shared/refdata}
export QIB_PLUGIN_PATH
d=$QIB_REFDATA/ibsi_data_sets/orig
ct_img=$d/ibsi_1_ct_radiomics_phantom/nifti/image/phantom.nii.gz
ct_msk=$d/ibsi_1_ct_radiomics_phantom/nifti/mask/mask.nii.gz
ph_img=$d/ibsi_1_digital_phantom/nifti/image/phantom.nii.gz
ph_msk=$d/ibsi_1_digital_phantom/nifti/mask/mask.nii.gz
[ -f "$ct_img" ] || { echo "CT radiomics phantom not found under $QIB_REFDATA" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
printf '# %s, %s CPUs, load %s\n' "$(uname -m)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %7s %9s %9s %9s\n' pipeline threads wall_s step_s user_s
for p in digital-phantom config-a config-b config-c config-d config-e; do
    if [ $p = digital-phantom ]; then img=$ph_img msk=$ph_msk; else img=$ct_img msk=$ct_msk; fi
    for t in 1 2; do
        best=; bstep=; buser=
        i=0
        while [ $i -lt "$n" ]; do
            i=$((i + 1))
            rm -rf "$tmp/out"
            /usr/bin/time -f '%e %U' -o "$tmp/time" "$QIB" run "$src/pipelines/ibsi-$p.yaml" \
                --input image="$img" --input mask="$msk" --out "$tmp/out" --threads $t \
                > "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
            read -r wall user < "$tmp/time"
            step=$(sed -n 's/.*features (bio.radiomics[^)]*): \([0-9.]*\) s.*/\1/p' "$tmp/log")
            if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
                best=$wall bstep=$step buser=$user
            fi
        done
        printf '%-22s %7s %9s %9s %9s\n' "ibsi-$p" $t "$best" "$bstep" "$buser"
    done
done
