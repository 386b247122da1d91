/* The pipeline file (format v1, doc/pipeline-format.md): its syntax tree
 * with the line and column of every value, the list of diagnostics a check
 * collects, and the validated plan the runner executes.  pipeline.c is the
 * only file of qib that includes <yaml.h>. */
#ifndef QIB_PIPELINE_H
#define QIB_PIPELINE_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "engine.h"
#include "qib/plugin.h"

/* ------------------------------------------------------------------------
 * Diagnostics
 * ------------------------------------------------------------------------ */

/** A place in the pipeline file: 1-based line and column (libyaml's marks
 * plus one); line 0 means "no place" (a command-line value). */
struct qib__pos {
    int line, col;
};

/** One error message without the "file:line:col: " prefix. */
struct qib__diag {
    struct qib__pos pos;
    char *msg;
};

/** Errors collected while loading and checking one pipeline. */
struct qib__diags {
    struct qib__diag *v;
    size_t n, cap;
    int oom; /**< a message was lost for lack of memory */
};

/** Append a message at @p pos (printf format).  Out of memory sets oom. */
void qib__diag_add(struct qib__diags *d, struct qib__pos pos, const char *fmt, ...)
    QIB_PRINTF(3, 4);

/** Sort by position (line 0 first), keeping the order of equal positions. */
void qib__diags_sort(struct qib__diags *d);

/** Print every message to @p f as "FILE:LINE:COL: msg" ("FILE: msg" when
 * the message has no place). */
void qib__diags_print(const struct qib__diags *d, const char *file, FILE *f);

/** Free the messages; the struct may be reused. */
void qib__diags_clear(struct qib__diags *d);

/* ------------------------------------------------------------------------
 * Syntax tree
 * ------------------------------------------------------------------------ */

/** Limits that keep a hostile file cheap to reject. */
#define QIB__PIPELINE_MAX_BYTES (1024u * 1024u) /* 1 MiB */
#define QIB__PIPELINE_MAX_DEPTH 32              /* nested collections */

/** A scalar with where it was written.  raw_begin..raw_end is its span in
 * the source text (quotes included), so a substitution inside it can be
 * located exactly. */
struct qib__scalar {
    char *s;       /**< the value (NUL-free UTF-8) */
    struct qib__pos pos;
    size_t raw_begin, raw_end;
    int plain;     /**< written without quotes */
};

/** A `with:` value or a default: one scalar, or a sequence of scalars. */
struct qib__yval {
    struct qib__pos pos;
    int is_list;
    struct qib__scalar one;      /**< when !is_list */
    struct qib__scalar *items;   /**< when is_list */
    size_t n;
};

/** Types of per-case inputs. */
enum qib__input_type {
    QIB__INPUT_PATH = 1,
    QIB__INPUT_STRING,
    QIB__INPUT_DOUBLE,
    QIB__INPUT_INT
};

/** "path", "string", "double", "int", or "?". */
const char *qib__input_type_name(enum qib__input_type t);

/** inputs: NAME: {type, optional, help} */
struct qib__pinput {
    char *name;
    struct qib__pos pos;
    enum qib__input_type type;
    int optional;
    char *help;
};

/** params: NAME: {type, default, help, choices, min, max, unit}.  The
 * declaration is turned into a struct qib_param so that values go through
 * the same parser as plugin parameters. */
struct qib__pparam {
    char *name;
    struct qib__pos pos;
    struct qib_param decl;  /**< name/def/choices/unit/help point into this struct */
    char **choices;         /**< NULL-terminated, owned */
    char *def_text;         /**< default in pipeline syntax, owned */
    struct qib__pos def_pos;
    int ok;                 /**< the declaration itself is valid */
};

/** One entry of a step's `in:` mapping: port: "step" or "step.port". */
struct qib__pwire {
    char *port;
    struct qib__pos port_pos;
    char *step;     /**< referenced step id */
    char *outport;  /**< referenced output port; NULL: the primary output */
    struct qib__pos ref_pos;
};

/** One entry of a step's `with:` mapping. */
struct qib__pwith {
    char *name;
    struct qib__pos name_pos;
    struct qib__yval val;
};

struct qib__pstep {
    char *id;            /**< NULL when missing */
    struct qib__pos pos; /**< the step's mapping */
    struct qib__pos id_pos;
    char *plugin;        /**< NULL when missing */
    struct qib__pos plugin_pos;
    char *description;
    struct qib__pwire *in;
    size_t nin;
    struct qib__pwith *with;
    size_t nwith;
};

