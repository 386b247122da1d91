/* bio.percist: PERCIST 1.0 response between a baseline and a follow-up PET
 * scan, from each scan's lesion table (bio.suv: SULpeak per lesion) and
 * reference table (bio.percist_ref): the hottest lesion's SULpeak at each
 * time point, its change, measurability, reference stability and the class
 * CMR / PMR / SMD / PMD (or NE) with the rule that decided it. */
#include <config.h>

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "qib/qib.h"

struct percist {
    double pmr_pct, pmr_abs, pmd_pct, pmd_abs;
    double ref_pct, ref_abs;
    int64_t new_lesions;
    char *peak_column;
};

/* Values within this of a boundary count as on it: 4.0 -> 2.8 is a fall of
 * exactly 30 % and 1.2 SUL in decimal, but of 29.999999999999996 % in
 * binary floating point.  Far below any measured difference. */
#define BOUNDARY_TOL 1e-9

static int same_text_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static int check(qib_step *step, const void *priv)
{
    const struct percist *p = priv;
    if (p->peak_column && !*p->peak_column)
        return qib_fail(step, QIB_EINVAL,
                        "peak_column: expected a column name such as sul_peak_global, "
                        "found \"\"");
    return QIB_OK;
}

/* What one time point contributes. */
struct tp {
    const char *name;      /* "baseline" or "followup" */
    const char *reference; /* "liver" or "blood_pool" */
    const char *unit;      /* of the reference table's ref_mean */
    double ref_mean, ref_sd, threshold;
    double peak;  /* hottest lesion's SULpeak, NaN when there is none */
    int64_t label; /* its label, -1 when unknown */
    int has_label;
    size_t lesions;
};

static int find_col(qib_step *step, const qib_table *t, const char *port, const char *name,
                    size_t *col)
{
    if (qib_table_find(t, name, col) != QIB_OK)
        return qib_fail(step, QIB_EINVAL,
                        "%s: the table has no column \"%s\" (expected the output of %s)", port,
                        name,
                        strstr(port, "_ref") ? "bio.percist_ref" : "bio.suv");
    return QIB_OK;
}

static int read_ref(qib_step *step, const char *port, struct tp *tp)
{
    const qib_table *t = qib_step_in_table(step, port);
    size_t c_ref, c_mean, c_sd, c_thr;
    int rc;
    if (!t)
        return qib_fail(step, QIB_EINVAL, "%s: no table wired to the input", port);
    if ((rc = find_col(step, t, port, "reference", &c_ref)) ||
        (rc = find_col(step, t, port, "ref_mean", &c_mean)) ||
        (rc = find_col(step, t, port, "ref_sd", &c_sd)) ||
        (rc = find_col(step, t, port, "threshold", &c_thr)))
        return rc;
    if (qib_table_nrows(t) != 1)
        return qib_fail(step, QIB_EINVAL, "%s: expected one row (one reference region), found %zu",
                        port, qib_table_nrows(t));
    tp->reference = qib_table_get_string(t, 0, c_ref);
    tp->ref_mean = qib_table_get_double(t, 0, c_mean);
    tp->ref_sd = qib_table_get_double(t, 0, c_sd);
    tp->threshold = qib_table_get_double(t, 0, c_thr);
    tp->unit = qib_table_col_unit(t, c_mean);
    if (!tp->reference || (strcmp(tp->reference, "liver") && strcmp(tp->reference, "blood_pool")))
        return qib_fail(step, QIB_EINVAL, "%s: reference: expected liver or blood_pool, found %s",
                        port, tp->reference ? tp->reference : "no value");
    if (!isfinite(tp->ref_mean) || !isfinite(tp->ref_sd) || !isfinite(tp->threshold))
        return qib_fail(step, QIB_EINVAL,
                        "%s: ref_mean, ref_sd and threshold must be numbers, found %g, %g, %g",
                        port, tp->ref_mean, tp->ref_sd, tp->threshold);
    return QIB_OK;
}

