/* The plugin harness, driving the seg.fixture_add fixture module: parameters
 * from text (every bad, missing or out-of-range value refused with a clear
 * message), outputs computed by hand, references balanced, output files
 * committed or removed, and every way a plugin can fail reported. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qib/qib.h"
#include "tap.h"

static char *plugdir;

static qib_harness *mk(void)
{
    qib_harness *h = NULL;
    char err[512];
    if (qib_harness_new("seg.fixture_add", &h, err, sizeof err) != QIB_OK)
        bail("harness: %s", err);
    return h;
}

/* A 2x2x1 f64 volume holding @p v. */
static qib_volume *vol4(const double v[4])
{
    struct qib_geom g;
    size_t dims[3] = {2, 2, 1};
    qib_volume *out;
    if (qib_geom_init(&g, 3, dims) != QIB_OK || qib_volume_new(QIB_F64, &g, &out) != QIB_OK)
        bail("cannot make a volume");
    memcpy(qib_volume_data_mut(out), v, 4 * sizeof *v);
    return out;
}

static qib_volume *mask4(const unsigned char m[4])
{
    struct qib_geom g;
    size_t dims[3] = {2, 2, 1};
    qib_volume *out;
    if (qib_geom_init(&g, 3, dims) != QIB_OK || qib_mask_new(&g, &out) != QIB_OK)
        bail("cannot make a mask");
    memcpy(qib_volume_data_mut(out), m, 4);
    return out;
}

/* Count files in @p dir whose name contains ".tmp-" (recursively). */
static int count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_temps(p);
        else if (strstr(e->d_name, ".tmp-"))
            n++;
    }
    closedir(d);
    return n;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* One bad value: refused with @p status and a message containing @p msg. */
static void bad_param(const char *name, const char *value, int status, const char *msg)
{
    qib_harness *h = mk();
    int rc = qib_harness_set_param(h, name, value);
    is_int(rc, status, "%s=\"%s\" refused (%s)", name, value, qib_status_name(status));
    contains(qib_harness_error(h), msg, "%s=\"%s\": message", name, value);
    qib_harness_free(&h);
}

/* A run that fails with @p status and a message containing @p msg. */
static void bad_run(const char *what, qib_harness *h, int status, const char *msg)
{
    is_int(qib_harness_run(h), status, "%s: fails with %s", what, qib_status_name(status));
    contains(qib_harness_error(h), msg, "%s: message", what);
    ok(qib_harness_out_volume(h, "out") == NULL, "%s: no output kept", what);
    qib_harness_free(&h);
}