/** outputs: NAME: {file: PATH, help} or NAME: {step: "step[.port]", help} */
struct qib__poutput {
    char *name;
    struct qib__pos pos;
    struct qib__scalar file;  /**< file.s NULL unless a file output */
    char *step;               /**< step output: step id ... */
    char *outport;            /**< ... and port (NULL: primary) */
    struct qib__pos ref_pos;
    char *help;
};

/** A parsed pipeline.  Parts that were wrong are left out and reported; the
 * rest is kept so that every error is found in one pass. */
struct qib__pipeline {
    char *path;      /**< as given */
    char *src;       /**< the file's text (NUL-terminated) */
    size_t srclen;
    char sha256[65];
    int version;     /**< value of `qib:` (0 when missing) */
    char *name;
    char *description;
    char **references;
    size_t nreferences;
    struct qib__pinput *inputs;
    size_t ninputs;
    struct qib__pparam *params;
    size_t nparams;
    struct qib__pstep *steps;
    size_t nsteps;
    struct qib__poutput *outputs;
    size_t noutputs;
};

/** Parse pipeline text @p buf (@p len bytes) named @p path.  Every problem
 * found goes to @p d.  Returns QIB_OK with *out set (transfer full) when the
 * text is a YAML mapping, even if @p d then holds errors; QIB_EPIPELINE with
 * *out NULL when nothing could be made of it (syntax error, not a mapping,
 * aliases, too deep); QIB_ENOMEM. */
int qib__pipeline_parse(const char *path, const char *buf, size_t len,
                        struct qib__pipeline **out, struct qib__diags *d);

/** Read the file @p path (at most QIB__PIPELINE_MAX_BYTES) and parse it.
 * Returns as qib__pipeline_parse, or QIB_EIO when it cannot be read (the
 * reason in @p d). */
int qib__pipeline_load(const char *path, struct qib__pipeline **out, struct qib__diags *d);

void qib__pipeline_free(struct qib__pipeline **p);

/** Index of the input / parameter / step named @p name, or -1. */
long qib__pipeline_input(const struct qib__pipeline *p, const char *name);
long qib__pipeline_param(const struct qib__pipeline *p, const char *name);
long qib__pipeline_step(const struct qib__pipeline *p, const char *id);

/** Position of the @p k-th (0-based) "${" inside scalar @p s, found in the
 * source text; the scalar's own position when it cannot be located. */
struct qib__pos qib__scalar_subst_pos(const struct qib__pipeline *p,
                                      const struct qib__scalar *s, size_t k);

/* ------------------------------------------------------------------------
 * Validation: pipeline + registry + command line -> plan
 * ------------------------------------------------------------------------ */

/** A "name=value" given on the command line. */
struct qib__kv {
    const char *name;
    const char *value;
};

/** What the command line adds to a pipeline. */
struct qib__runargs {
    const struct qib__kv *overrides; /**< -p name=value */
    size_t noverrides;
    const struct qib__kv *inputs;    /**< --input name=value */
    size_t ninputs;
    int have_inputs;  /**< inputs are known (run): missing ones are errors */
    const char *outdir; /**< --out, or NULL (validate) */
};

/** A resolved pipeline parameter. */
struct qib__rparam {
    char *value;      /**< formatted in pipeline syntax */
    int overridden;   /**< set by -p */
    int is_list;      /**< vec3 or dlist */
    char **items;     /**< the formatted items when is_list */
    size_t n;
};

/** A resolved input. */
struct qib__rinput {
    const char *value; /**< from the command line (borrowed), NULL if absent */
};

/** A wire resolved to (producer step, output port). */
struct qib__rwire {
    size_t port;       /**< input port index of the consumer */
    size_t from_step;
    size_t from_port;  /**< output port index of the producer */
    int last;          /**< the consumer is the object's last reader, and
                            this is the last wire of that step reading it */
};

/** One validated step. */
struct qib__rstep {
    const struct qib__pstep *ps;
    const struct qib__module *mod;
    qib_step *step;            /**< created, parameters filled (run: once) */
    struct qib__rwire *wires;
    size_t nwires;
    size_t *nreaders;          /**< per output port: wires reading it */
    size_t *last_reader;       /**< per output port: index of the last step
                                    reading it (== own index when none) */
    int *declared;             /**< per output port: named under outputs: */
};