/* The hottest lesion of a bio.suv table: the row with the highest peak. */
static int read_lesions(qib_step *step, const struct percist *p, const char *port,
                        struct tp *tp)
{
    const qib_table *t = qib_step_in_table(step, port);
    size_t c_peak, c_label;
    int rc;
    if (!t)
        return qib_fail(step, QIB_EINVAL, "%s: no table wired to the input", port);
    if (p->peak_column) {
        if ((rc = find_col(step, t, port, p->peak_column, &c_peak)))
            return rc;
    } else if (qib_table_find(t, "sul_peak_global", &c_peak) != QIB_OK &&
               qib_table_find(t, "suv_peak_global", &c_peak) != QIB_OK) {
        return qib_fail(step, QIB_EINVAL,
                        "%s: the table has no column sul_peak_global or suv_peak_global "
                        "(expected the output of bio.suv, or name the column with "
                        "peak_column)",
                        port);
    }
    if (qib_table_col_type(t, c_peak) == QIB_COL_STRING)
        return qib_fail(step, QIB_EINVAL, "%s: column %s holds text, expected numbers", port,
                        qib_table_col_name(t, c_peak));
    /* The peak's unit must be the reference's; a table from a NIfTI image
     * has none and takes the reference's, which was checked on the image. */
    const char *u = qib_table_col_unit(t, c_peak);
    if (*u && *tp->unit && !same_text_nocase(u, tp->unit))
        return qib_fail(step, QIB_EINVAL,
                        "%s: column %s is in %s but the %s reference is in %s: give both "
                        "from the same SUL image",
                        port, qib_table_col_name(t, c_peak), u, tp->name, tp->unit);
    tp->has_label = qib_table_find(t, "label", &c_label) == QIB_OK;
    tp->peak = NAN;
    tp->label = -1;
    tp->lesions = 0;
    for (size_t r = 0; r < qib_table_nrows(t); r++) {
        double v = qib_table_get_double(t, r, c_peak);
        if (isnan(v))
            continue;
        tp->lesions++;
        if (isnan(tp->peak) || v > tp->peak) {
            tp->peak = v;
            tp->label = tp->has_label ? qib_table_get_int(t, r, c_label) : -1;
        }
    }
    return QIB_OK;
}

enum col {
    C_RESPONSE, C_RULE, C_DETAIL, C_REFERENCE,
    C_PEAK0, C_LABEL0, C_PEAK1, C_LABEL1, C_CHANGE, C_CHANGE_PCT,
    C_MEAN0, C_SD0, C_THR0, C_MEAS0, C_MEAN1, C_SD1, C_THR1, C_MEAS1,
    C_REF_CHANGE, C_REF_CHANGE_PCT, C_REF_STABLE, C_NEW, NCOL
};

static const struct {
    const char *name;
    enum qib_coltype type;
    int unit; /* 0 none, 1 SUL, 2 percent */
} cols[NCOL] = {
    [C_RESPONSE] = {"response", QIB_COL_STRING, 0},
    [C_RULE] = {"rule", QIB_COL_STRING, 0},
    [C_DETAIL] = {"rule_detail", QIB_COL_STRING, 0},
    [C_REFERENCE] = {"reference", QIB_COL_STRING, 0},
    [C_PEAK0] = {"sul_peak_baseline", QIB_COL_DOUBLE, 1},
    [C_LABEL0] = {"label_baseline", QIB_COL_INT, 0},
    [C_PEAK1] = {"sul_peak_followup", QIB_COL_DOUBLE, 1},
    [C_LABEL1] = {"label_followup", QIB_COL_INT, 0},
    [C_CHANGE] = {"change", QIB_COL_DOUBLE, 1},
    [C_CHANGE_PCT] = {"change_pct", QIB_COL_DOUBLE, 2},
    [C_MEAN0] = {"ref_mean_baseline", QIB_COL_DOUBLE, 1},
    [C_SD0] = {"ref_sd_baseline", QIB_COL_DOUBLE, 1},
    [C_THR0] = {"threshold_baseline", QIB_COL_DOUBLE, 1},
    [C_MEAS0] = {"measurable_baseline", QIB_COL_INT, 0},
    [C_MEAN1] = {"ref_mean_followup", QIB_COL_DOUBLE, 1},
    [C_SD1] = {"ref_sd_followup", QIB_COL_DOUBLE, 1},
    [C_THR1] = {"threshold_followup", QIB_COL_DOUBLE, 1},
    [C_MEAS1] = {"measurable_followup", QIB_COL_INT, 0},
    [C_REF_CHANGE] = {"ref_change", QIB_COL_DOUBLE, 1},
    [C_REF_CHANGE_PCT] = {"ref_change_pct", QIB_COL_DOUBLE, 2},
    [C_REF_STABLE] = {"ref_stable", QIB_COL_INT, 0},
    [C_NEW] = {"new_lesions", QIB_COL_INT, 0},
};

