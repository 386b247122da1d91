/* Minimal TAP producer; see tap.h. */
#define _GNU_SOURCE
#include "tap.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int planned = -1;
static int lazy;
static int count;
static int failed;

void plan(int n)
{
    planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

void plan_lazy(void)
{
    lazy = 1;
}

void skip_all(const char *fmt, ...)
{
    va_list ap;
    printf("1..0 # SKIP ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    exit(0);
}

static int vresult(int pass, const char *fmt, va_list ap)
{
    count++;
    if (!pass)
        failed++;
    printf("%sok %d - ", pass ? "" : "not ", count);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    return pass;
}

int ok(int pass, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vresult(pass, fmt, ap);
    va_end(ap);
    return pass;
}

int is_int(long long got, long long want, const char *fmt, ...)
{
    va_list ap;
    int pass = got == want;
    va_start(ap, fmt);
    vresult(pass, fmt, ap);
    va_end(ap);
    if (!pass)
        printf("#   got: %lld\n#  want: %lld\n", got, want);
    return pass;
}

int is_double(double got, double want, double tol, const char *fmt, ...)
{
    va_list ap;
    int pass = (isnan(want) && isnan(got)) || (got == want) || fabs(got - want) <= tol;
    va_start(ap, fmt);
    vresult(pass, fmt, ap);
    va_end(ap);
    if (!pass)
        printf("#   got: %.17g\n#  want: %.17g (tolerance %g)\n", got, want, tol);
    return pass;
}

int is_string(const char *got, const char *want, const char *fmt, ...)
{
    va_list ap;
    int pass = (got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0);
    va_start(ap, fmt);
    vresult(pass, fmt, ap);
    va_end(ap);
    if (!pass)
        printf("#   got: '%s'\n#  want: '%s'\n", got ? got : "(null)", want ? want : "(null)");
    return pass;
}

int contains(const char *hay, const char *needle, const char *fmt, ...)
{
    va_list ap;
    int pass = hay && needle && strstr(hay, needle) != NULL;
    va_start(ap, fmt);
    vresult(pass, fmt, ap);
    va_end(ap);
    if (!pass) {
        printf("#   text: '%s'\n#   lacks: '%s'\n", hay ? hay : "(null)", needle ? needle : "(null)");
    }
    return pass;
}

void skip(int n, const char *fmt, ...)
{
    va_list ap;
    for (int i = 0; i < n; i++) {
        count++;
        printf("ok %d # SKIP ", count);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
    }
    fflush(stdout);
}

void diag(const char *fmt, ...)
{
    va_list ap;
    char buf[4096];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* every line of a multi-line diagnostic gets its own '#' */
    for (char *line = buf, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        printf("# %s\n", line);
    }
    fflush(stdout);
}

void bail(const char *fmt, ...)
{
    va_list ap;
    printf("Bail out! ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    exit(1);
}

int tap_failures(void)
{
    return failed;
}

int tap_done(void)
{
    if (lazy && planned < 0) {
        printf("1..%d\n", count);
        planned = count;
    }
    fflush(stdout);
    if (planned != count) {
        printf("# planned %d tests but ran %d\n", planned, count);
        return 1;
    }
    return failed ? 1 : 0;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (!p)
        bail("out of memory");
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

char *refdata_path(const char *rel)
{
    const char *root = getenv("QIB_REFDATA");
    struct stat st;
    if (!root || !*root)
        return NULL;
    char *p = join(root, rel);
    if (stat(p, &st) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

char *srcdir_path(const char *rel)
{
    const char *root = getenv("top_srcdir");
    return join(root && *root ? root : ".", rel);
}

char *tap_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = join(base && *base ? base : "/tmp", "qib-test-XXXXXX");
    if (!mkdtemp(tmpl))
        bail("mkdtemp: %s", strerror(errno));
    return tmpl;
}

char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

char *run_cmd(const char *cmd, int *status)
{
    size_t n = strlen(cmd) + 16;
    char *full = malloc(n);
    if (!full)
        bail("out of memory");
    snprintf(full, n, "( %s ) 2>&1", cmd);
    FILE *p = popen(full, "r");
    free(full);
    if (!p)
        bail("popen: %s", strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        bail("out of memory");
    for (;;) {
        if (len == cap) {
            buf = realloc(buf, cap * 2 + 1);
            if (!buf)
                bail("out of memory");
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, p);
        len += got;
        if (got == 0)
            break;
    }
    buf[len] = '\0';
    int st = pclose(p);
    if (status)
        *status = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
    return buf;
}
