/* bio.percist on lesion and reference tables written by hand: every PERCIST
 * 1.0 class at, just beyond and just short of each boundary (30 % and 0.8
 * SUL for PMR and PMD, the liver mean for CMR, the measurability threshold
 * for a baseline target), new lesions, the hottest lesion at each time
 * point, the reference-stability flag (20 % and 0.3 SUL), and bad tables.
 * Thresholds: Wahl et al., J Nucl Med 2009;50 Suppl 1:122S-150S. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "t0400-util.h"

static qib_table *ref_table(const char *reference, double mean, double sd, double thr,
                            const char *unit)
{
    qib_table *t = NULL;
    if (qib_table_new(&t) || qib_table_add_column(t, "reference", QIB_COL_STRING, NULL, NULL, NULL) ||
        qib_table_add_column(t, "ref_mean", QIB_COL_DOUBLE, unit, NULL, NULL) ||
        qib_table_add_column(t, "ref_sd", QIB_COL_DOUBLE, unit, NULL, NULL) ||
        qib_table_add_column(t, "threshold", QIB_COL_DOUBLE, unit, NULL, NULL) ||
        qib_table_add_row(t, NULL) || qib_table_set_string(t, 0, 0, reference) ||
        qib_table_set_double(t, 0, 1, mean) || qib_table_set_double(t, 0, 2, sd) ||
        qib_table_set_double(t, 0, 3, thr))
        bail("ref_table");
    return t;
}

/* A bio.suv-like table: label and <col> per lesion. */
static qib_table *lesions(size_t n, const double *peaks, const char *col, const char *unit)
{
    qib_table *t = NULL;
    if (qib_table_new(&t) || qib_table_add_column(t, "label", QIB_COL_INT, NULL, NULL, NULL) ||
        qib_table_add_column(t, col, QIB_COL_DOUBLE, unit, NULL, NULL))
        bail("lesions");
    for (size_t i = 0; i < n; i++)
        if (qib_table_add_row(t, NULL) || qib_table_set_int(t, i, 0, (int64_t)i + 1) ||
            qib_table_set_double(t, i, 1, peaks[i]))
            bail("lesions row");
    return t;
}

struct pair {
    qib_table *b, *f, *rb, *rf;
};

static void drop(struct pair *p)
{
    qib_table_unref(&p->b);
    qib_table_unref(&p->f);
    qib_table_unref(&p->rb);
    qib_table_unref(&p->rf);
}

/* Run bio.percist on the four tables (the harness keeps its own
 * references; the pair's are dropped) with name/value parameters. */
static qib_harness *run(struct pair *p, const char *const *params, int *rc)
{
    qib_harness *h = NULL;
    char err[512];
    if (qib_harness_new("bio.percist", &h, err, sizeof err) != QIB_OK)
        bail("cannot load bio.percist: %s", err);
    if ((*rc = qib_harness_set_table(h, "baseline", p->b)) ||
        (*rc = qib_harness_set_table(h, "followup", p->f)) ||
        (*rc = qib_harness_set_table(h, "baseline_ref", p->rb)) ||
        (*rc = qib_harness_set_table(h, "followup_ref", p->rf))) {
        drop(p);
        return h;
    }
    drop(p);
    for (size_t i = 0; params && params[i]; i += 2)
        if ((*rc = qib_harness_set_param(h, params[i], params[i + 1])) != QIB_OK)
            return h;
    *rc = qib_harness_run(h);
    return h;
}

static const char *cell(const qib_table *t, const char *name)
{
    const char *s = qib_table_get_string(t, 0, t04_col(t, name));
    return s ? s : "(none)";
}

/* Liver mean 1.0, SD 0.1 at both scans: threshold 1.5 + 0.2 = 1.7. */
#define LIVER(mean, thr) ref_table("liver", mean, 0.1, thr, "SUL")

/* One baseline and one follow-up lesion, SULpeak b and f; expects the
 * class and rule. */