/* The decision, in PERCIST 1.0's order: new lesions make PMD whatever the
 * target does; without a measurable baseline target there is nothing to
 * compare; a follow-up target at or below the reference mean is CMR; then
 * the 30 % and 0.8 SUL fall (PMR) or rise (PMD); else SMD. */
struct verdict {
    const char *response, *rule;
    char detail[256];
};

static void classify(const struct percist *p, const struct tp *b, const struct tp *f,
                     double change, double pct, struct verdict *v)
{
    const char *u = *b->unit ? b->unit : "SUL";
    if (p->new_lesions > 0) {
        v->response = "PMD";
        v->rule = "new_lesions";
        snprintf(v->detail, sizeof v->detail, "%" PRId64 " new FDG-avid lesion(s) typical of "
                 "cancer", p->new_lesions);
        return;
    }
    if (isnan(b->peak)) {
        v->response = "NE";
        v->rule = "baseline_no_lesion";
        snprintf(v->detail, sizeof v->detail, "no lesion at baseline: no target to follow");
        return;
    }
    if (!(b->peak >= b->threshold - BOUNDARY_TOL)) {
        v->response = "NE";
        v->rule = "baseline_not_measurable";
        snprintf(v->detail, sizeof v->detail,
                 "baseline SULpeak %.4g %s is below the measurability threshold %.4g %s",
                 b->peak, u, b->threshold, u);
        return;
    }
    if (f->peak <= f->ref_mean + BOUNDARY_TOL) {
        v->response = "CMR";
        v->rule = strcmp(f->reference, "liver") == 0 ? "cmr_at_or_below_liver_mean"
                                                      : "cmr_at_or_below_blood_pool_mean";
        snprintf(v->detail, sizeof v->detail,
                 "follow-up SULpeak %.4g %s is at or below the follow-up %s mean %.4g %s",
                 f->peak, u, strcmp(f->reference, "liver") == 0 ? "liver" : "blood-pool",
                 f->ref_mean, u);
        return;
    }
    int pct_fall = pct <= -p->pmr_pct + BOUNDARY_TOL;
    int abs_fall = change <= -p->pmr_abs + BOUNDARY_TOL;
    int pct_rise = pct >= p->pmd_pct - BOUNDARY_TOL;
    int abs_rise = change >= p->pmd_abs - BOUNDARY_TOL;
    if (pct_fall && abs_fall) {
        v->response = "PMR";
        v->rule = "pmr_fall";
        snprintf(v->detail, sizeof v->detail,
                 "SULpeak fell %.4g %% and %.4g %s (PMR: at least %g %% and %g %s)", -pct,
                 -change, u, p->pmr_pct, p->pmr_abs, u);
        return;
    }
    if (pct_rise && abs_rise) {
        v->response = "PMD";
        v->rule = "pmd_rise";
        snprintf(v->detail, sizeof v->detail,
                 "SULpeak rose %.4g %% and %.4g %s (PMD: at least %g %% and %g %s)", pct,
                 change, u, p->pmd_pct, p->pmd_abs, u);
        return;
    }
    v->response = "SMD";
    if (pct_fall) {
        v->rule = "smd_fall_below_abs";
        snprintf(v->detail, sizeof v->detail,
                 "SULpeak fell %.4g %% but only %.4g %s (PMR needs %g %s)", -pct, -change, u,
                 p->pmr_abs, u);
    } else if (pct_rise) {
        v->rule = "smd_rise_below_abs";
        snprintf(v->detail, sizeof v->detail,
                 "SULpeak rose %.4g %% but only %.4g %s (PMD needs %g %s)", pct, change, u,
                 p->pmd_abs, u);
    } else {
        v->rule = "smd_change_below_pct";
        snprintf(v->detail, sizeof v->detail,
                 "SULpeak changed %+.4g %% (%+.4g %s): less than %g %% fall or %g %% rise", pct,
                 change, u, p->pmr_pct, p->pmd_pct);
    }
}

