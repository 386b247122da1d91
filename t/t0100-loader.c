/* The plugin loader on real modules: each case copies the fixture modules it
 * wants into its own directory, points the loader there, and checks which
 * were accepted and the reason given for each one refused. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "qib/qib.h"
#include "tap.h"

static char *fixdir;

/* A fresh directory holding copies of the named fixture modules; "src:dst"
 * copies under another name. */
static char *dir_with(const char *const *mods)
{
    char *d = tap_tmpdir();
    for (size_t i = 0; mods[i]; i++) {
        char src[256], dst[256];
        const char *colon = strchr(mods[i], ':');
        if (colon) {
            snprintf(src, sizeof src, "%.*s", (int)(colon - mods[i]), mods[i]);
            snprintf(dst, sizeof dst, "%s", colon + 1);
        } else {
            snprintf(src, sizeof src, "%s", mods[i]);
            snprintf(dst, sizeof dst, "%s", mods[i]);
        }
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "cp '%s/%s' '%s/%s'", fixdir, src, d, dst);
        int st;
        free(run_cmd(cmd, &st));
        if (st != 0)
            bail("cannot copy fixture %s (built in %s?)", src, fixdir);
    }
    return d;
}

static void rmdir_r(char *d)
{
    char cmd[1024];
    int st;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    free(run_cmd(cmd, &st));
    free(d);
}

/* Load one directory holding only @p mod; return the registry. */
static struct qib__registry *load_one(const char *mod, char **dir)
{
    const char *mods[] = {mod, NULL};
    *dir = dir_with(mods);
    struct qib__registry *r = NULL;
    if (qib__registry_load_path(*dir, &r) != QIB_OK || !r)
        bail("qib__registry_load_path failed");
    return r;
}

static void refused(const char *mod, const char *what, const char *const *needles)
{
    char *d;
    struct qib__registry *r = load_one(mod, &d);
    is_int((long long)r->nmods, 0, "%s: not loaded", what);
    if (is_int((long long)r->nproblems, 1, "%s: one problem recorded", what)) {
        contains(r->problems[0].path, mod, "%s: problem names the file", what);
        for (size_t i = 0; needles[i]; i++)
            contains(r->problems[0].reason, needles[i], "%s: reason says \"%s\"", what,
                     needles[i]);
    } else {
        skip(1, "no problem");
        for (size_t i = 0; needles[i]; i++)
            skip(1, "no problem");
    }
    qib__registry_free(&r);
    ok(r == NULL, "%s: registry freed", what);
    rmdir_r(d);
}

