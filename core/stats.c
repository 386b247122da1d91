/* `qib stats`: test-retest repeatability of a biomarker from a cohort
 * table -- wSD, wCV, RC, ICC(2,1) and ICC(3,1) with F-based confidence
 * intervals, Bland-Altman bias and limits of agreement, and a Bland-Altman
 * plot as PNG.  Definitions and their sources: doc/repeatability.md. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cohort.h"
#include "engine.h"
#include "pipeline.h"
#include "qib/qib.h"

/* ---- distributions ---- */

/* Continued fraction of the incomplete beta function (modified Lentz). */
static double betacf(double x, double a, double b)
{
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 1000; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-15)
            break;
    }
    return h;
}

double qib__betainc(double x, double a, double b)
{
    if (!(x > 0.0))
        return 0.0;
    if (!(x < 1.0))
        return 1.0;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    /* The fraction converges fast on the side of the mean. */
    if (x < (a + 1.0) / (a + b + 2.0))
        return exp(lbt) * betacf(x, a, b) / a;
    return 1.0 - exp(lbt) * betacf(1.0 - x, b, a) / b;
}

double qib__f_quantile(double p, double d1, double d2)
{
    /* F <= f  <=>  X <= d1 f / (d1 f + d2) with X ~ Beta(d1/2, d2/2):
     * bisect on x, which is bounded. */
    double lo = 0.0, hi = 1.0;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (qib__betainc(mid, d1 / 2.0, d2 / 2.0) < p)
            lo = mid;
        else
            hi = mid;
    }
    double x = 0.5 * (lo + hi);
    return d2 * x / (d1 * (1.0 - x));
}

/* ---- the statistics ---- */

int qib__repeatability(const double *y, size_t n, size_t k, double alpha, struct qib__rep *r)
{
    memset(r, 0, sizeof *r);
    if (n < 2 || k < 2 || !(alpha > 0 && alpha < 1))
        return QIB_EINVAL;
    for (size_t i = 0; i < n * k; i++)
        if (!isfinite(y[i]))
            return QIB_EINVAL;
    r->n = n;
    r->k = k;
    double dn = (double)n, dk = (double)k;
    double g = 0;
    for (size_t i = 0; i < n * k; i++)
        g += y[i];
    g /= dn * dk;
    double ssr = 0, ssc = 0, sst = 0, cv2 = 0;
    int cv_ok = 1;
    for (size_t i = 0; i < n; i++) {
        double m = 0;
        for (size_t j = 0; j < k; j++)
            m += y[i * k + j];
        m /= dk;
        ssr += (m - g) * (m - g);
        double s2 = 0;
        for (size_t j = 0; j < k; j++) {
            double e = y[i * k + j] - m;
            s2 += e * e;
            sst += (y[i * k + j] - g) * (y[i * k + j] - g);
        }
        s2 /= dk - 1;
        if (m == 0)
            cv_ok = 0;
        else
            cv2 += s2 / (m * m);
    }
    ssr *= dk;
    for (size_t j = 0; j < k; j++) {
        double m = 0;
        for (size_t i = 0; i < n; i++)
            m += y[i * k + j];
        m /= dn;
        ssc += (m - g) * (m - g);
    }
    ssc *= dn;
    double sse = sst - ssr - ssc;
    if (sse < 0)
        sse = 0;
    r->mean = g;
    r->msr = ssr / (dn - 1);
    r->msc = ssc / (dk - 1);
    r->mse = sse / ((dn - 1) * (dk - 1));
    r->msw = (sst - ssr) / (dn * (dk - 1));
    r->wsd = sqrt(r->msw);
    r->wcv = cv_ok ? sqrt(cv2 / dn) : NAN;
    r->rc = 2.77 * r->wsd;
    double msr = r->msr, msc = r->msc, mse = r->mse;
    r->icc21 = (msr - mse) / (msr + (dk - 1) * mse + dk * (msc - mse) / dn);
    r->icc31 = (msr - mse) / (msr + (dk - 1) * mse);
    r->df1 = dn - 1;
    r->df2 = (dn - 1) * (dk - 1);
    r->f = msr / mse;
    /* ICC(3,1): F-based interval (Shrout & Fleiss 1979, eq. 7-8; McGraw &
     * Wong 1996, case 3). */
    double fl = r->f / qib__f_quantile(1 - alpha / 2, r->df1, r->df2);
    double fu = r->f * qib__f_quantile(1 - alpha / 2, r->df2, r->df1);
    r->icc31_lo = (fl - 1) / (fl + dk - 1);
    r->icc31_hi = (fu - 1) / (fu + dk - 1);
    /* ICC(2,1): Satterthwaite's degrees of freedom for the denominator
     * (Shrout & Fleiss 1979, eq. 11-13; McGraw & Wong 1996, case 2A). */
    double p = r->icc21;
    double a = dk * p / (dn * (1 - p));
    double b = 1 + dk * p * (dn - 1) / (dn * (1 - p));
    double v = (a * msc + b * mse) * (a * msc + b * mse) /
               ((a * msc) * (a * msc) / (dk - 1) + (b * mse) * (b * mse) / ((dn - 1) * (dk - 1)));
    double fs = qib__f_quantile(1 - alpha / 2, dn - 1, v);
    double fss = qib__f_quantile(1 - alpha / 2, v, dn - 1);
    r->icc21_lo = dn * (msr - fs * mse) / (fs * (dk * msc + (dk * dn - dk - dn) * mse) + dn * msr);
    r->icc21_hi = dn * (fss * msr - mse) / (dk * msc + (dk * dn - dk - dn) * mse + dn * fss * msr);
    if (k == 2) {
        double sd = 0, sd2 = 0;
        for (size_t i = 0; i < n; i++)
            sd += y[i * 2 + 1] - y[i * 2];
        sd /= dn;
        for (size_t i = 0; i < n; i++) {
            double e = y[i * 2 + 1] - y[i * 2] - sd;
            sd2 += e * e;
        }
        r->bias = sd;
        r->sd_diff = sqrt(sd2 / (dn - 1));
        r->loa_lo = sd - 1.96 * r->sd_diff;
        r->loa_hi = sd + 1.96 * r->sd_diff;
    } else {
        r->bias = r->sd_diff = r->loa_lo = r->loa_hi = NAN;
    }
    return QIB_OK;
}