static int run(qib_step *step, void *priv)
{
    const struct percist *p = priv;
    struct tp b = {.name = "baseline"}, f = {.name = "followup"};
    int rc;
    if ((rc = read_ref(step, "baseline_ref", &b)) || (rc = read_ref(step, "followup_ref", &f)))
        return rc;
    if (strcmp(b.reference, f.reference))
        return qib_fail(step, QIB_EINVAL,
                        "followup_ref: the reference is %s at follow-up but %s at baseline: "
                        "use the same reference (blood_pool at both when the liver is "
                        "abnormal at either)",
                        f.reference, b.reference);
    if (!same_text_nocase(b.unit, f.unit))
        return qib_fail(step, QIB_EINVAL,
                        "followup_ref: ref_mean is in \"%s\" at follow-up but \"%s\" at "
                        "baseline",
                        f.unit, b.unit);
    if ((rc = read_lesions(step, p, "baseline", &b)) ||
        (rc = read_lesions(step, p, "followup", &f)))
        return rc;
    /* Only a measurable baseline target without new lesions needs its
     * follow-up value; otherwise the class does not depend on it. */
    if (!isnan(b.peak) && b.peak >= b.threshold - BOUNDARY_TOL && p->new_lesions == 0 &&
        isnan(f.peak))
        return qib_fail(step, QIB_EINVAL,
                        "followup: the table has no lesion with a value: when the target "
                        "has resolved, give a mask of its former site (PERCIST measures the "
                        "SULpeak there)");

    double change = f.peak - b.peak, pct = 100.0 * change / b.peak;
    double ref_change = f.ref_mean - b.ref_mean, ref_pct = 100.0 * ref_change / b.ref_mean;
    /* PERCIST 1.0: the reference may vary by no more than 20 % and less
     * than 0.3 SUL between the scans. */
    int stable = fabs(ref_pct) <= p->ref_pct + BOUNDARY_TOL &&
                 fabs(ref_change) < p->ref_abs - BOUNDARY_TOL;
    struct verdict v;
    classify(p, &b, &f, change, pct, &v);
    if (!stable)
        qib_step_log(step, "warning: the %s reference changed %+.4g %% (%+.4g) between the "
                           "scans, beyond %g %% / %g: the scans may not be comparable "
                           "(ref_stable = 0)",
                     b.reference, ref_pct, ref_change, p->ref_pct, p->ref_abs);

    qib_table *t = NULL;
    const char *unit = *b.unit ? b.unit : NULL;
    size_t r;
    if ((rc = qib_table_new(&t)))
        goto fail;
    for (int c = 0; c < NCOL; c++)
        if ((rc = qib_table_add_column(t, cols[c].name, cols[c].type,
                                       cols[c].unit == 1 ? unit
                                       : cols[c].unit == 2 ? "%"
                                                           : NULL,
                                       NULL, NULL)))
            goto fail;
    if ((rc = qib_table_add_row(t, &r)))
        goto fail;
    const double d[NCOL] = {
        [C_PEAK0] = b.peak, [C_PEAK1] = f.peak, [C_CHANGE] = change, [C_CHANGE_PCT] = pct,
        [C_MEAN0] = b.ref_mean, [C_SD0] = b.ref_sd, [C_THR0] = b.threshold,
        [C_MEAN1] = f.ref_mean, [C_SD1] = f.ref_sd, [C_THR1] = f.threshold,
        [C_REF_CHANGE] = ref_change, [C_REF_CHANGE_PCT] = ref_pct,
    };
    for (int c = 0; c < NCOL; c++)
        if (cols[c].type == QIB_COL_DOUBLE && (rc = qib_table_set_double(t, r, (size_t)c, d[c])))
            goto fail;
    if ((rc = qib_table_set_string(t, r, C_RESPONSE, v.response)) ||
        (rc = qib_table_set_string(t, r, C_RULE, v.rule)) ||
        (rc = qib_table_set_string(t, r, C_DETAIL, v.detail)) ||
        (rc = qib_table_set_string(t, r, C_REFERENCE, b.reference)) ||
        (b.label >= 0 && (rc = qib_table_set_int(t, r, C_LABEL0, b.label))) ||
        (f.label >= 0 && (rc = qib_table_set_int(t, r, C_LABEL1, f.label))) ||
        (!isnan(b.peak) &&
         (rc = qib_table_set_int(t, r, C_MEAS0, b.peak >= b.threshold - BOUNDARY_TOL))) ||
        (!isnan(f.peak) &&
         (rc = qib_table_set_int(t, r, C_MEAS1, f.peak >= f.threshold - BOUNDARY_TOL))) ||
        (rc = qib_table_set_int(t, r, C_REF_STABLE, stable)) ||
        (rc = qib_table_set_int(t, r, C_NEW, p->new_lesions)))
        goto fail;
    qib_meta *m = qib_table_meta_mut(t);
    if (!m) {
        rc = QIB_EBUSY;
        goto fail;
    }
    if ((unit && (rc = qib_meta_set(m, "units", unit, "baseline_ref"))) ||
        (rc = qib_meta_set(m, "definitions",
                           "PERCIST 1.0 (Wahl et al. 2009): SULpeak of the hottest lesion at "
                           "each time point (not necessarily the same lesion); change = "
                           "follow-up - baseline, change_pct = 100 x change / baseline; "
                           "boundaries inclusive, within 1e-9",
                           "computed")))
        goto fail;
    return qib_step_set_table(step, "table", t);

fail:
    qib_table_unref(&t);
    if (rc == QIB_ENOMEM)
        return qib_fail(step, rc, "out of memory");
    return rc;
}