/** The validated pipeline: ready to run. */
struct qib__plan {
    struct qib__pipeline *pl;  /**< borrowed */
    const struct qib__registry *reg; /**< borrowed */
    struct qib__rparam *params;   /**< pl->nparams */
    struct qib__rinput *inputs;   /**< pl->ninputs */
    struct qib__rstep *steps;     /**< pl->nsteps */
    size_t nsteps;
    char **declared_files; /**< per pipeline output: the normalised path of
                                a file output, NULL for an object output */
};

/** Check everything that can be checked without reading data and build the
 * plan.  Every problem goes to @p d.  Returns QIB_OK (*out transfer full),
 * QIB_EPIPELINE when @p d holds errors (*out NULL), or QIB_ENOMEM.  Steps
 * are created with qib__step_new using @p pool and @p a->outdir. */
int qib__plan_new(struct qib__pipeline *pl, const struct qib__registry *reg,
                  const struct qib__runargs *a, qib_pool *pool, struct qib__plan **out,
                  struct qib__diags *d);

void qib__plan_free(struct qib__plan **p);

/* ------------------------------------------------------------------------
 * Runner
 * ------------------------------------------------------------------------ */

/** Verbosity of the per-step log lines on the log stream. */
enum qib__verbosity { QIB__QUIET = 0, QIB__NORMAL = 1, QIB__VERBOSE = 2 };

struct qib__runopts {
    const char *outdir;        /**< created when missing */
    enum qib__verbosity verbosity;
    FILE *log;                 /**< where step lines go (stderr) */
    volatile sig_atomic_t *interrupt; /**< set by a signal handler, or NULL */
    int argc;                  /**< the command line, for the record */
    char **argv;
};

/** Run @p plan: steps in order, objects released after their last reader,
 * OUT/provenance.json written (status complete, failed or interrupted).  On
 * failure the output files of the run are removed.  Returns QIB_OK, the
 * failing status (QIB_EINTR when interrupted); the message, prefixed with
 * the place and step, goes to @p err. */
int qib__run(struct qib__plan *plan, qib_pool *pool, const struct qib__runopts *o,
             char *err, size_t errlen);

/* ------------------------------------------------------------------------
 * Provenance helpers (provenance.c)
 * ------------------------------------------------------------------------ */

struct qib__json;
struct timespec;

/** @p t as ISO 8601 UTC with milliseconds: "2024-05-01T12:00:00.123Z". */
void qib__iso8601_utc(const struct timespec *t, char out[32]);

/** "qib": version and how it was built (compiler, flags, options). */
void qib__prov_qib(struct qib__json *j, const char *key);

/** "host": uname fields, host name, CPUs online. */
void qib__prov_host(struct qib__json *j, const char *key);

/** One input as an object: name, type, value and, for a path, what it is
 * and its digest (a file's SHA-256; for a directory the SHA-256 of its
 * manifest, see qib__hash_tree).  Returns QIB_OK or QIB_EIO with the reason
 * in @p err. */
int qib__prov_input(struct qib__json *j, const char *name, enum qib__input_type type,
                    const char *value, char *err, size_t errlen);

/** Digest of a directory tree: the SHA-256 of its manifest, the text made
 * of one line "SHA256  RELPATH\n" per regular file below @p dir (symbolic
 * links to files followed, to directories not), sorted by RELPATH in byte
 * order -- what `find . -type f | sort | xargs sha256sum` prints, without
 * the "./".  *nfiles and *nbytes (may be NULL) count the files. */
int qib__hash_tree(const char *dir, char hex[65], size_t *nfiles, unsigned long long *nbytes,
                   char *err, size_t errlen);

/** Parameter @p p of a private struct as a typed JSON value. */
void qib__prov_param(struct qib__json *j, const char *key, const struct qib_param *p,
                     const void *priv);

/** Object metadata: a volume (type, grid, mask flag, metadata), a table
 * (columns with units and IBSI codes, rows when @p rows), a transform. */
void qib__prov_volume(struct qib__json *j, const char *key, const qib_volume *v);
void qib__prov_table(struct qib__json *j, const char *key, const qib_table *t, int rows);
void qib__prov_transform(struct qib__json *j, const char *key, const qib_transform *t);

/** Write @p len bytes to @p dir/@p name through a temporary file in @p dir,
 * flushed, synced and renamed, so the file is either complete or absent.
 * Returns QIB_OK or QIB_EIO with the reason in @p err. */
int qib__write_file_atomic(const char *dir, const char *name, const char *text, size_t len,
                           char *err, size_t errlen);

#endif