static const qib_table *one(double b, double f, const char *cls, const char *rule,
                            const char *const *params, const char *what, qib_harness **hp)
{
    struct pair p = {lesions(1, &b, "sul_peak_global", "SUL"),
                     lesions(1, &f, "sul_peak_global", "SUL"), LIVER(1.0, 1.7), LIVER(1.0, 1.7)};
    int rc;
    qib_harness *h = run(&p, params, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    *hp = h;
    if (!ok(rc == QIB_OK && t && qib_table_nrows(t) == 1, "%s: runs", what)) {
        diag("%s", qib_harness_error(h));
        skip(2, "no table");
        return NULL;
    }
    is_string(cell(t, "response"), cls, "%s: %s", what, cls);
    is_string(cell(t, "rule"), rule, "%s: rule %s", what, rule);
    return t;
}

static void check_one(double b, double f, const char *cls, const char *rule, const char *what)
{
    qib_harness *h;
    one(b, f, cls, rule, NULL, what, &h);
    qib_harness_free(&h);
}

static void pmr(void)
{
    qib_harness *h;
    const qib_table *t = one(4.0, 2.8, "PMR", "pmr_fall", NULL, "4.0 -> 2.8 (exactly -30 %, -1.2)",
                             &h);
    if (t) {
        is_double(t04_d(t, 0, "change"), -1.2, 1e-12, "change -1.2 SUL");
        is_double(t04_d(t, 0, "change_pct"), -30, 1e-12, "change -30 %%");
        is_double(t04_d(t, 0, "sul_peak_baseline"), 4.0, 0, "baseline SULpeak 4.0");
        is_double(t04_d(t, 0, "sul_peak_followup"), 2.8, 0, "follow-up SULpeak 2.8");
        is_int(t04_i(t, 0, "measurable_baseline"), 1, "4.0 >= 1.7: measurable");
        is_int(t04_i(t, 0, "measurable_followup"), 1, "2.8 >= 1.7: measurable");
        is_string(qib_table_col_unit(t, t04_col(t, "change")), "SUL", "change in SUL");
        is_string(qib_table_col_unit(t, t04_col(t, "change_pct")), "%", "change_pct in %%");
        contains(cell(t, "rule_detail"), "fell 30 % and 1.2 SUL", "the detail gives the numbers");
    } else {
        skip(9, "no table");
    }
    qib_harness_free(&h);
    check_one(8.0 / 3, 8.0 / 3 * 0.7, "PMR", "pmr_fall", "8/3 -> 0.7 x 8/3 (exactly -30 %, -0.8)");
    check_one(4.0, 2.804, "SMD", "smd_change_below_pct", "4.0 -> 2.804 (-29.9 %, -1.196)");
    check_one(2.0, 1.2, "PMR", "pmr_fall", "2.0 -> 1.2 (-40 %, exactly -0.8)");
    check_one(2.0, 1.201, "SMD", "smd_fall_below_abs", "2.0 -> 1.201 (-39.95 %, -0.799)");
    check_one(2.0, 1.3, "SMD", "smd_fall_below_abs", "2.0 -> 1.3 (-35 %, -0.7)");
}

static void pmd(void)
{
    check_one(4.0, 5.2, "PMD", "pmd_rise", "4.0 -> 5.2 (exactly +30 %, +1.2)");
    check_one(8.0 / 3, 8.0 / 3 * 1.3, "PMD", "pmd_rise", "8/3 -> 1.3 x 8/3 (exactly +30 %, +0.8)");
    check_one(4.0, 5.196, "SMD", "smd_change_below_pct", "4.0 -> 5.196 (+29.9 %, +1.196)");
    check_one(2.0, 2.8, "PMD", "pmd_rise", "2.0 -> 2.8 (+40 %, exactly +0.8)");
    check_one(2.0, 2.799, "SMD", "smd_rise_below_abs", "2.0 -> 2.799 (+39.95 %, +0.799)");
    check_one(2.0, 2.7, "SMD", "smd_rise_below_abs", "2.0 -> 2.7 (+35 %, +0.7)");
    check_one(4.0, 4.0, "SMD", "smd_change_below_pct", "4.0 -> 4.0 (no change)");

    /* The thresholds are parameters: 20 % and 0.5 SUL. */
    qib_harness *h;
    const char *const p[] = {"pmd_pct", "20", "pmd_abs", "0.5", NULL};
    one(4.0, 4.8, "PMD", "pmd_rise", p, "pmd_pct 20, pmd_abs 0.5: 4.0 -> 4.8", &h);
    qib_harness_free(&h);
    const char *const p2[] = {"pmr_pct", "20", "pmr_abs", "0.5", NULL};
    one(4.0, 3.2, "PMR", "pmr_fall", p2, "pmr_pct 20, pmr_abs 0.5: 4.0 -> 3.2", &h);
    qib_harness_free(&h);
}

static void new_lesions(void)
{
    qib_harness *h;
    const char *const p[] = {"new_lesions", "1", NULL};
    const qib_table *t = one(4.0, 2.0, "PMD", "new_lesions", p, "-50 % with 1 new lesion", &h);
    if (t)
        is_int(t04_i(t, 0, "new_lesions"), 1, "new_lesions 1 reported");
    else
        skip(1, "no table");
    qib_harness_free(&h);
    const char *const p0[] = {"new_lesions", "0", NULL};
    one(4.0, 2.0, "PMR", "pmr_fall", p0, "-50 % without new lesions", &h);
    qib_harness_free(&h);
    one(1.0, 0.5, "PMD", "new_lesions", p, "non-measurable baseline with a new lesion", &h);
    qib_harness_free(&h);
    const char *const bad[] = {"new_lesions", "-1", NULL};
    int rc;
    double v = 4;
    struct pair pp = {lesions(1, &v, "sul_peak_global", "SUL"),
                      lesions(1, &v, "sul_peak_global", "SUL"), LIVER(1, 1.7), LIVER(1, 1.7)};
    h = run(&pp, bad, &rc);
    ok(rc != QIB_OK, "new_lesions -1: refused");
    contains(qib_harness_error(h), "new_lesions", "the message names new_lesions");
    qib_harness_free(&h);
}

static void cmr(void)
{
    qib_harness *h;
    const qib_table *t = one(4.0, 1.0, "CMR", "cmr_at_or_below_liver_mean", NULL,
                             "4.0 -> 1.0 = liver mean", &h);
    if (t)
        is_int(t04_i(t, 0, "measurable_followup"), 0, "1.0 < 1.7: not measurable at follow-up");
    else
        skip(1, "no table");
    qib_harness_free(&h);
    check_one(4.0, 0.5, "CMR", "cmr_at_or_below_liver_mean", "4.0 -> 0.5 (below the liver)");
    check_one(4.0, 1.001, "PMR", "pmr_fall", "4.0 -> 1.001 (just above the liver mean)");

    /* Blood-pool reference: mean 0.8, SD 0.1, threshold 2.0 x 0.8 + 0.2. */
    double b = 3.0, f = 0.8;
    struct pair p = {lesions(1, &b, "sul_peak_global", "SUL"),
                     lesions(1, &f, "sul_peak_global", "SUL"),
                     ref_table("blood_pool", 0.8, 0.1, 1.8, "SUL"),
                     ref_table("blood_pool", 0.8, 0.1, 1.8, "SUL")};
    int rc;
    h = run(&p, NULL, &rc);
    t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "blood-pool reference: runs")) {
        is_string(cell(t, "response"), "CMR", "3.0 -> 0.8 = blood-pool mean: CMR");
        is_string(cell(t, "rule"), "cmr_at_or_below_blood_pool_mean", "rule names the blood pool");
        is_string(cell(t, "reference"), "blood_pool", "reference blood_pool");
    } else {
        diag("%s", qib_harness_error(h));
        skip(3, "no table");
    }
    qib_harness_free(&h);
}

