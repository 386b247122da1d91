/* The step context, with a plugin compiled into the test: wiring and
 * reference hand-over, provenance records, files read and written (with
 * their SHA-256), temporary files, the log callback and the interrupt
 * flag. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "qib/qib.h"
#include "tap.h"

enum mode { M_TAKE, M_FILES, M_LOG, M_INTR, M_KEEP_OPEN };

/* What the test plugin does this time, and what it saw. */
static enum mode mode;
static unsigned seen_refcount;
static int seen_writable;
static int run_called;
static const char *tmpdir;
static volatile sig_atomic_t intr_flag;
static char seen_path[1024];

struct priv {
    int dummy;
};

static const struct qib_port ins[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME, .help = "x"},
    {.name = "mask", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL, .help = "x"},
    {.name = "table", .kind = QIB_OBJ_TABLE, .flags = QIB_PORT_OPTIONAL, .help = "x"},
    {.name = NULL}};
static const struct qib_port outs[] = {
    {.name = "out", .kind = QIB_OBJ_VOLUME, .flags = QIB_PORT_OPTIONAL, .help = "x"},
    {.name = "m", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL, .help = "x"},
    {.name = NULL}};

static int write_file(qib_step *s, const char *rel, const char *text, int commit)
{
    qib_ofile *f;
    int rc = qib_step_create_output(s, rel, &f);
    if (rc != QIB_OK)
        return rc;
    snprintf(seen_path, sizeof seen_path, "%s", qib_ofile_path(f));
    fputs(text, qib_ofile_stream(f));
    if (commit == 1)
        return qib_ofile_commit(&f);
    if (commit == 0)
        qib_ofile_abort(&f);
    return QIB_OK; /* left open: the step must delete it */
}

static int run(qib_step *s, void *p)
{
    (void)p;
    run_called++;
    switch (mode) {
    case M_TAKE: {
        qib_volume *v = qib_step_take_volume(s, "image");
        seen_refcount = v ? qib_volume_refcount(v) : 0;
        seen_writable = v && qib_volume_is_writable(v);
        if (qib_step_in_volume(s, "image") != NULL || qib_step_take_volume(s, "image") != NULL)
            seen_refcount = 1000; /* a taken port must read empty */
        if (qib_volume_make_writable(&v) != QIB_OK)
            return qib_fail(s, QIB_ENOMEM, "copy");
        return qib_step_set_volume(s, "out", v);
    }
    case M_FILES: {
        int rc;
        if ((rc = write_file(s, "./sub/../a.txt", "first\n", 1)) != QIB_OK)
            return rc;
        if ((rc = write_file(s, "deep/er/b.txt", "bee\n", 1)) != QIB_OK)
            return rc;
        if ((rc = write_file(s, "a.txt", "second\n", 1)) != QIB_OK) /* the same file again */
            return rc;
        if ((rc = write_file(s, "aborted.txt", "x\n", 0)) != QIB_OK)
            return rc;
        if ((rc = write_file(s, "open.txt", "x\n", 2)) != QIB_OK)
            return rc;
        if ((rc = qib_step_record(s, "k1", "v1")) != QIB_OK ||
            (rc = qib_step_record(s, "k2", "v2")) != QIB_OK ||
            (rc = qib_step_record(s, "k1", "v1b")) != QIB_OK)
            return rc;
        char in[1024];
        snprintf(in, sizeof in, "%s/a.txt", tmpdir);
        if ((rc = qib_step_record_input(s, in)) != QIB_OK)
            return rc;
        if (qib_step_record_input(s, "/nonexistent/file") != QIB_EIO)
            return qib_fail(s, QIB_EINVAL, "missing input file not refused");
        if (write_file(s, "/abs.txt", "x", 1) != QIB_EINVAL)
            return qib_fail(s, QIB_EINVAL, "absolute output not refused");
        if (write_file(s, "../up.txt", "x", 1) != QIB_EINVAL)
            return qib_fail(s, QIB_EINVAL, "escaping output not refused");
        qib_fail(s, QIB_EINVAL, "an error the plugin recovered from");
        return QIB_OK;
    }
    case M_LOG:
        qib_step_log(s, "line %d", 1);
        qib_step_log(s, "line %s\n", "two");
        return qib_fail(s, QIB_EFORMAT, "%s: bad header", "f.nii");
    case M_INTR:
        intr_flag = 1;
        return qib_fail(s, QIB_EIO, "read failed");
    case M_KEEP_OPEN:
        return write_file(s, "kept.txt", "partial", 2) == QIB_OK
                   ? qib_fail(s, QIB_EIO, "failed with a file open")
                   : QIB_EIO;
    }
    return QIB_OK;
}

