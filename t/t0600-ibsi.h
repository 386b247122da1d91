/* Helpers of the IBSI radiomics tests (t06xx): reading the IBSI data sets
 * with read.nifti, the reference-value CSV files of
 * $QIB_REFDATA/ibsi_reference_values (UTF-8 with BOM, quoted fields with
 * commas), and the comparison of a feature table with them. */
#ifndef QIB_T0600_IBSI_H
#define QIB_T0600_IBSI_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

/* Read a NIfTI file with read.nifti (as "volume" or "mask"); a deep copy
 * (transfer full) or NULL. */
static inline qib_volume *t06_read_nifti(const char *path, const char *as)
{
    qib_harness *h = NULL;
    char err[512];
    qib_volume *copy = NULL;
    if (qib_harness_new("read.nifti", &h, err, sizeof err) != QIB_OK) {
        diag("read.nifti: %s", err);
        return NULL;
    }
    if (qib_harness_set_param(h, "path", path) == QIB_OK &&
        qib_harness_set_param(h, "as", as) == QIB_OK && qib_harness_run(h) == QIB_OK) {
        const qib_volume *v = qib_harness_out_volume(h, "image");
        if (v && qib_volume_copy(v, &copy) != QIB_OK)
            copy = NULL;
    } else {
        diag("read.nifti %s: %s", path, qib_harness_error(h));
    }
    qib_harness_free(&h);
    return copy;
}

/* One row of a reference file. */
struct t06_ref {
    char family[128];
    char tag[64];
    char value[32]; /* as written; "" when there is none */
    double ref, tol;
};

/* Split one CSV record starting at *p into at most nf fields (quoted fields
 * may hold commas and doubled quotes); advances *p past the line end.
 * Returns the number of fields. */