static void measurability(void)
{
    qib_harness *h;
    const qib_table *t = one(1.69, 0.5, "NE", "baseline_not_measurable", NULL,
                             "baseline 1.69 < threshold 1.7", &h);
    if (t) {
        is_int(t04_i(t, 0, "measurable_baseline"), 0, "measurable_baseline 0");
        is_double(t04_d(t, 0, "threshold_baseline"), 1.7, 0, "threshold_baseline 1.7");
    } else {
        skip(2, "no table");
    }
    qib_harness_free(&h);
    /* At the threshold: measurable; 1.7 -> 1.19 is -30 % but -0.51. */
    t = one(1.7, 1.19, "SMD", "smd_fall_below_abs", NULL, "baseline 1.7 = threshold", &h);
    if (t)
        is_int(t04_i(t, 0, "measurable_baseline"), 1, "measurable_baseline 1 at the threshold");
    else
        skip(1, "no table");
    qib_harness_free(&h);

    /* No lesion at baseline. */
    double f = 3;
    struct pair p = {lesions(0, NULL, "sul_peak_global", "SUL"),
                     lesions(1, &f, "sul_peak_global", "SUL"), LIVER(1, 1.7), LIVER(1, 1.7)};
    int rc;
    h = run(&p, NULL, &rc);
    t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "no baseline lesion: runs")) {
        is_string(cell(t, "response"), "NE", "no baseline lesion: NE");
        is_string(cell(t, "rule"), "baseline_no_lesion", "rule baseline_no_lesion");
    } else {
        diag("%s", qib_harness_error(h));
        skip(2, "no table");
    }
    qib_harness_free(&h);
}