int main(void)
{
    const double in[4] = {1, 2, 3, 4};
    const char *bd = getenv("top_builddir");
    plan_lazy();

    /* The fixture alone on the search path. */
    plugdir = tap_tmpdir();
    {
        char cmd[2048];
        int st;
        snprintf(cmd, sizeof cmd, "cp '%s/t/fixtures/.libs/fixture_add.so' '%s/'",
                 bd && *bd ? bd : ".", plugdir);
        free(run_cmd(cmd, &st));
        if (st != 0)
            bail("cannot copy the fixture module");
        setenv("QIB_PLUGIN_PATH", plugdir, 1);
    }

    /* Loading. */
    {
        qib_harness *h = NULL;
        char err[512];
        is_int(qib_harness_new("seg.fixture_ad", &h, err, sizeof err), QIB_ENOTFOUND,
               "unknown plugin: QIB_ENOTFOUND");
        ok(h == NULL, "unknown plugin: no harness");
        contains(err, "did you mean \"seg.fixture_add\"", "unknown plugin: suggestion");
        is_int(qib_harness_new("read.nothing_like_it", &h, err, sizeof err), QIB_ENOTFOUND,
               "far name: QIB_ENOTFOUND");
        contains(err, plugdir, "far name: message shows the search path");
        is_int(qib_harness_new("seg.fixture_add", &h, NULL, 0), QIB_OK, "plugin loaded");
        is_string(qib_harness_error(h), "", "no error yet");
        qib_harness_free(&h);
        ok(h == NULL, "free sets NULL");
        qib_harness_free(&h);
    }

    /* Every kind of bad parameter value. */
    bad_param("offset", "abc", QIB_EINVAL, "parameter \"offset\": expected a number, got \"abc\"");
    bad_param("offset", "1,5", QIB_EINVAL, "expected a number, got \"1,5\"");
    bad_param("offset", "", QIB_EINVAL, "expected a number, got \"\"");
    bad_param("offset", "nan", QIB_EINVAL, "(not a number)");
    bad_param("offset", "2000", QIB_ERANGE, "parameter \"offset\": 2000 is above the maximum 1000 HU");
    bad_param("offset", "-1000.5", QIB_ERANGE, "-1000.5 is below the minimum -1000 HU");
    bad_param("offset", "[1, 2]", QIB_EINVAL, "expected a single double value, got a list");
    bad_param("times", "1.5", QIB_EINVAL, "parameter \"times\": expected an integer, got \"1.5\"");
    bad_param("times", "2x", QIB_EINVAL, "expected an integer, got \"2x\"");
    bad_param("times", " 2", QIB_EINVAL, "expected an integer");
    bad_param("times", "99999999999999999999", QIB_EINVAL, "expected an integer");
    bad_param("times", "0", QIB_ERANGE, "parameter \"times\": 0 is below the minimum 1");
    bad_param("times", "11", QIB_ERANGE, "11 is above the maximum 10");
    bad_param("as", "foo", QIB_EINVAL, "parameter \"as\": \"foo\" is not one of volume, mask");
    bad_param("as", "Mask", QIB_EINVAL, "is not one of volume, mask");
    bad_param("verbose", "maybe", QIB_EINVAL, "parameter \"verbose\": expected true or false, got \"maybe\"");
    bad_param("verbose", "1", QIB_EINVAL, "expected true or false");
    bad_param("shift", "5", QIB_EINVAL, "parameter \"shift\": expected a list of 3 numbers [x, y, z], got \"5\"");
    bad_param("shift", "[1, 2]", QIB_EINVAL, "expected a list of 3 numbers [x, y, z], got 2 items");
    bad_param("shift", "[1, 2, 3, 4]", QIB_EINVAL, "got 4 items");
    bad_param("shift", "[1, b, 3]", QIB_EINVAL, "parameter \"shift\": item 2: expected a number, got \"b\"");
    bad_param("shift", "[1, 2, 300]", QIB_ERANGE, "item 3: 300 is above the maximum 100 mm");
    bad_param("weights", "[]", QIB_EINVAL, "parameter \"weights\": expected a list of at least one number, got []");
    bad_param("weights", "[1, -1]", QIB_ERANGE, "item 2: -1 is below the minimum 0");
    bad_param("weights", "2", QIB_EINVAL, "expected a list of numbers");
    bad_param("save", "/tmp/x.txt", QIB_EINVAL, "parameter \"save\": \"/tmp/x.txt\" is absolute");
    bad_param("save", "../x.txt", QIB_EINVAL, "\"../x.txt\" leaves the output directory");
    bad_param("save", "a/../../x.txt", QIB_EINVAL, "leaves the output directory");
    bad_param("save", "a/..", QIB_EINVAL, "names the output directory itself");
    bad_param("save", "", QIB_EINVAL, "parameter \"save\": expected a path");
    bad_param("note", "", QIB_EINVAL, "parameter \"note\": expected a path, got \"\"");
    bad_param("label", "[a, b]", QIB_EINVAL, "expected a single string value, got a list");
    bad_param("offst", "1", QIB_ENOTFOUND, "unknown parameter \"offst\" (did you mean \"offset\"?)");
    bad_param("zzzzzzzz", "1", QIB_ENOTFOUND, "unknown parameter \"zzzzzzzz\" (known: offset, times, as,");

    /* Accepted spellings. */
    {
        qib_harness *h = mk();
        is_int(qib_harness_set_param(h, "verbose", "yes"), QIB_OK, "bool: yes");
        is_int(qib_harness_set_param(h, "verbose", "Off"), QIB_OK, "bool: Off");
        is_int(qib_harness_set_param(h, "times", "+3"), QIB_OK, "int: +3");
        is_int(qib_harness_set_param(h, "offset", "-1e3"), QIB_OK, "double: -1e3 (the minimum)");
        is_int(qib_harness_set_param(h, "shift", "['1', \"2\",3]"), QIB_OK, "vec3: quoted items");
        is_int(qib_harness_set_param(h, "save", "./a/b/../c.txt"), QIB_OK, "path: ./a/b/../c.txt");
        is_string(qib_harness_error(h), "", "no error after good values");
        qib_harness_free(&h);
    }

    /* A run, by hand: (1,2,3,4) + 10 * 2 = (21,22,23,24); sum 90.  The
     * caller keeps its reference, so the plugin must work on a copy. */
    {
        qib_volume *v = vol4(in);
        qib_harness *h = mk();
        is_int(qib_harness_set_volume(h, "image", v), QIB_OK, "wire image");
        is_int((long long)qib_volume_refcount(v), 2, "the harness holds its own reference");
        qib_harness_set_param(h, "offset", "10");
        qib_harness_set_param(h, "times", "2");
        qib_harness_set_param(h, "weights", "[1, 2]");
        qib_harness_set_param(h, "label", "hello world");
        qib_harness_set_param(h, "shift", "[1, -2.5, 3]");
        is_int(qib_harness_set_threads(h, 3), QIB_OK, "3 threads");
        int rc = qib_harness_run(h);
        if (!is_int(rc, QIB_OK, "run"))
            diag("%s", qib_harness_error(h));
        is_string(qib_harness_error(h), "", "no error after the run");
        const qib_volume *o = qib_harness_out_volume(h, "out");
        ok(o != NULL && o != v, "output is a copy (the input was shared)");
        if (o) {
            is_double(qib_volume_get(o, 0), 21, 0, "voxel 0: 1 + 20");
            is_double(qib_volume_get(o, 3), 24, 0, "voxel 3: 4 + 20");
            ok(!qib_volume_is_mask(o), "as: volume gives a plain volume");
        } else {
            skip(3, "no output");
        }
        is_double(qib_volume_get(v, 0), 1, 0, "the caller's input is unchanged");
        const qib_table *t = qib_harness_out_table(h, "stats");
        ok(t != NULL, "table output");
        if (t) {
            is_int(qib_table_get_int(t, 0, 0), 4, "stats: 4 voxels");
            is_double(qib_table_get_double(t, 0, 1), 90, 0, "stats: sum 90");
        } else {
            skip(2, "no table");
        }
        ok(qib_harness_out_volume(h, "stats") == NULL, "out_volume on a table port: NULL");
        ok(qib_harness_out_table(h, "out") == NULL, "out_table on a volume port: NULL");
        ok(qib_harness_out_volume(h, "nope") == NULL, "unknown output port: NULL");
        ok(qib_harness_out_transform(h, "out") == NULL, "out_transform: NULL");
        is_string(qib_harness_record(h, "weighted_sum"), "270", "record: 90 * (1 + 2)");
        is_string(qib_harness_record(h, "label"), "hello world", "record: string parameter");
        is_string(qib_harness_record(h, "shift"), "1 -2.5 3", "record: vec3 parameter");
        ok(qib_harness_record(h, "nothing") == NULL, "record: absent key");
        is_int(qib_harness_run(h), QIB_EINVAL, "a second run is refused");
        contains(qib_harness_error(h), "once", "second run: message");
        is_int(qib_harness_set_param(h, "offset", "1"), QIB_EINVAL, "set_param after run refused");
        qib_harness_free(&h);
        is_int((long long)qib_volume_refcount(v), 1, "after free: the caller's reference only");
        qib_volume_unref(&v);
    }

    /* The caller gives up its reference: the plugin works in place. */
    {
        qib_volume *v = vol4(in);
        const void *addr = v;
        qib_harness *h = mk();
        qib_harness_set_volume(h, "image", v);
        qib_volume_unref(&v);
        qib_harness_set_param(h, "offset", "1");
        is_int(qib_harness_run(h), QIB_OK, "in place: run");
        const qib_volume *o = qib_harness_out_volume(h, "out");
        ok(o == addr, "in place: the output is the input object, not a copy");
        if (o) {
            is_int((long long)qib_volume_refcount(o), 1, "in place: one reference (the harness)");
            is_double(qib_volume_get(o, 2), 4, 0, "in place: 3 + 1");
        } else {
            skip(2, "no output");
        }
        qib_harness_free(&h);
    }

    /* as: mask gives a mask (mask_when); the optional mask input limits
     * where the offset goes. */
    {
        qib_volume *v = vol4(in);
        qib_harness *h = mk();
        qib_harness_set_volume(h, "image", v);
        qib_harness_set_param(h, "as", "mask");
        qib_harness_set_param(h, "threshold", "2.5");
        is_int(qib_harness_run(h), QIB_OK, "as mask: run");
        const qib_volume *o = qib_harness_out_volume(h, "out");
        ok(o && qib_volume_is_mask(o), "as mask: output is a mask");
        if (o)
            ok(qib_volume_get(o, 1) == 0 && qib_volume_get(o, 2) == 1, "as mask: 2 <= 2.5 < 3");
        else
            skip(1, "no output");
        qib_harness_free(&h);

        const unsigned char mk4[4] = {1, 0, 1, 0};
        qib_volume *m = mask4(mk4);
        h = mk();
        qib_harness_set_volume(h, "image", v);
        qib_harness_set_volume(h, "mask", m);
        qib_harness_set_param(h, "offset", "100");
        is_int(qib_harness_run(h), QIB_OK, "with mask: run");
        o = qib_harness_out_volume(h, "out");
        if (o)
            ok(qib_volume_get(o, 0) == 101 && qib_volume_get(o, 1) == 2 &&
                   qib_volume_get(o, 2) == 103 && qib_volume_get(o, 3) == 4,
               "with mask: 100 added inside only");
        else
            skip(1, "no output");
        qib_harness_free(&h);
        is_int((long long)qib_volume_refcount(m), 1, "mask: references balanced");
        is_int((long long)qib_volume_refcount(v), 1, "image: references balanced");
        qib_volume_unref(&m);
        qib_volume_unref(&v);
    }

    /* Output files: committed under the output directory, parents made, no
     * temporary left; on failure nothing is left at all. */
    {
        char *out = tap_tmpdir(), path[1024];
        qib_volume *v = vol4(in);
        qib_harness *h = mk();
        qib_harness_set_volume(h, "image", v);
        is_int(qib_harness_set_outdir(h, out), QIB_OK, "outdir");
        qib_harness_set_param(h, "save", "sub/dir/sum.txt");
        is_int(qib_harness_run(h), QIB_OK, "save: run");
        snprintf(path, sizeof path, "%s/sub/dir/sum.txt", out);
        char *text = slurp(path, NULL);
        is_string(text, "sum 10\n", "save: file written (1+2+3+4)");
        free(text);
        is_int(count_temps(out), 0, "save: no temporary file left");
        qib_harness_free(&h);

        h = mk();
        qib_harness_set_volume(h, "image", v);
        qib_harness_set_outdir(h, out);
        qib_harness_set_param(h, "save", "fail.txt");
        qib_harness_set_param(h, "fail", "before_commit");
        is_int(qib_harness_run(h), QIB_EIO, "uncommitted: run fails");
        contains(qib_harness_error(h), "failed before commit on purpose", "uncommitted: message");
        snprintf(path, sizeof path, "%s/fail.txt", out);
        ok(!exists(path), "uncommitted: no final file");
        is_int(count_temps(out), 0, "uncommitted: temporary file deleted");
        qib_harness_free(&h);

        char *sub;
        if (asprintf(&sub, "%s/inner", out) < 0)
            bail("oom");
        h = mk();
        qib_harness_set_volume(h, "image", v);
        qib_harness_set_outdir(h, sub);
        qib_harness_set_param(h, "fail", "escape");
        is_int(qib_harness_run(h), QIB_EINVAL, "escape: refused");
        contains(qib_harness_error(h), "\"../escape.txt\" leaves the output directory",
                 "escape: message");
        snprintf(path, sizeof path, "%s/escape.txt", out);
        ok(!exists(path), "escape: nothing written outside");
        qib_harness_free(&h);
        free(sub);

        qib_volume_unref(&v);
        snprintf(path, sizeof path, "rm -rf '%s'", out);
        int st;
        free(run_cmd(path, &st));
        free(out);
    }

    /* Each way a run can fail. */
    {
        qib_volume *v = vol4(in);
        qib_harness *h;
        const struct {
            const char *mode;
            int status;
            const char *msg;
        } modes[] = {
            {"in_check", QIB_EINVAL, "check failed on purpose"},
            {"in_init", QIB_EINVAL, "init failed on purpose"},
            {"in_run", QIB_EFORMAT, "run failed on purpose"},
            {"silent", QIB_EIO, "seg.fixture_add failed with QIB_EIO and no message"},
            {"no_output", QIB_EPLUGIN, "returned success without setting output \"out\""},
            {"wrong_mask", QIB_EPLUGIN, "set output \"out\" to a mask, which it promises only when as=mask"},
        };
        for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
            h = mk();
            qib_harness_set_volume(h, "image", v);
            qib_harness_set_param(h, "fail", modes[i].mode);
            bad_run(modes[i].mode, h, modes[i].status, modes[i].msg);
        }
        h = mk();
        qib_harness_set_volume(h, "image", v);
        qib_harness_set_param(h, "as", "mask");
        qib_harness_set_param(h, "fail", "wrong_mask");
        bad_run("mask not flagged", h, QIB_EPLUGIN, "not flagged as a mask although as=mask");

        h = mk();
        bad_run("no input", h, QIB_EINVAL, "input \"image\" (volume) is not connected");

        h = mk();
        qib_harness_set_volume(h, "image", v);
        qib_harness_set_volume(h, "mask", v);
        bad_run("volume on mask port", h, QIB_EINVAL,
                "input \"mask\" takes a mask, got a volume that is not a mask");

        qib_table *t;
        qib_table_new(&t);
        h = mk();
        is_int(qib_harness_set_table(h, "image", t), QIB_OK, "table wired (checked at run)");
        bad_run("table on volume port", h, QIB_EINVAL, "input \"image\" takes a volume, got a table");
        is_int((long long)qib_volume_refcount(v), 1, "failures: references balanced");

        h = mk();
        is_int(qib_harness_set_volume(h, "nope", v), QIB_ENOTFOUND, "unknown input port");
        contains(qib_harness_error(h), "no input port \"nope\"", "unknown input port: message");
        is_int(qib_harness_set_threads(h, 0), QIB_EINVAL, "0 threads refused");
        is_int(qib_harness_set_outdir(h, ""), QIB_EINVAL, "empty outdir refused");
        qib_harness_free(&h);
        is_int((long long)qib_volume_refcount(v), 1, "unknown port: reference not kept");
        qib_table_unref(&t);
        qib_volume_unref(&v);
    }

    {
        char cmd[1024];
        int st;
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", plugdir);
        free(run_cmd(cmd, &st));
        free(plugdir);
    }
    return tap_done();
}