static const struct qib_param params[] = {
    {.name = "new_lesions", .type = QIB_PARAM_INT, .offset = offsetof(struct percist, new_lesions),
     .def = "0", .min = 0, .max = 10000, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "number of new FDG-avid lesions typical of cancer at follow-up (a reader's "
             "count); any makes the response PMD"},
    {.name = "pmr_pct", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct percist, pmr_pct),
     .def = "30", .min = 0, .max = 100, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "%",
     .help = "smallest fall of the hottest lesion's SULpeak, in percent of baseline, for "
             "PMR; PERCIST 1.0: 30"},
    {.name = "pmr_abs", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct percist, pmr_abs),
     .def = "0.8", .min = 0, .max = 100, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "SUL",
     .help = "smallest absolute fall of that SULpeak for PMR, in SUL; PERCIST 1.0: 0.8"},
    {.name = "pmd_pct", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct percist, pmd_pct),
     .def = "30", .min = 0, .max = 10000, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "%",
     .help = "smallest rise of that SULpeak, in percent of baseline, for PMD; PERCIST 1.0: "
             "30"},
    {.name = "pmd_abs", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct percist, pmd_abs),
     .def = "0.8", .min = 0, .max = 100, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "SUL",
     .help = "smallest absolute rise of that SULpeak for PMD, in SUL; PERCIST 1.0: 0.8"},
    {.name = "ref_change_pct", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct percist, ref_pct),
     .def = "20", .min = 0, .max = 1000, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "%",
     .help = "largest change of the reference mean between the scans, in percent of "
             "baseline, for ref_stable; PERCIST 1.0: 20"},
    {.name = "ref_change_abs", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct percist, ref_abs),
     .def = "0.3", .min = 0, .max = 100, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "SUL",
     .help = "the reference mean must change by less than this between the scans, in SUL, "
             "for ref_stable; PERCIST 1.0: 0.3"},
    {.name = "peak_column", .type = QIB_PARAM_STRING,
     .offset = offsetof(struct percist, peak_column),
     .help = "column of the lesion tables holding the SULpeak; unset: sul_peak_global, else "
             "suv_peak_global (bio.suv's global peak: the highest 1 cm^3 sphere mean centred "
             "in the lesion, as PERCIST places its peak)"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "baseline", .kind = QIB_OBJ_TABLE,
     .help = "baseline lesions: bio.suv table of the baseline SUL image (one row per lesion)"},
    {.name = "followup", .kind = QIB_OBJ_TABLE,
     .help = "follow-up lesions: bio.suv table of the follow-up SUL image"},
    {.name = "baseline_ref", .kind = QIB_OBJ_TABLE,
     .help = "baseline reference: bio.percist_ref table (reference, ref_mean, ref_sd, "
             "threshold)"},
    {.name = "followup_ref", .kind = QIB_OBJ_TABLE,
     .help = "follow-up reference: bio.percist_ref table, same reference as at baseline"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "one row: response (CMR, PMR, SMD, PMD or NE), rule, rule_detail, reference, "
             "sul_peak_baseline/followup and their labels, change, change_pct, the "
             "references, thresholds and measurability, ref_change(_pct), ref_stable, "
             "new_lesions"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_BIO,
    .name = "percist",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "PERCIST 1.0 response between two PET scans: hottest-lesion SULpeak change, "
               "measurability, reference stability, CMR/PMR/SMD/PMD with the deciding rule",
    .citation = "Wahl RL, Jacene H, Kasamon Y, Lodge MA. From RECIST to PERCIST: evolving "
                "considerations for PET response criteria in solid tumors. J Nucl Med "
                "2009;50 Suppl 1:122S-150S. doi:10.2967/jnumed.108.057307",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct percist),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