/* The hottest lesion of each scan, not necessarily the same one. */
static void hottest(void)
{
    const double b[] = {3.0, 4.0, NAN, 3.5}, f[] = {2.0, 2.9};
    struct pair p = {lesions(4, b, "sul_peak_global", "SUL"),
                     lesions(2, f, "sul_peak_global", "SUL"), LIVER(1, 1.7), LIVER(1, 1.7)};
    int rc;
    qib_harness *h = run(&p, NULL, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "several lesions: runs")) {
        is_double(t04_d(t, 0, "sul_peak_baseline"), 4.0, 0, "baseline: hottest 4.0 (NaN skipped)");
        is_int(t04_i(t, 0, "label_baseline"), 2, "baseline: label 2");
        is_double(t04_d(t, 0, "sul_peak_followup"), 2.9, 0, "follow-up: hottest 2.9");
        is_int(t04_i(t, 0, "label_followup"), 2, "follow-up: label 2");
        is_double(t04_d(t, 0, "change_pct"), -27.5, 1e-12, "change -27.5 %%");
        is_string(cell(t, "response"), "SMD", "-27.5 %%: SMD");
    } else {
        diag("%s", qib_harness_error(h));
        skip(6, "no table");
    }
    qib_harness_free(&h);

    /* A NIfTI-fed bio.suv table: suv_peak_global without unit takes the
     * reference's unit; peak_column picks another column. */
    double b1 = 4.0, f1 = 2.0;
    struct pair q = {lesions(1, &b1, "suv_peak_global", NULL),
                     lesions(1, &f1, "suv_peak_global", NULL), LIVER(1, 1.7), LIVER(1, 1.7)};
    h = run(&q, NULL, &rc);
    t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "suv_peak_global without unit: runs")) {
        is_string(cell(t, "response"), "PMR", "suv_peak_global: PMR");
        is_string(qib_table_col_unit(t, t04_col(t, "sul_peak_baseline")), "SUL",
                  "the reference's unit is used");
    } else {
        diag("%s", qib_harness_error(h));
        skip(2, "no table");
    }
    qib_harness_free(&h);
    struct pair r = {lesions(1, &b1, "sul_peak_local", "SUL"),
                     lesions(1, &f1, "sul_peak_local", "SUL"), LIVER(1, 1.7), LIVER(1, 1.7)};
    const char *const pc[] = {"peak_column", "sul_peak_local", NULL};
    h = run(&r, pc, &rc);
    t = qib_harness_out_table(h, "table");
    ok(rc == QIB_OK && t && strcmp(cell(t, "response"), "PMR") == 0,
       "peak_column sul_peak_local: PMR");
    qib_harness_free(&h);
}

/* Reference stability: within 20 % and less than 0.3 SUL. */
static void stability_case(double m0, double m1, int want, const char *what)
{
    double b = 4.0, f = 3.0;
    struct pair p = {lesions(1, &b, "sul_peak_global", "SUL"),
                     lesions(1, &f, "sul_peak_global", "SUL"),
                     ref_table("liver", m0, 0.1, 1.5 * m0 + 0.2, "SUL"),
                     ref_table("liver", m1, 0.1, 1.5 * m1 + 0.2, "SUL")};
    int rc;
    qib_harness *h = run(&p, NULL, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t, "%s: runs", what)) {
        is_int(t04_i(t, 0, "ref_stable"), want, "%s: ref_stable %d", what, want);
        is_double(t04_d(t, 0, "ref_change"), m1 - m0, 1e-12, "%s: ref_change %g", what, m1 - m0);
    } else {
        diag("%s", qib_harness_error(h));
        skip(2, "no table");
    }
    qib_harness_free(&h);
}

static void stability(void)
{
    stability_case(1.0, 1.2, 1, "liver 1.0 -> 1.2 (+20 %, +0.2)");
    stability_case(1.0, 1.2001, 0, "liver 1.0 -> 1.2001 (+20.01 %)");
    stability_case(1.0, 0.8, 1, "liver 1.0 -> 0.8 (-20 %, -0.2)");
    stability_case(2.0, 2.3, 0, "liver 2.0 -> 2.3 (+15 %, exactly +0.3)");
    stability_case(2.0, 2.299, 1, "liver 2.0 -> 2.299 (+14.95 %, +0.299)");
    stability_case(2.0, 1.7, 0, "liver 2.0 -> 1.7 (-15 %, exactly -0.3)");
}