static const struct qib_plugin desc = {
    .abi_major = QIB_ABI_MAJOR, .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin), .kind = QIB_KIND_BIO, .name = "step_test",
    .version = "1", .license = "MIT", .summary = "s", .inputs = ins, .outputs = outs,
    .priv_size = sizeof(struct priv), .run = run};

static const struct qib__module mod = {
    .path = "(built in)", .desc = &desc, .full_name = "bio.step_test"};

static qib_step *mkstep(const char *outdir)
{
    qib__params *p;
    qib_step *s;
    char err[256];
    if (qib__params_new(&desc, &p) != QIB_OK || qib__params_finish(p, err, sizeof err) != QIB_OK)
        bail("params");
    if (qib__step_new(&mod, "s1", p, NULL, outdir, &s) != QIB_OK)
        bail("step_new");
    return s;
}

static qib_volume *vol(void)
{
    struct qib_geom g;
    size_t dims[3] = {2, 1, 1};
    qib_volume *v;
    if (qib_geom_init(&g, 3, dims) != QIB_OK || qib_volume_new(QIB_F64, &g, &v) != QIB_OK)
        bail("volume");
    return v;
}

static int ntemps(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp-") != NULL;
    if (d)
        closedir(d);
    return n;
}

static char logbuf[256];
static void logfn(void *arg, const qib_step *s, const char *line)
{
    (*(int *)arg)++;
    strncat(logbuf, qib_step_id(s), sizeof logbuf - strlen(logbuf) - 1);
    strncat(logbuf, ":", sizeof logbuf - strlen(logbuf) - 1);
    strncat(logbuf, line, sizeof logbuf - strlen(logbuf) - 1);
    strncat(logbuf, "|", sizeof logbuf - strlen(logbuf) - 1);
}