/* ---- the Bland-Altman plot ---- */

#define PW 640
#define PH 480
#define MARGIN 40

struct canvas {
    unsigned char px[PH][PW][3];
};

static void dot(struct canvas *c, int x, int y, const unsigned char rgb[3])
{
    if (x >= 0 && x < PW && y >= 0 && y < PH)
        memcpy(c->px[y][x], rgb, 3);
}

static void hline(struct canvas *c, int y, int dash, const unsigned char rgb[3])
{
    for (int x = MARGIN; x < PW - MARGIN; x++)
        if (!dash || (x / 8) % 2 == 0)
            dot(c, x, y, rgb);
}

static int write_png(const char *path, struct canvas *c, char *err, size_t errlen)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
        return QIB_ENOMEM;
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(tmp);
        return QIB_EIO;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = QIB_EIO;
    if (png && info && setjmp(png_jmpbuf(png)) == 0) {
        png_init_io(png, f);
        png_set_IHDR(png, info, PW, PH, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (int y = 0; y < PH; y++)
            png_write_row(png, c->px[y][0]);
        png_write_end(png, NULL);
        rc = QIB_OK;
    }
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    if (fclose(f) != 0)
        rc = QIB_EIO;
    if (rc == QIB_OK && rename(tmp, path) != 0)
        rc = QIB_EIO;
    if (rc != QIB_OK) {
        snprintf(err, errlen, "%s: cannot write the PNG", path);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* Mean of the two measurements (x) against their difference (y): points,
 * the bias (solid) and the limits of agreement (dashed).  The axis ranges
 * are printed in the report, the image carries no text. */
static int ba_plot(const char *path, const double *y, const struct qib__rep *r, double ax[4],
                   char *err, size_t errlen)
{
    struct canvas *c = malloc(sizeof *c);
    if (!c)
        return QIB_ENOMEM;
    memset(c, 255, sizeof *c);
    double x0 = INFINITY, x1 = -INFINITY, y0 = r->loa_lo, y1 = r->loa_hi;
    for (size_t i = 0; i < r->n; i++) {
        double m = (y[2 * i] + y[2 * i + 1]) / 2, d = y[2 * i + 1] - y[2 * i];
        x0 = fmin(x0, m);
        x1 = fmax(x1, m);
        y0 = fmin(y0, d);
        y1 = fmax(y1, d);
    }
    double px = (x1 - x0) * 0.05 + (x1 == x0), py = (y1 - y0) * 0.1 + (y1 == y0);
    x0 -= px;
    x1 += px;
    y0 -= py;
    y1 += py;
    ax[0] = x0, ax[1] = x1, ax[2] = y0, ax[3] = y1;
    static const unsigned char black[3] = {0, 0, 0}, blue[3] = {31, 90, 180},
                               red[3] = {200, 40, 40}, grey[3] = {150, 150, 150};
    int w = PW - 2 * MARGIN, h = PH - 2 * MARGIN;
#define SX(v) (MARGIN + (int)lround(((v) - x0) / (x1 - x0) * (w - 1)))
#define SY(v) (PH - MARGIN - 1 - (int)lround(((v) - y0) / (y1 - y0) * (h - 1)))
    for (int x = MARGIN - 1; x <= PW - MARGIN; x++) {
        dot(c, x, MARGIN - 1, black);
        dot(c, x, PH - MARGIN, black);
    }
    for (int yy = MARGIN - 1; yy <= PH - MARGIN; yy++) {
        dot(c, MARGIN - 1, yy, black);
        dot(c, PW - MARGIN, yy, black);
    }
    if (y0 < 0 && y1 > 0)
        hline(c, SY(0.0), 0, grey);
    hline(c, SY(r->bias), 0, blue);
    hline(c, SY(r->loa_lo), 1, red);
    hline(c, SY(r->loa_hi), 1, red);
    for (size_t i = 0; i < r->n; i++) {
        int cx = SX((y[2 * i] + y[2 * i + 1]) / 2), cy = SY(y[2 * i + 1] - y[2 * i]);
        for (int dy = -3; dy <= 3; dy++)
            for (int dx = -3; dx <= 3; dx++)
                if (dx * dx + dy * dy <= 9)
                    dot(c, cx + dx, cy + dy, black);
    }
#undef SX
#undef SY
    int rc = write_png(path, c, err, errlen);
    free(c);
    return rc;
}

/* ---- qib stats ---- */

static void stats_usage(FILE *f)
{
    fprintf(f,
            "usage: qib stats TABLE.csv --value COL (--subject COL | --subject-from-case SEP)\n"
            "                 [--session COL] [--alpha A] [--out RESULT.csv] [--plot BA.png]\n"
            "       qib stats TABLE.csv --wide COL1,COL2[,...] [--subject COL] [...]\n"
            "\n"
            "Repeatability of a measurement made k >= 2 times on each of n >= 2 subjects\n"
            "(test-retest, or k readers): within-subject SD (wSD), within-subject CV\n"
            "(wCV), repeatability coefficient RC = 2.77 wSD, ICC(2,1) and ICC(3,1) with\n"
            "F-based confidence intervals, and for k = 2 the Bland-Altman bias and 95 %%\n"
            "limits of agreement (second minus first).  doc/repeatability.md gives the\n"
            "definitions and their sources.\n"
            "\n"
            "Long format (one row per measurement, e.g. `qib gather`'s cohort.csv):\n"
            "  --value COL              the measured column\n"
            "  --subject COL            rows with the same value belong to one subject\n"
            "  --subject-from-case SEP  the subject is the \"case\" column up to the last\n"
            "                           SEP: cases P01_test and P01_retest, SEP \"_\"\n"
            "  --session COL            order of a subject's measurements (sorted as text;\n"
            "                           default: the order of the rows)\n"
            "Wide format (one row per subject):\n"
            "  --wide COL1,COL2,...     the columns holding the k measurements\n"
            "Output:\n"
            "  --alpha A                1 - confidence level of the intervals (default 0.05)\n"
            "  -o, --out FILE.csv       also write the results as a statistic,value table\n"
            "  --plot FILE.png          Bland-Altman plot (k = 2): mean against difference,\n"
            "                           bias solid blue, limits of agreement dashed red\n"
            "\n"
            "Subjects with fewer measurements than the others are left out and named.\n"
            "Exit status: 0 success, 1 unreadable data, 2 usage error.\n");
}

static long col_index(const struct qib__csv *c, const char *name)
{
    for (size_t i = 0; i < c->ncols[0]; i++)
        if (strcmp(c->rows[0][i], name) == 0)
            return (long)i;
    return -1;
}

static int parse_num(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *s && !*end && !errno && isfinite(*v) ? 0 : -1;
}

struct subj {
    char *name;
    size_t *rows;
    size_t n;
};

struct sort_by {
    const struct qib__csv *csv;
    long col;
};

static int cmp_rows(const void *a, const void *b, void *arg)
{
    const struct sort_by *sb = arg;
    size_t ra = *(const size_t *)a, rb = *(const size_t *)b;
    int c = strcmp(sb->csv->rows[ra][sb->col], sb->csv->rows[rb][sb->col]);
    return c ? c : (ra > rb) - (ra < rb);
}

int qib__cmd_stats(int argc, char **argv)
{
    const char *file = NULL, *value = NULL, *subject = NULL, *sep = NULL, *session = NULL;
    const char *wide = NULL, *out = NULL, *plot = NULL;
    double alpha = 0.05;
    for (int i = 1; i < argc; i++) {
        const char *x = argv[i];
        const char **dst = NULL;
        if (strcmp(x, "-h") == 0 || strcmp(x, "--help") == 0) {
            stats_usage(stdout);
            return QIB_EXIT_OK;
        }
        if (strcmp(x, "--value") == 0)
            dst = &value;
        else if (strcmp(x, "--subject") == 0)
            dst = &subject;
        else if (strcmp(x, "--subject-from-case") == 0)
            dst = &sep;
        else if (strcmp(x, "--session") == 0)
            dst = &session;
        else if (strcmp(x, "--wide") == 0)
            dst = &wide;
        else if (strcmp(x, "-o") == 0 || strcmp(x, "--out") == 0)
            dst = &out;
        else if (strcmp(x, "--plot") == 0)
            dst = &plot;
        else if (strcmp(x, "--alpha") == 0) {
            if (i + 1 >= argc || parse_num(argv[i + 1], &alpha) < 0 || !(alpha > 0 && alpha < 0.5)) {
                fprintf(stderr, "qib stats: --alpha: expected a number between 0 and 0.5\n");
                return QIB_EXIT_USAGE;
            }
            i++;
            continue;
        } else if (x[0] != '-' && !file) {
            file = x;
            continue;
        } else {
            fprintf(stderr, "qib stats: unexpected argument \"%s\"\nTry `qib stats --help`.\n", x);
            return QIB_EXIT_USAGE;
        }
        if (i + 1 >= argc || !*argv[i + 1]) {
            fprintf(stderr, "qib stats: option %s needs a value\n", x);
            return QIB_EXIT_USAGE;
        }
        *dst = argv[++i];
    }
    if (!file || (!wide && (!value || (!subject == !sep))) || (wide && (value || sep || session))) {
        fprintf(stderr, "qib stats: give TABLE.csv and either --value COL with one of --subject COL "
                "or --subject-from-case SEP, or --wide COL1,COL2,...\n");
        stats_usage(stderr);
        return QIB_EXIT_USAGE;
    }
    struct qib__csv c;
    char err[512];
    if (qib__csv_read(file, &c, err, sizeof err) != QIB_OK) {
        fprintf(stderr, "qib stats: %s: %s\n", file, err);
        return QIB_EXIT_FAIL;
    }
    int ex = QIB_EXIT_FAIL;
    double *y = NULL;
    struct subj *s = NULL;
    size_t ns = 0, k = 0, n = 0;
    char **names = NULL;
    long *wcols = NULL;
    if (c.nrows < 2) {
        fprintf(stderr, "qib stats: %s: no data rows\n", file);
        goto out;
    }
    for (size_t r = 1; r < c.nrows; r++)
        if (c.ncols[r] != c.ncols[0]) {
            fprintf(stderr, "qib stats: %s: record %zu has %zu fields, the header %zu\n", file, r + 1,
                    c.ncols[r], c.ncols[0]);
            goto out;
        }
    long scol = -1;
    if (subject || sep) {
        const char *sc = subject ? subject : "case";
        scol = col_index(&c, sc);
        if (scol < 0) {
            fprintf(stderr, "qib stats: %s: no column \"%s\"\n", file, sc);
            ex = QIB_EXIT_USAGE;
            goto out;
        }
    }
    if (wide) {
        /* One row per subject, k columns. */
        char *list = strdup(wide);
        if (!list)
            goto out;
        wcols = calloc(strlen(wide) + 1, sizeof *wcols);
        for (char *tok = strtok(list, ","); wcols && tok; tok = strtok(NULL, ",")) {
            wcols[k] = col_index(&c, tok);
            if (wcols[k] < 0) {
                fprintf(stderr, "qib stats: %s: no column \"%s\"\n", file, tok);
                ex = QIB_EXIT_USAGE;
            }
            k++;
        }
        free(list);
        if (!wcols || ex == QIB_EXIT_USAGE)
            goto out;
        if (k < 2) {
            fprintf(stderr, "qib stats: --wide needs at least two columns\n");
            ex = QIB_EXIT_USAGE;
            goto out;
        }
        n = c.nrows - 1;
        y = calloc(n * k, sizeof *y);
        names = calloc(n, sizeof *names);
        if (!y || !names)
            goto out;
        for (size_t r = 1; r < c.nrows; r++) {
            names[r - 1] = scol >= 0 ? c.rows[r][scol] : NULL;
            for (size_t j = 0; j < k; j++)
                if (parse_num(c.rows[r][wcols[j]], &y[(r - 1) * k + j]) < 0) {
                    fprintf(stderr, "qib stats: %s: record %zu, column %s: \"%s\" is not a number\n",
                            file, r + 1, c.rows[0][wcols[j]], c.rows[r][wcols[j]]);
                    goto out;
                }
        }
    } else {
        long vcol = col_index(&c, value);
        long sess = session ? col_index(&c, session) : -1;
        if (vcol < 0 || (session && sess < 0)) {
            fprintf(stderr, "qib stats: %s: no column \"%s\"\n", file, vcol < 0 ? value : session);
            ex = QIB_EXIT_USAGE;
            goto out;
        }
        s = calloc(c.nrows, sizeof *s);
        if (!s)
            goto out;
        for (size_t r = 1; r < c.nrows; r++) {
            char *name;
            if (sep) {
                const char *id = c.rows[r][scol];
                const char *cut = NULL;
                for (const char *p = strstr(id, sep); p; p = strstr(p + 1, sep))
                    cut = p;
                if (!cut) {
                    fprintf(stderr, "qib stats: %s: record %zu: case \"%s\" has no \"%s\" to split "
                            "the subject from the session\n", file, r + 1, id, sep);
                    ex = QIB_EXIT_USAGE;
                    goto out;
                }
                name = strndup(id, (size_t)(cut - id));
            } else {
                name = strdup(c.rows[r][scol]);
            }
            if (!name)
                goto out;
            size_t j;
            for (j = 0; j < ns; j++)
                if (strcmp(s[j].name, name) == 0)
                    break;
            if (j == ns) {
                s[ns].name = name;
                s[ns].rows = calloc(c.nrows, sizeof *s[ns].rows);
                if (!s[ns++].rows)
                    goto out;
            } else {
                free(name);
            }
            s[j].rows[s[j].n++] = r;
        }
        for (size_t j = 0; j < ns; j++)
            if (s[j].n > k)
                k = s[j].n;
        if (sess >= 0) {
            struct sort_by sb = {&c, sess};
            for (size_t j = 0; j < ns; j++)
                qsort_r(s[j].rows, s[j].n, sizeof *s[j].rows, cmp_rows, &sb);
        }
        y = calloc(ns * (k ? k : 1), sizeof *y);
        names = calloc(ns + 1, sizeof *names);
        if (!y || !names)
            goto out;
        for (size_t j = 0; j < ns; j++) {
            if (s[j].n < k) {
                fprintf(stderr, "qib stats: subject %s left out: %zu measurement%s of %zu\n",
                        s[j].name, s[j].n, s[j].n == 1 ? "" : "s", k);
                continue;
            }
            for (size_t q = 0; q < k; q++) {
                const char *t = c.rows[s[j].rows[q]][vcol];
                if (parse_num(t, &y[n * k + q]) < 0) {
                    fprintf(stderr, "qib stats: %s: record %zu, column %s: \"%s\" is not a number\n",
                            file, s[j].rows[q] + 1, value, t);
                    goto out;
                }
            }
            names[n++] = s[j].name;
        }
    }
    struct qib__rep r;
    if (n < 2 || k < 2 || qib__repeatability(y, n, k, alpha, &r) != QIB_OK) {
        fprintf(stderr, "qib stats: %s: need at least 2 subjects measured at least twice "
                "(found %zu subject%s with %zu measurement%s)\n", file, n, n == 1 ? "" : "s", k,
                k == 1 ? "" : "s");
        goto out;
    }
    int pct = (int)lround((1 - alpha) * 100);
    printf("subjects n = %zu, measurements per subject k = %zu, grand mean %.6g\n", n, k, r.mean);
    printf("wSD                      %.6g\n", r.wsd);
    printf("wCV                      %.6g (%.4g %%)\n", r.wcv, r.wcv * 100);
    printf("RC = 2.77 wSD            %.6g\n", r.rc);
    printf("ICC(2,1)                 %.4f  %d %% CI [%.4f, %.4f]\n", r.icc21, pct, r.icc21_lo,
           r.icc21_hi);
    printf("ICC(3,1)                 %.4f  %d %% CI [%.4f, %.4f]\n", r.icc31, pct, r.icc31_lo,
           r.icc31_hi);
    printf("ANOVA                    MSR %.6g, MSC %.6g, MSE %.6g, MSW %.6g; F(%g, %g) = %.6g\n",
           r.msr, r.msc, r.mse, r.msw, r.df1, r.df2, r.f);
    if (k == 2) {
        printf("Bland-Altman bias        %.6g (second - first), SD of differences %.6g\n", r.bias,
               r.sd_diff);
        printf("95 %% limits of agreement [%.6g, %.6g]\n", r.loa_lo, r.loa_hi);
    }
    if (plot) {
        double ax[4];
        if (k != 2) {
            fprintf(stderr, "qib stats: --plot: a Bland-Altman plot needs k = 2 measurements\n");
            goto out;
        }
        if (ba_plot(plot, y, &r, ax, err, sizeof err) != QIB_OK) {
            fprintf(stderr, "qib stats: %s\n", err);
            goto out;
        }
        printf("plot: %s (x: mean %.6g to %.6g, y: difference %.6g to %.6g)\n", plot, ax[0], ax[1],
               ax[2], ax[3]);
    }
    if (out) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
            goto out;
        const struct { const char *name; double v; } rows[] = {
            {"n", (double)n}, {"k", (double)k}, {"mean", r.mean}, {"wsd", r.wsd}, {"wcv", r.wcv},
            {"rc", r.rc}, {"icc21", r.icc21}, {"icc21_lower", r.icc21_lo},
            {"icc21_upper", r.icc21_hi}, {"icc31", r.icc31}, {"icc31_lower", r.icc31_lo},
            {"icc31_upper", r.icc31_hi}, {"msr", r.msr}, {"msc", r.msc}, {"mse", r.mse},
            {"msw", r.msw}, {"ba_bias", r.bias}, {"ba_sd", r.sd_diff}, {"ba_loa_lower", r.loa_lo},
            {"ba_loa_upper", r.loa_hi}, {"alpha", alpha}};
        fputs("statistic,value\n", f);
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            char b[32];
            fprintf(f, "%s,", rows[i].name);
            if (isnan(rows[i].v))
                fputs("NA\n", f);
            else
                fprintf(f, "%s\n", qib_format_double(rows[i].v, b));
        }
        fclose(f);
        char *dir = strdup(out), *slash = dir ? strrchr(dir, '/') : NULL;
        const char *base = slash ? slash + 1 : out;
        if (slash)
            *slash = '\0';
        int rc = dir ? qib__write_file_atomic(slash ? (dir[0] ? dir : "/") : ".", base, buf, len, err,
                                              sizeof err)
                     : QIB_ENOMEM;
        free(dir);
        free(buf);
        if (rc != QIB_OK) {
            fprintf(stderr, "qib stats: %s\n", rc == QIB_ENOMEM ? "out of memory" : err);
            goto out;
        }
    }
    ex = QIB_EXIT_OK;
out:
    for (size_t j = 0; s && j < ns; j++) {
        free(s[j].name);
        free(s[j].rows);
    }
    free(s);
    free(names);
    free(wcols);
    free(y);
    qib__csv_free(&c);
    return ex;
}