static void bad_tables(void)
{
    double b = 4, f = 3;
    int rc;
    qib_harness *h;
    struct pair p = {lesions(1, &b, "sul_peak_global", "SUL"),
                     lesions(1, &f, "sul_peak_global", "SUL"), LIVER(1, 1.7),
                     ref_table("blood_pool", 0.8, 0.1, 1.8, "SUL")};
    h = run(&p, NULL, &rc);
    ok(rc != QIB_OK, "liver at baseline, blood pool at follow-up: refused");
    contains(qib_harness_error(h), "the reference is blood_pool at follow-up but liver at "
                                   "baseline", "the message names both references");
    qib_harness_free(&h);

    struct pair q = {lesions(1, &b, "suv_peak_global", "SUVbw"),
                     lesions(1, &f, "sul_peak_global", "SUL"), LIVER(1, 1.7), LIVER(1, 1.7)};
    h = run(&q, NULL, &rc);
    ok(rc != QIB_OK, "baseline lesions in SUVbw, reference in SUL: refused");
    contains(qib_harness_error(h), "is in SUVbw but the baseline reference is in SUL",
             "the message names both units");
    qib_harness_free(&h);

    struct pair r = {lesions(1, &b, "sul_max", "SUL"), lesions(1, &f, "sul_peak_global", "SUL"),
                     LIVER(1, 1.7), LIVER(1, 1.7)};
    h = run(&r, NULL, &rc);
    ok(rc != QIB_OK, "lesion table without a peak column: refused");
    contains(qib_harness_error(h), "baseline: the table has no column sul_peak_global",
             "the message names the port and the column");
    qib_harness_free(&h);

    struct pair s = {lesions(1, &b, "sul_peak_global", "SUL"),
                     lesions(0, NULL, "sul_peak_global", "SUL"), LIVER(1, 1.7), LIVER(1, 1.7)};
    h = run(&s, NULL, &rc);
    ok(rc != QIB_OK, "no follow-up lesion row: refused");
    contains(qib_harness_error(h), "give a mask of its former site",
             "the message says to measure the former site");
    qib_harness_free(&h);

    qib_table *two = LIVER(1, 1.7);
    if (qib_table_add_row(two, NULL))
        bail("row");
    /* Without a measurable baseline target the follow-up does not matter. */
    double low = 1.0;
    struct pair s2 = {lesions(1, &low, "sul_peak_global", "SUL"),
                      lesions(0, NULL, "sul_peak_global", "SUL"), LIVER(1, 1.7), LIVER(1, 1.7)};
    h = run(&s2, NULL, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    ok(rc == QIB_OK && t && strcmp(cell(t, "response"), "NE") == 0,
       "no follow-up lesion, baseline not measurable: NE, no error");
    qib_harness_free(&h);
    /* Nor with new lesions. */
    const char *const nl[] = {"new_lesions", "1", NULL};
    struct pair s3 = {lesions(1, &b, "sul_peak_global", "SUL"),
                      lesions(0, NULL, "sul_peak_global", "SUL"), LIVER(1, 1.7), LIVER(1, 1.7)};
    h = run(&s3, nl, &rc);
    t = qib_harness_out_table(h, "table");
    ok(rc == QIB_OK && t && strcmp(cell(t, "response"), "PMD") == 0,
       "no follow-up lesion but a new lesion: PMD, no error");
    qib_harness_free(&h);

    struct pair u = {lesions(1, &b, "sul_peak_global", "SUL"),
                     lesions(1, &f, "sul_peak_global", "SUL"), two, LIVER(1, 1.7)};
    h = run(&u, NULL, &rc);
    ok(rc != QIB_OK, "reference table with two rows: refused");
    contains(qib_harness_error(h), "baseline_ref: expected one row", "the message says one row");
    qib_harness_free(&h);

    qib_table *lonely = NULL;
    if (qib_table_new(&lonely) ||
        qib_table_add_column(lonely, "ref_mean", QIB_COL_DOUBLE, "SUL", NULL, NULL))
        bail("table");
    struct pair w = {lesions(1, &b, "sul_peak_global", "SUL"),
                     lesions(1, &f, "sul_peak_global", "SUL"), LIVER(1, 1.7), lonely};
    h = run(&w, NULL, &rc);
    ok(rc != QIB_OK, "reference table without its columns: refused");
    contains(qib_harness_error(h), "followup_ref: the table has no column \"reference\"",
             "the message names the port and the column");
    qib_harness_free(&h);
}

int main(void)
{
    plan_lazy();
    pmr();
    pmd();
    new_lesions();
    cmr();
    measurability();
    hottest();
    stability();
    bad_tables();
    return tap_done();
}