int main(void)
{
    char err[512], path[1024];
    plan_lazy();
    tmpdir = tap_tmpdir();

    /* Basics and wiring errors. */
    {
        qib_step *s = mkstep(NULL);
        is_string(qib_step_id(s), "s1", "step id");
        ok(qib_step_pool(s) == NULL, "no pool");
        ok(qib__step_module(s) == &mod, "module");
        ok(qib__step_params(s) != NULL, "params");
        is_int(qib__step_status(s), QIB_OK, "status starts OK");
        is_string(qib__step_error(s), "", "no error yet");
        qib_volume *v = vol();
        is_int(qib__step_wire(s, "imag", QIB_OBJ_VOLUME, v, 0, err, sizeof err), QIB_ENOTFOUND,
               "unknown input port");
        contains(err, "bio.step_test has no input port \"imag\" (its inputs: image, mask, table)",
                 "unknown port: message lists the inputs");
        is_int(qib__step_wire(s, "mask", QIB_OBJ_VOLUME, v, 0, err, sizeof err), QIB_EINVAL,
               "plain volume on a mask port");
        contains(err, "input \"mask\" takes a mask, got a volume that is not a mask", "message");
        is_int(qib__step_wire(s, "table", QIB_OBJ_VOLUME, v, 0, err, sizeof err), QIB_EINVAL,
               "volume on a table port");
        is_int((long long)qib_volume_refcount(v), 1, "refused without transfer: no reference kept");
        qib_volume_ref(v);
        is_int(qib__step_wire(s, "table", QIB_OBJ_VOLUME, v, 1, err, sizeof err), QIB_EINVAL,
               "refused with transfer");
        is_int((long long)qib_volume_refcount(v), 1, "refused with transfer: reference dropped");
        is_int(qib__step_wire(s, "image", QIB_OBJ_VOLUME, v, 0, err, sizeof err), QIB_OK,
               "wire without transfer");
        is_int((long long)qib_volume_refcount(v), 2, "the step holds its own reference");
        is_int(qib__step_wire(s, "image", QIB_OBJ_VOLUME, v, 0, err, sizeof err), QIB_OK,
               "wire the same port again");
        is_int((long long)qib_volume_refcount(v), 2, "rewiring replaces, not adds");
        is_int(qib__step_check(s), QIB_OK, "check without a check function");
        qib__step_free(&s);
        is_int((long long)qib_volume_refcount(v), 1, "free drops the step's references");
        qib_volume_unref(&v);
    }

    /* Take: the last reader gets the only reference and works in place; a
     * shared input is copied by make_writable. */
    {
        qib_step *s = mkstep(NULL);
        qib_volume *v = vol();
        const void *addr = v;
        mode = M_TAKE;
        qib__step_wire(s, "image", QIB_OBJ_VOLUME, v, 1, err, sizeof err);
        v = NULL;
        is_int(qib__step_run(s), QIB_OK, "take (last reader): run");
        is_int(seen_refcount, 1, "take (last reader): the plugin holds the only reference");
        ok(seen_writable, "take (last reader): writable without a copy");
        enum qib_obj_kind k = 0;
        ok(qib__step_output(s, "out", &k) == addr && k == QIB_OBJ_VOLUME,
           "take (last reader): output is the input object");
        qib_volume *o = qib__step_take_output(s, "out", &k);
        ok(o == addr, "take_output transfers the output");
        ok(qib__step_output(s, "out", NULL) == NULL, "taken output reads empty");
        is_int(qib__step_run(s), QIB_EINVAL, "a second run is refused");
        qib__step_free(&s);
        is_int((long long)qib_volume_refcount(o), 1, "taken output outlives the step");
        qib_volume_unref(&o);

        s = mkstep(NULL);
        v = vol();
        qib__step_wire(s, "image", QIB_OBJ_VOLUME, v, 0, err, sizeof err);
        is_int(qib__step_run(s), QIB_OK, "take (shared): run");
        is_int(seen_refcount, 2, "take (shared): the caller's reference remains");
        ok(!seen_writable, "take (shared): not writable");
        ok(qib__step_output(s, "out", NULL) != v, "take (shared): output is a copy");
        qib__step_free(&s);
        is_int((long long)qib_volume_refcount(v), 1, "take (shared): references balanced");
        qib_volume_unref(&v);
    }

    /* Files written, read and recorded. */
    {
        qib_step *s = mkstep(tmpdir);
        mode = M_FILES;
        qib_volume *v = vol();
        qib__step_wire(s, "image", QIB_OBJ_VOLUME, v, 1, err, sizeof err);
        int rc = qib__step_run(s);
        if (!is_int(rc, QIB_OK, "files: run"))
            diag("%s", qib__step_error(s));
        is_string(qib__step_error(s), "", "files: a recovered error is not kept after success");
        is_int((long long)qib__step_noutfiles(s), 2, "files: two distinct files committed");
        const char *rel, *full, *sha;
        char hex[65];
        qib__step_outfile_at(s, 0, &rel, &full, &sha);
        is_string(rel, "a.txt", "files: path normalised");
        snprintf(path, sizeof path, "%s/a.txt", tmpdir);
        is_string(full, path, "files: full path under the output directory");
        qib_sha256_hex("second\n", 7, hex);
        is_string(sha, hex, "files: SHA-256 of the last content written");
        char *text = slurp(path, NULL);
        is_string(text, "second\n", "files: content of the second commit");
        free(text);
        qib__step_outfile_at(s, 1, &rel, &full, &sha);
        is_string(rel, "deep/er/b.txt", "files: parent directories");
        qib_sha256_hex("bee\n", 4, hex);
        is_string(sha, hex, "files: SHA-256 of b.txt");
        struct stat st;
        ok(stat(full, &st) == 0 && (st.st_mode & 0777) == (0666 & ~(unsigned)umask(022)),
           "files: permissions follow the umask, not mkstemp's 0600");
        snprintf(path, sizeof path, "%s/aborted.txt", tmpdir);
        ok(access(path, F_OK) != 0, "files: aborted file absent");
        snprintf(path, sizeof path, "%s/open.txt", tmpdir);
        ok(access(path, F_OK) != 0, "files: uncommitted file absent");
        is_int(ntemps(tmpdir), 0, "files: no temporary file left");
        snprintf(path, sizeof path, "%s/../up.txt", tmpdir);
        ok(access(path, F_OK) != 0, "files: nothing written above the output directory");
        is_int((long long)qib__step_nrecords(s), 2, "records: two keys");
        const char *k, *val;
        qib__step_record_at(s, 0, &k, &val);
        ok(strcmp(k, "k1") == 0 && strcmp(val, "v1b") == 0, "records: k1 replaced in place");
        qib__step_record_at(s, 1, &k, &val);
        ok(strcmp(k, "k2") == 0 && strcmp(val, "v2") == 0, "records: k2");
        is_int((long long)qib__step_ninputs(s), 1, "inputs: one file recorded");
        qib__step_input_at(s, 0, &k, &val);
        qib_sha256_hex("second\n", 7, hex);
        is_string(val, hex, "inputs: SHA-256 of the file when recorded");
        qib__step_free(&s);
    }

    /* Log lines, and a failure message. */
    {
        qib_step *s = mkstep(NULL);
        int nlines = 0;
        mode = M_LOG;
        qib_volume *v = vol();
        qib__step_wire(s, "image", QIB_OBJ_VOLUME, v, 1, err, sizeof err);
        qib__step_set_log(s, logfn, &nlines);
        is_int(qib__step_run(s), QIB_EFORMAT, "log: the plugin's status");
        is_string(qib__step_error(s), "f.nii: bad header", "log: the plugin's message");
        is_int(qib__step_status(s), QIB_EFORMAT, "log: status kept");
        is_int(nlines, 2, "log: two lines");
        is_string(logbuf, "s1:line 1|s1:line two|", "log: lines with the step, newline dropped");
        qib__step_free(&s);

        s = mkstep(NULL);
        v = vol();
        qib__step_wire(s, "image", QIB_OBJ_VOLUME, v, 1, err, sizeof err);
        qib_step_log(s, "discarded without a callback");
        ok(1, "log without a callback is harmless");
        qib__step_free(&s);
    }

    /* Interrupts. */
    {
        qib_step *s = mkstep(NULL);
        mode = M_INTR;
        qib_volume *v = vol();
        qib__step_wire(s, "image", QIB_OBJ_VOLUME, v, 1, err, sizeof err);
        qib__step_set_interrupt(s, &intr_flag);
        ok(!qib__step_interrupted(s), "not interrupted yet");
        is_int(qib__step_run(s), QIB_EINTR, "failure while interrupted is QIB_EINTR");
        ok(qib__step_interrupted(s), "interrupted");
        qib__step_free(&s);

        s = mkstep(NULL);
        v = vol();
        qib__step_wire(s, "image", QIB_OBJ_VOLUME, v, 1, err, sizeof err);
        qib__step_set_interrupt(s, &intr_flag);
        run_called = 0;
        is_int(qib__step_run(s), QIB_EINTR, "interrupted before the start");
        is_int(run_called, 0, "run() not called once interrupted");
        is_string(qib__step_error(s), "interrupted", "message");
        qib__step_free(&s);
        intr_flag = 0;
    }

    /* A failing step with a file still open: the file goes. */
    {
        qib_step *s = mkstep(tmpdir);
        mode = M_KEEP_OPEN;
        qib_volume *v = vol();
        qib__step_wire(s, "image", QIB_OBJ_VOLUME, v, 1, err, sizeof err);
        is_int(qib__step_run(s), QIB_EIO, "open file: step fails");
        ok(strstr(seen_path, "kept.txt") != NULL, "open file: path given to the plugin");
        ok(access(seen_path, F_OK) != 0, "open file: no final file");
        is_int(ntemps(tmpdir), 0, "open file: temporary file deleted");
        qib__step_free(&s);
    }

    /* The missing non-optional input. */
    {
        qib_step *s = mkstep(NULL);
        is_int(qib__step_run(s), QIB_EINVAL, "unwired input: refused");
        is_string(qib__step_error(s), "input \"image\" (volume) is not connected", "message");
        is_int(qib__step_fail(s, QIB_EIO, "wiring %d", 7), QIB_EIO, "step_fail returns the status");
        is_string(qib__step_error(s), "wiring 7", "step_fail sets the message");
        qib__step_free(&s);
        qib__step_free(&s);
    }

    snprintf(path, sizeof path, "rm -rf '%s'", tmpdir);
    int st;
    free(run_cmd(path, &st));
    free((char *)tmpdir);
    return tap_done();
}