static inline int t06_csv_record(char **p, char **f, int nf)
{
    char *s = *p, *w = s;
    int n = 0;
    if (!*s)
        return 0;
    for (;;) {
        char *start = w;
        if (*s == '"') {
            s++;
            for (;;) {
                if (*s == '"' && s[1] == '"') {
                    *w++ = '"';
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else if (!*s) {
                    break;
                } else {
                    *w++ = *s++;
                }
            }
        }
        while (*s && *s != ',' && *s != '\n' && *s != '\r')
            *w++ = *s++;
        char end = *s;
        *w++ = '\0';
        if (n < nf)
            f[n++] = start;
        if (end == ',') {
            s++;
            /* fields are written in place, behind the reading position */
            continue;
        }
        if (end == '\r')
            s++;
        if (*s == '\n')
            s++;
        break;
    }
    *p = s;
    return n;
}

/* Load the reference table @p rel (under $QIB_REFDATA).  Returns the number
 * of rows (a malloc'd array in *out) or -1 when the file is missing. */
static inline int t06_load_refs(const char *rel, struct t06_ref **out)
{
    char *path = refdata_path(rel);
    char *text = path ? slurp(path, NULL) : NULL;
    free(path);
    if (!text)
        return -1;
    char *p = text;
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3;
    char *f[16];
    int nf = t06_csv_record(&p, f, 16), col_fam = -1, col_val = -1, col_tol = -1, col_tag = -1;
    for (int i = 0; i < nf; i++) {
        if (!strcmp(f[i], "family"))
            col_fam = i;
        else if (!strcmp(f[i], "reference value"))
            col_val = i;
        else if (!strcmp(f[i], "tolerance"))
            col_tol = i;
        else if (!strcmp(f[i], "tag"))
            col_tag = i;
    }
    if (col_fam < 0 || col_val < 0 || col_tol < 0 || col_tag < 0)
        bail("%s: header lacks family, reference value, tolerance or tag", rel);
    int n = 0, cap = 64;
    struct t06_ref *r = malloc((size_t)cap * sizeof *r);
    while (*p) {
        nf = t06_csv_record(&p, f, 16);
        if (nf <= col_tag)
            continue;
        if (n == cap)
            r = realloc(r, (size_t)(cap *= 2) * sizeof *r);
        if (!r)
            bail("out of memory");
        struct t06_ref *x = &r[n++];
        snprintf(x->family, sizeof x->family, "%s", f[col_fam]);
        snprintf(x->tag, sizeof x->tag, "%s", f[col_tag]);
        snprintf(x->value, sizeof x->value, "%s", f[col_val]);
        x->ref = x->value[0] ? strtod(f[col_val], NULL) : NAN;
        x->tol = f[col_tol][0] ? strtod(f[col_tol], NULL) : 0;
    }
    free(text);
    *out = r;
    return n;
}

/* IBSI: |value - reference| <= tolerance; a tolerance of 0 means the value
 * must match the reference to its three significant digits, i.e. within
 * half a unit of the third significant digit. */
static inline double t06_tolerance(const struct t06_ref *r)
{
    if (r->tol > 0)
        return r->tol;
    if (r->ref == 0)
        return 5e-4;
    double e = floor(log10(fabs(r->ref)));
    return 0.5 * pow(10, e - 2) * (1 + 1e-9);
}

/* A feature documented in doc/ibsi-conformance.md as not yet passing. */
struct t06_todo {
    const char *tag;
    const char *reason;
};

/* Compare every reference row that has a value with column tag of row 0 of
 * @p t; with @p only 0, rows whose family starts with @p prefix (may be
 * NULL) are left out; with @p only 1, only those are compared.  Features
 * in @p todo that fail are reported as TODO and counted in *ntodo.
 * With @p counts, prints the pass counts per family (the lines
 * t/ibsi-conformance.sh collects). */
static inline void t06_compare(const qib_table *t, const struct t06_ref *r, int n,
                               const struct t06_todo *todo, const char *prefix, int only,
                               int *ntodo, int counts)
{
    char fam[64][128];
    int fpass[64] = {0}, ftot[64] = {0}, nfam = 0, pass = 0, tot = 0;
    for (int i = 0; i < n; i++) {
        if (!r[i].value[0])
            continue;
        int match = prefix && !strncmp(r[i].family, prefix, strlen(prefix));
        if (match != only)
            continue;
        size_t col;
        double got = NAN;
        char name[64];
        size_t k0 = 0;
        for (; r[i].tag[k0] && k0 + 1 < sizeof name; k0++)
            name[k0] = (char)(r[i].tag[k0] >= 'A' && r[i].tag[k0] <= 'Z' ? r[i].tag[k0] - 'A' + 'a'
                                                                          : r[i].tag[k0]);
        name[k0] = '\0';
        if (qib_table_find(t, name, &col) == QIB_OK)
            got = qib_table_get_double(t, 0, col);
        double tol = t06_tolerance(&r[i]);
        int good = fabs(got - r[i].ref) <= tol;
        const char *why = NULL;
        for (const struct t06_todo *k = todo; k && k->tag; k++)
            if (!strcmp(k->tag, r[i].tag))
                why = k->reason;
        if (why && !good) {
            /* tap-driver counts "not ok ... # TODO" as an expected failure */
            ok(0, "%s = %.6g, IBSI %s +- %g # TODO %s", r[i].tag, got, r[i].value, tol, why);
            (*ntodo)++;
        } else
            ok(good, "%s = %.6g, IBSI %s +- %g%s", r[i].tag, got, r[i].value, tol,
               why ? " (listed as not passing, passes now)" : "");
        int k;
        for (k = 0; k < nfam; k++)
            if (!strcmp(fam[k], r[i].family))
                break;
        if (k == nfam && nfam < 64)
            snprintf(fam[nfam++], sizeof fam[0], "%s", r[i].family);
        if (k < 64) {
            ftot[k]++;
            fpass[k] += good;
        }
        tot++;
        pass += good;
    }
    if (!counts)
        return;
    for (int k = 0; k < nfam; k++)
        diag("%-50s %3d / %3d", fam[k], fpass[k], ftot[k]);
    diag("%-50s %3d / %3d", "all", pass, tot);
}

/* The feature tag without its texture aggregation suffix (lower case). */
static inline void t06_base_tag(const char *tag, char *out, size_t len)
{
    static const char *const sfx[] = {"_2d_avg", "_2d_comb", "_2_5d_avg", "_2_5d_comb",
                                      "_3d_avg", "_3d_comb", "_2d", "_2_5d", "_3d"};
    size_t k = 0;
    for (; tag[k] && k + 1 < len; k++)
        out[k] = (char)(tag[k] >= 'A' && tag[k] <= 'Z' ? tag[k] - 'A' + 'a' : tag[k]);
    out[k] = '\0';
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        size_t m = strlen(sfx[i]);
        if (k > m && !strcmp(out + k - m, sfx[i])) {
            out[k - m] = '\0';
            return;
        }
    }
}