int main(void)
{
    const char *bd = getenv("top_builddir");
    if (asprintf(&fixdir, "%s/t/fixtures/.libs", bd && *bd ? bd : ".") < 0)
        bail("out of memory");
    plan_lazy();

    /* The good fixture: accepted, with its hash and name. */
    {
        char *d;
        struct qib__registry *r = load_one("fixture_add.so", &d);
        is_int((long long)r->nmods, 1, "good: loaded");
        is_int((long long)r->nproblems, 0, "good: no problem");
        const struct qib__module *m = qib__registry_find(r, "seg.fixture_add");
        ok(m != NULL, "good: found by full name");
        if (m) {
            is_string(m->full_name, "seg.fixture_add", "good: full name");
            is_string(m->desc->version, "1.2.3", "good: descriptor reachable");
            char hex[65];
            qib_sha256_file(m->path, hex);
            is_string(m->sha256, "", "good: not hashed before it is used");
            is_int(qib__module_hash(m), QIB_OK, "good: hashed on demand");
            is_string(m->sha256, hex, "good: SHA-256 of the module file");
            is_int((long long)strlen(m->sha256), 64, "good: 64 hex digits");
            ok(m->handle != NULL, "good: handle kept");
        } else {
            skip(6, "not found");
        }
        ok(qib__registry_find(r, "seg.fixture") == NULL, "find: no prefix match");
        is_string(qib__registry_suggest(r, "seg.fixture_ad"), "seg.fixture_add",
                  "suggest: one letter missing");
        is_string(qib__registry_suggest(r, "seg.fixtuer_add"), "seg.fixture_add",
                  "suggest: two letters swapped");
        is_string(qib__registry_suggest(r, "read.nifti"), NULL, "suggest: nothing close");
        qib__registry_free(&r);
        rmdir_r(d);
    }

    /* Each refusal, with the words that tell the user what to do. */
    refused("fixture_major.so", "other major",
            (const char *const[]){"ABI 2.0", "this qib loads ABI 1.x", "rebuild", NULL});
    refused("fixture_minor.so", "newer minor",
            (const char *const[]){"ABI 1.1", "newer than this qib's 1.0", NULL});
    refused("fixture_small.so", "struct_size",
            (const char *const[]){"struct_size 16 is smaller", NULL});
    refused("fixture_badenum.so", "malformed",
            (const char *const[]){"bio.fixture_abi", "parameter \"mode\"", "without choices",
                                  NULL});
    refused("fixture_null.so", "NULL descriptor",
            (const char *const[]){"returned NULL", NULL});
    refused("fixture_noentry.so", "no entry symbol",
            (const char *const[]){"no symbol qib_plugin_entry", "QIB_PLUGIN_DEFINE", NULL});
    refused("fixture_unresolved.so", "unresolved symbol",
            (const char *const[]){"cannot be loaded", "qib_fixture_missing_function",
                                  "ldd -r", NULL});

    /* Two modules with one name: the first (in name order) wins, the second
     * is refused naming both files. */
    {
        const char *mods[] = {"fixture_add.so:a_add.so", "fixture_dup.so:b_dup.so", NULL};
        char *d = dir_with(mods);
        struct qib__registry *r;
        qib__registry_load_path(d, &r);
        is_int((long long)r->nmods, 1, "duplicate: one loaded");
        const struct qib__module *m = qib__registry_find(r, "seg.fixture_add");
        ok(m && strcmp(m->desc->version, "1.2.3") == 0, "duplicate: the first file wins");
        if (is_int((long long)r->nproblems, 1, "duplicate: one refused")) {
            contains(r->problems[0].path, "b_dup.so", "duplicate: the second file is refused");
            contains(r->problems[0].reason, "a_add.so", "duplicate: reason names the first file");
            contains(r->problems[0].reason, "already loaded", "duplicate: reason says why");
        } else {
            skip(3, "no problem");
        }
        qib__registry_free(&r);

        /* The directory listed twice, and an empty entry: read once. */
        char *path;
        if (asprintf(&path, "%s::%s/", d, d) < 0)
            bail("oom");
        qib__registry_load_path(path, &r);
        is_int((long long)r->nmods, 1, "directory twice: modules loaded once");
        is_int((long long)r->nproblems, 1, "directory twice: refusals once");
        qib__registry_free(&r);
        free(path);
        rmdir_r(d);
    }

    /* Search order across directories: QIB_PLUGIN_PATH first. */
    {
        const char *m1[] = {"fixture_dup.so", NULL};
        const char *m2[] = {"fixture_add.so", NULL};
        char *d1 = dir_with(m1), *d2 = dir_with(m2), *path;
        if (asprintf(&path, "%s:%s", d1, d2) < 0)
            bail("oom");
        struct qib__registry *r;
        setenv("QIB_PLUGIN_PATH", path, 1);
        qib__registry_load(&r);
        const struct qib__module *m = qib__registry_find(r, "seg.fixture_add");
        ok(m && strcmp(m->desc->version, "9.9.9") == 0,
           "order: the first directory of QIB_PLUGIN_PATH wins");
        qib__registry_free(&r);
        free(path);
        rmdir_r(d1);
        rmdir_r(d2);
    }

    /* A refused module named like the plugin: "not found" can say why. */
    {
        char *d;
        struct qib__registry *r = load_one("fixture_badenum.so:bio_fixture_abi.so", &d);
        const struct qib__problem *p = qib__registry_problem_for(r, "bio.fixture_abi");
        ok(p != NULL, "problem_for: finds the refused bio_fixture_abi.so");
        if (p)
            contains(p->reason, "without choices", "problem_for: with its reason");
        else
            skip(1, "none");
        ok(qib__registry_problem_for(r, "bio.fixture") == NULL, "problem_for: exact name only");
        qib__registry_free(&r);
        rmdir_r(d);
    }

    /* Lazy lookup (qib__registry_open) against the full scan: for each
     * search path, both must pick the same file, and the lazy one opens only
     * that file when every file before it is named <kind>_<name>.so. */
    {
        struct lazycase {
            const char *what;
            const char *d1[3], *d2[3];
            const char *want_file;  /* the module that must win */
            const char *want_version;
            long long lazy_opened;  /* modules + refusals after the lazy find */
        } cases[] = {
            {"same plugin in two directories: the earlier wins",
             {"fixture_dup.so:seg_fixture_add.so", NULL}, {"fixture_add.so:seg_fixture_add.so", NULL},
             "seg_fixture_add.so", "9.9.9", 1},
            {"a file of another name in an earlier directory still wins",
             {"fixture_add.so:a_add.so", NULL}, {"fixture_dup.so:seg_fixture_add.so", NULL},
             "a_add.so", "1.2.3", -1},
            {"a file of another name after the plugin's file loses",
             {"fixture_dup.so:seg_fixture_add.so", NULL}, {"fixture_add.so:a_add.so", NULL},
             "seg_fixture_add.so", "9.9.9", 1},
            {"only a file of another name: found by the full scan",
             {"fixture_add.so", NULL}, {NULL},
             "fixture_add.so", "1.2.3", -1},
            {"a file named after another plugin is refused, not taken",
             {"fixture_add.so:seg_other.so", NULL}, {"fixture_dup.so:seg_fixture_add.so", NULL},
             "seg_fixture_add.so", "9.9.9", 1},
            {"the plugin's file refused: a later copy wins",
             {"fixture_badenum.so:bio_fixture_abi.so", "fixture_dup.so:seg_fixture_add.so", NULL},
             {"fixture_add.so:seg_fixture_add.so", NULL},
             "seg_fixture_add.so", "9.9.9", 1},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            const struct lazycase *lc = &cases[c];
            char *d1 = dir_with(lc->d1), *d2 = dir_with(lc->d2), *path;
            if (asprintf(&path, "%s:%s", d1, d2) < 0)
                bail("oom");
            struct qib__registry *full = NULL, *lazy = NULL;
            if (qib__registry_load_path(path, &full) != QIB_OK ||
                qib__registry_open_path(path, &lazy) != QIB_OK)
                bail("registry");
            is_int((long long)(lazy->nmods + lazy->nproblems), 0, "%s: open loads nothing",
                   lc->what);
            const struct qib__module *mf = qib__registry_find(full, "seg.fixture_add");
            const struct qib__module *ml = qib__registry_find(lazy, "seg.fixture_add");
            if (ok(mf && ml, "%s: found both ways", lc->what)) {
                is_string(ml->path, mf->path, "%s: the same file", lc->what);
                const char *base = strrchr(ml->path, '/');
                is_string(base ? base + 1 : ml->path, lc->want_file, "%s: %s", lc->what,
                          lc->want_file);
                is_string(ml->desc->version, lc->want_version, "%s: version %s", lc->what,
                          lc->want_version);
            } else {
                skip(3, "not found");
            }
            if (lc->lazy_opened >= 0)
                is_int((long long)(lazy->nmods + lazy->nproblems), lc->lazy_opened,
                       "%s: the lazy lookup opened one file", lc->what);
            else
                ok(lazy->nmods + lazy->nproblems == full->nmods + full->nproblems,
                   "%s: the lazy lookup fell back to the full scan", lc->what);
            /* Completed, the lazy registry lists what the full scan lists. */
            is_int(qib__registry_complete(lazy), QIB_OK, "%s: complete", lc->what);
            is_int((long long)lazy->nmods, (long long)full->nmods, "%s: same modules", lc->what);
            if (is_int((long long)lazy->nproblems, (long long)full->nproblems,
                       "%s: same refusals", lc->what)) {
                for (size_t i = 0; i < full->nproblems; i++) {
                    int same = 0;
                    for (size_t k = 0; k < lazy->nproblems; k++)
                        same |= strcmp(full->problems[i].path, lazy->problems[k].path) == 0 &&
                                strcmp(full->problems[i].reason, lazy->problems[k].reason) == 0;
                    ok(same, "%s: refusal of %s with the same reason", lc->what,
                       full->problems[i].path);
                }
            }
            ok(qib__registry_find(lazy, "seg.fixture_add") == ml,
               "%s: completing keeps the module in place", lc->what);
            qib__registry_free(&full);
            qib__registry_free(&lazy);
            free(path);
            rmdir_r(d1);
            rmdir_r(d2);
        }
    }

    /* The rule behind the lazy lookup: a file named after one plugin holding
     * another is refused, saying what to rename it to. */
    {
        char *d;
        struct qib__registry *r = load_one("fixture_add.so:seg_other.so", &d);
        is_int((long long)r->nmods, 0, "misnamed: not loaded");
        if (is_int((long long)r->nproblems, 1, "misnamed: refused")) {
            contains(r->problems[0].reason, "holds plugin \"seg.fixture_add\"",
                     "misnamed: says which plugin it holds");
            contains(r->problems[0].reason, "rename it to seg_fixture_add.so",
                     "misnamed: says what to do");
        } else {
            skip(2, "no problem");
        }
        qib__registry_free(&r);
        /* Lazily: a refused module of the name asked for still says why. */
        const char *mods[] = {"fixture_badenum.so:bio_fixture_abi.so", NULL};
        char *d2 = dir_with(mods);
        if (qib__registry_open_path(d2, &r) != QIB_OK)
            bail("registry");
        ok(qib__registry_find(r, "bio.fixture_abi") == NULL, "lazy refused: not found");
        const struct qib__problem *p = qib__registry_problem_for(r, "bio.fixture_abi");
        ok(p && strstr(p->reason, "without choices"), "lazy refused: the reason is kept");
        is_int((long long)r->nproblems, 1, "lazy refused: recorded once");
        qib__registry_free(&r);
        rmdir_r(d);
        rmdir_r(d2);
    }

    /* Nothing to load. */
    {
        struct qib__registry *r;
        is_int(qib__registry_load_path("/nonexistent/qib/plugins", &r), QIB_OK,
               "missing directory: not an error");
        is_int((long long)(r->nmods + r->nproblems), 0, "missing directory: nothing loaded");
        qib__registry_free(&r);
        is_int(qib__registry_load_path(NULL, &r), QIB_OK, "NULL path: not an error");
        qib__registry_free(&r);
        qib__registry_free(&r);
        ok(1, "free twice is harmless");
    }

    free(fixdir);
    return tap_done();
}
