#!/bin/sh
# bench/radiomics: bio.radiomics wall time and peak memory.
# 1. The IBSI pipelines on the CT radiomics phantom (PAT1, 204x201x60, GTV
#    125256 voxels) and on the digital phantom, each with 1 and 2 threads,
#    best of N runs: wall time of the whole `qib run` and of the
#    bio.radiomics step, CPU (user + system) and peak RSS.  Configuration
#    C, the full feature set at 2 mm, is the reference point (goal: under
#    2 s on 2 cores).
# 2. Configuration C on a 512x512x300 CT (0.8 x 0.8 x 1 mm, int16) with a
#    150 mL spherical lesion from `qib phantom ct-lesion`: the full set with
#    1 and 2 threads, then one run per feature family (families: X) with 2
#    threads: wall time, CPU, peak RSS, and the family's own wall and CPU
#    time as the plugin records them in provenance.json
#    (family_wall_seconds, family_cpu_seconds).
# CPU seconds are the figure to compare on a shared machine: wall times grow
# with the load average, printed first.
# No peer runs here: PyRadiomics, MIRP and the other IBSI-tested tools are
# not packaged in Debian 12 (see README).
# Usage: bench/radiomics/run.sh [N]   from a build directory
#        (QIB: the qib command, default ./qib; QIB_PLUGIN_PATH: the plugins,
#         default ./plugins/.libs; QIB_REFDATA: the shared reference data;
#         DATA: where the 512x512x300 CT is generated when missing,
#         default ./bench-radiomics-data)
set -u
n=${1:-3}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
QIB=${QIB:-./qib}
QIB_PLUGIN_PATH=${QIB_PLUGIN_PATH:-$PWD/plugins/.libs}
QIB_REFDATA=${QIB_REFDATA:-$src/../shared/refdata}
DATA=${DATA:-$PWD/bench-radiomics-data}
export QIB_PLUGIN_PATH
d=$QIB_REFDATA/ibsi_data_sets/orig
ct_img=$d/ibsi_1_ct_radiomics_phantom/nifti/image/phantom.nii.gz
ct_msk=$d/ibsi_1_ct_radiomics_phantom/nifti/mask/mask.nii.gz
ph_img=$d/ibsi_1_digital_phantom/nifti/image/phantom.nii.gz
ph_msk=$d/ibsi_1_digital_phantom/nifti/mask/mask.nii.gz
[ -f "$ct_img" ] || { echo "CT radiomics phantom not found under $QIB_REFDATA" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# The lesion: a sphere of 150 mL, radius (3 * 150000 / (4 pi))^(1/3) mm.
radius=$(awk 'BEGIN { printf "%.4f", (3 * 150000 / (4 * atan2(0, -1))) ^ (1 / 3) }')
if [ ! -f "$DATA/ct.nii.gz" ] || [ ! -f "$DATA/roi.nii.gz" ]; then
    echo "# generating the 512x512x300 CT in $DATA" >&2
    mkdir -p "$DATA" && "$QIB" phantom ct-lesion --out "$DATA" --size 512 --slices 300 \
        --spacing 0.8,0.8,1 --radius "$radius" >&2 || exit 1
fi

# own RECORD FAMILY: the family's seconds in a family_*_seconds record
# (morph: morph and morph_moran_geary together).
own() {
    printf '%s\n' "$1" | tr ',' '\n' | awk -v f="$2" '
        { sub(/^ +/, ""); split($0, a, " ")
          if (a[1] == f || (f == "morph" && a[1] ~ /^morph/)) s += a[2] }
        END { printf "%.3f", s }'
}

# bench PIPELINE IMAGE MASK THREADS: best of n runs; sets wall step cpu
# peak (MiB), fam and famcpu (the family_wall_seconds and
# family_cpu_seconds records of the best run).
bench() {
    wall= step= cpu= peak= fam= famcpu=
    i=0
    while [ $i -lt "$n" ]; do
        i=$((i + 1))
        rm -rf "$tmp/out"
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$QIB" run "$1" --input image="$2" \
            --input mask="$3" --out "$tmp/out" --threads "$4" > "$tmp/log" 2>&1 ||
            { cat "$tmp/log" >&2; exit 1; }
        read -r w u sy m < "$tmp/time"
        if [ -z "$wall" ] || awk -v a="$w" -v b="$wall" 'BEGIN { exit !(a < b) }'; then
            wall=$w
            cpu=$(awk -v u="$u" -v s="$sy" 'BEGIN { printf "%.2f", u + s }')
            peak=$(awk -v k="$m" 'BEGIN { printf "%.0f", k / 1024 }')
            step=$(sed -n 's/.*features (bio.radiomics[^)]*): \([0-9.]*\) s.*/\1/p' "$tmp/log")
            fam=$(sed -n 's/.*"family_wall_seconds": "\([^"]*\)".*/\1/p' "$tmp/out/provenance.json")
            famcpu=$(sed -n 's/.*"family_cpu_seconds": "\([^"]*\)".*/\1/p' "$tmp/out/provenance.json")
        fi
    done
}

printf '# %s, %s CPUs, load %s, best of %s runs\n' "$(uname -m)" "$(nproc)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$n"
echo "# 1. IBSI phantoms"
printf '%-26s %7s %8s %8s %8s %9s\n' pipeline threads wall_s step_s cpu_s peak_MiB
for p in digital-phantom config-a config-b config-c config-d config-e; do
    if [ $p = digital-phantom ]; then img=$ph_img msk=$ph_msk; else img=$ct_img msk=$ct_msk; fi
    for t in 1 2; do
        bench "$src/pipelines/ibsi-$p.yaml" "$img" "$msk" $t
        printf '%-26s %7s %8s %8s %8s %9s\n' "ibsi-$p" $t "$wall" "$step" "$cpu" "$peak"
    done
done

echo "# 2. configuration C, 512x512x300 CT, 150 mL lesion (radius $radius mm)"
printf '%-26s %7s %8s %8s %8s %9s\n' pipeline threads wall_s step_s cpu_s peak_MiB
for t in 1 2; do
    bench "$src/pipelines/ibsi-config-c.yaml" "$DATA/ct.nii.gz" "$DATA/roi.nii.gz" $t
    printf '%-26s %7s %8s %8s %8s %9s\n' "ibsi-config-c" $t "$wall" "$step" "$cpu" "$peak"
    echo "#   family wall s ($t threads): $fam"
    echo "#   family CPU s ($t threads): $famcpu"
done
echo "# per family (configuration C with families: X, 2 threads); fam_wall_s, fam_cpu_s: the"
echo "# family's own computation; the rest of step_s is interpolation and discretisation"
printf '%-26s %8s %8s %8s %10s %9s %9s\n' family wall_s step_s cpu_s fam_wall_s fam_cpu_s peak_MiB
for f in morph local stat ih ivh glcm glrlm glszm gldzm ngtdm ngldm; do
    sed "s/^      texture_3d: true\$/      texture_3d: true\n      families: $f/" \
        "$src/pipelines/ibsi-config-c.yaml" > "$tmp/c-$f.yaml"
    grep -q "families: $f" "$tmp/c-$f.yaml" || { echo "cannot derive the $f pipeline" >&2; exit 1; }
    bench "$tmp/c-$f.yaml" "$DATA/ct.nii.gz" "$DATA/roi.nii.gz" 2
    printf '%-26s %8s %8s %8s %10s %9s %9s\n' "$f" "$wall" "$step" "$cpu" "$(own "$fam" $f)" \
        "$(own "$famcpu" $f)" "$peak"
done