/* IBSI identifiers read off the IBSI 1 reference manual (arXiv:1612.07003,
 * chapter 3, the code beside each feature's heading), a few per family: the
 * table must carry exactly these. */
static const struct {
    const char *tag, *code;
} t06_manual_codes[] = {
    {"morph_volume", "RNU0"},   {"morph_moran_i", "N365"},  {"loc_peak_glob", "0F91"},
    {"stat_rms", "5ZWQ"},       {"stat_rmad", "1128"},      {"ih_mean", "X6K6"},
    {"ih_min", "1PR8"},         {"ivh_v10", "BC2M"},        {"cm_joint_max", "GYBY"},
    {"cm_info_corr2", "JN9H"},  {"rlm_sre", "22OV"},        {"szm_sze", "5QRC"},
    {"dzm_sde", "0GBI"},        {"ngt_coarseness", "QCDE"}, {"ngl_lde", "SODN"},
};

/* Every feature column of @p t that has a row in the reference table (any
 * family but the diagnostics) carries an IBSI identifier: four characters
 * of 0-9 and A-Z, the same for every aggregation of one feature, different
 * between features (but V10/V90 and I10/I90, one definition each); the
 * sample above matches the manual; diagnostic columns of @p dt carry
 * none.  One test per family of the reference table. */
static inline void t06_check_codes(const qib_table *t, const qib_table *dt,
                                   const struct t06_ref *r, int n)
{
    char fam[64][128];
    int fbad[64] = {0}, fcnt[64] = {0}, nfam = 0;
    for (int i = 0; i < n; i++) {
        if (!strncmp(r[i].family, "Diagnostics", 11))
            continue;
        char name[64], base[64];
        size_t k0 = 0;
        for (; r[i].tag[k0] && k0 + 1 < sizeof name; k0++)
            name[k0] = (char)(r[i].tag[k0] >= 'A' && r[i].tag[k0] <= 'Z' ? r[i].tag[k0] - 'A' + 'a'
                                                                          : r[i].tag[k0]);
        name[k0] = '\0';
        t06_base_tag(name, base, sizeof base);
        size_t col;
        if (qib_table_find(t, name, &col) != QIB_OK)
            continue; /* no value computed (OMBB, MVEE, IVH AUC): nothing to label */
        const char *code = qib_table_col_ibsi(t, col);
        const char *why = NULL;
        if (strlen(code) != 4 || strspn(code, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 4)
            why = "not four characters of 0-9, A-Z";
        for (size_t c = 0; !why && c < qib_table_ncols(t); c++) {
            char other[64];
            t06_base_tag(qib_table_col_name(t, c), other, sizeof other);
            int same_feature = !strcmp(other, base) ||
                               (!strncmp(other, "ivh_v", 5) && !strncmp(base, "ivh_v", 5)) ||
                               (!strncmp(other, "ivh_i", 5) && !strncmp(base, "ivh_i", 5));
            int same_code = !strcmp(qib_table_col_ibsi(t, c), code);
            if (same_feature != same_code)
                why = same_feature ? "differs between aggregations of one feature"
                                   : "shared with another feature";
        }
        for (size_t m = 0; !why && m < sizeof t06_manual_codes / sizeof t06_manual_codes[0]; m++)
            if (!strcmp(t06_manual_codes[m].tag, base) && strcmp(t06_manual_codes[m].code, code))
                why = "not the manual's";
        if (why)
            diag("%s: IBSI identifier \"%s\" %s", name, code, why);
        int k;
        for (k = 0; k < nfam; k++)
            if (!strcmp(fam[k], r[i].family))
                break;
        if (k == nfam && nfam < 64)
            snprintf(fam[nfam++], sizeof fam[0], "%s", r[i].family);
        if (k < 64) {
            fcnt[k]++;
            fbad[k] += why != NULL;
        }
    }
    for (int k = 0; k < nfam; k++)
        ok(fbad[k] == 0 && fcnt[k] > 0, "%s: %d columns carry their IBSI identifier", fam[k],
           fcnt[k] - fbad[k]);
    int none = 1;
    for (size_t c = 0; dt && c < qib_table_ncols(dt); c++)
        none &= !*qib_table_col_ibsi(dt, c);
    if (dt)
        ok(none, "diagnostic columns carry no IBSI identifier");
}

/* Exit status: the TAP plan, and failures other than documented TODOs. */
static inline int t06_done(int ntodo)
{
    int failures = tap_failures();
    (void)tap_done();
    return failures - ntodo != 0;
}

#endif
