/* The engine's internal API: plugin registry and loader, parameter parsing
 * and storage, the step context behind include/qib/step.h, and small string
 * helpers.  Used by the runner, the harness and the qib command; not
 * installed.  Messages written to the err buffers are plain sentences
 * without a file:line prefix: callers add where the value came from. */
#ifndef QIB_ENGINE_H
#define QIB_ENGINE_H

#include <signal.h>
#include <stddef.h>

#include "qib/plugin.h"
#include "qib/pool.h"
#include "qib/step.h"

/* ------------------------------------------------------------------------
 * Registry and loader
 * ------------------------------------------------------------------------ */

/** One loaded plugin module. */
struct qib__module {
    char *path;                     /**< file the module was loaded from */
    char sha256[65];                /**< SHA-256 of that file, hex; "" until
                                         qib__module_hash computed it */
    void *handle;                   /**< dlopen handle */
    const struct qib_plugin *desc;  /**< the plugin's descriptor (checked); its
                                         outputs table is never NULL */
    struct qib_plugin *desc_copy;   /**< owned copy behind desc when the
                                         plugin's outputs were NULL, else NULL */
    char *full_name;                /**< "kind.name" */
};

/** A module file that was refused, and why. */
struct qib__problem {
    char *path;   /**< the module file */
    char *reason; /**< one or more sentences saying what is wrong and what to do */
};

/** The loader's list of module files still to open (loader.c only). */
struct qib__regscan;

/** The modules found on a search path.  Read the fields directly; only the
 * registry functions change them.  A registry made by qib__registry_open
 * holds only the modules looked up so far: mods and problems are complete
 * once qib__registry_find missed, or after qib__registry_complete. */
struct qib__registry {
    struct qib__module *mods;       /**< accepted modules, in load order; never
                                         moved, so pointers to them stay valid
                                         until qib__registry_free */
    size_t nmods;
    struct qib__problem *problems;  /**< refused modules, in load order */
    size_t nproblems;
    struct qib__regscan *scan;      /**< files not opened yet; private */
};

/** The module files of the search path: every "*.so" in the directories of
 * $QIB_PLUGIN_PATH (colon-separated, in order; empty entries skipped), then
 * in the install directory (QIB_PLUGINDIR).  Within a directory files are
 * taken in name order.  A directory listed twice, or a file reached twice,
 * counts once.  Missing or unreadable directories are skipped.
 *
 * The full scan opens every file in that order with dlopen(RTLD_NOW |
 * RTLD_LOCAL) and checks its descriptor (qib__plugin_check); a module that
 * fails any check, whose full name was already loaded from an earlier file,
 * or whose file is named "<kind>_<name>.so" for a kind of plugin but holds
 * another plugin, is closed and recorded in problems, never an error.  The
 * first file providing a name is the module of that name.
 *
 * qib__registry_load does the full scan at once.  Returns QIB_OK (*out
 * transfer full) or QIB_ENOMEM. */
int qib__registry_load(struct qib__registry **out);

/** Like qib__registry_load but searching exactly the colon-separated
 * directory list @p path (NULL or "" loads nothing), without the
 * environment or the install directory.  For tests. */
int qib__registry_load_path(const char *path, struct qib__registry **out);

/** Like qib__registry_load, but only lists the module files: nothing is
 * opened until qib__registry_find asks for a name.  A lookup of
 * "kind.name" opens only the file "<kind>_<name>.so" (its first occurrence
 * on the search path) when every file before it is also named after a
 * plugin, since such a file can hold no other plugin; in every other case
 * (no such file, it is refused, or a file of another name comes first) it
 * does the full scan.  Either way the module found is the one the full scan
 * would find.  Returns QIB_OK (*out transfer full) or QIB_ENOMEM. */
int qib__registry_open(struct qib__registry **out);

/** qib__registry_open over exactly @p path (see qib__registry_load_path). */
int qib__registry_open_path(const char *path, struct qib__registry **out);

/** Open every module file not opened yet (the rest of the full scan), so
 * mods and problems list everything.  Returns QIB_OK or QIB_ENOMEM. */
int qib__registry_complete(struct qib__registry *r);

/** dlclose every module and free everything; sets *r to NULL.  Descriptors
 * and any pointer into a module become invalid.  NULL accepted. */
void qib__registry_free(struct qib__registry **r);

/** The module named @p full_name ("read.nifti"), or NULL (borrowed).  May
 * open module files (see qib__registry_open); after a miss the registry is
 * complete.  The registry is changed only in what it has opened, never in
 * what a name resolves to, hence the const. */
const struct qib__module *qib__registry_find(const struct qib__registry *r,
                                             const char *full_name);

/** Fill m->sha256 with the SHA-256 of the module file, once; modules are
 * hashed only when a run records them.  Returns QIB_OK, or QIB_EIO with
 * errno set when the file cannot be read. */
int qib__module_hash(const struct qib__module *m);

/** The loaded full name nearest to @p name by edit distance, when close
 * enough to be a likely typo (at most 2 edits, or a third of the name's
 * length if longer); NULL otherwise.  Completes the registry first.
 * Borrowed. */
const char *qib__registry_suggest(const struct qib__registry *r, const char *name);

/** The refusal recorded for a module file named "<kind>_<name>.so" that
 * would have provided @p full_name, or NULL: lets "plugin not found" say
 * why the file that looked like it was refused.  Completes the registry
 * first. */
const struct qib__problem *qib__registry_problem_for(const struct qib__registry *r,
                                                     const char *full_name);

/** Check a descriptor as the loader does: ABI numbers and struct_size,
 * kind, name, version, license, summary, run, ports (names, kinds,
 * duplicates, at least one output, mask_when), parameters (names, types,
 * duplicates, offsets and alignment within priv_size, enum choices,
 * defaults parseable and in range, min <= max).  Returns QIB_OK, or
 * QIB_EABI (ABI numbers, struct_size) or QIB_EINVAL with the reason in
 * @p why. */
int qib__plugin_check(const struct qib_plugin *d, char *why, size_t whylen);

/** qib_harness_new for module @p m of a registry the caller already has
 * (borrowed: it must outlive the harness), so the plugins are not looked
 * up a second time. */
typedef struct qib_harness qib_harness;
int qib__harness_new_module(const struct qib__module *m, qib_harness **out, char *err,
                            size_t errlen);

/* ------------------------------------------------------------------------
 * Name helpers
 * ------------------------------------------------------------------------ */

/** Levenshtein distance between two strings. */
size_t qib__edit_distance(const char *a, const char *b);

/** The candidate nearest to @p name under the same "likely typo" rule as
 * qib__registry_suggest, or NULL.  @p cands has @p n entries (NULL entries
 * skipped).  Borrowed from @p cands. */
const char *qib__nearest(const char *name, const char *const *cands, size_t n);

/** Number of entries of a NULL-name-terminated port table (0 for NULL). */
size_t qib__nports(const struct qib_port *ports);

/** Number of entries of a NULL-name-terminated parameter table (0 for NULL). */
size_t qib__nparams(const struct qib_param *params);

/** Port named @p name in @p ports, or NULL; *index (may be NULL) is its
 * position. */
const struct qib_port *qib__port_find(const struct qib_port *ports, const char *name,
                                      size_t *index);

/** Parameter named @p name in @p params, or NULL; *index (may be NULL) is its
 * position. */
const struct qib_param *qib__param_find(const struct qib_param *params, const char *name,
                                        size_t *index);

/** Name of a parameter type ("bool", "int", "double", "string", "path",
 * "enum", "vec3", "dlist"), or "?". */
const char *qib__param_type_name(enum qib_param_type t);

/** Name of an object kind ("volume", "mask", "table", "transform"), or "?". */
const char *qib__obj_kind_name(enum qib_obj_kind k);

/** Whether @p rel is a relative path that stays inside the directory it is
 * relative to when read lexically (not empty, not absolute, ".." never
 * climbs above the start).  Returns QIB_OK or QIB_EINVAL with the reason in
 * @p why (may be NULL). */
int qib__relpath_check(const char *rel, char *why, size_t whylen);

/* ------------------------------------------------------------------------
 * Parameters
 * ------------------------------------------------------------------------ */

/** A value as written in a pipeline: one scalar text, or a list of scalar
 * texts (YAML flow or block sequence).  Borrowed texts. */
struct qib__pvalue {
    int is_list;                /**< 0: scalar; 1: list */
    const char *scalar;         /**< the text when !is_list */
    size_t n;                   /**< number of items when is_list */
    const char *const *items;   /**< the items when is_list */
};

/** Parse @p p's value @p v, check it (type, range, choices, output path)
 * and store it at p->offset in @p priv, freeing what was stored there
 * before (strings, lists).  Returns QIB_OK, or QIB_EINVAL / QIB_ERANGE
 * with a message such as `parameter "lower": expected a number, got "abc"`
 * or `parameter "as": "foo" is not one of volume, mask` in @p err. */
int qib__param_store(const struct qib_param *p, const struct qib__pvalue *v, void *priv,
                     char *err, size_t errlen);

/** Like qib__param_store, from text in pipeline syntax: "[a, b, c]" (first
 * character '[', last ']') is a list whose comma-separated items are
 * trimmed and unquoted; anything else is one scalar taken verbatim.  Used
 * for defaults and by the harness. */
int qib__param_store_text(const struct qib_param *p, const char *text, void *priv,
                          char *err, size_t errlen);

/** Free what qib__param_store left at p->offset (strings, lists) and zero
 * it. */
void qib__param_clear(const struct qib_param *p, void *priv);

/** The stored value of @p p in pipeline syntax (malloc'd): "true", "42",
 * "0.5" (shortest round-trip form), the text of a string or path, the
 * choice of an enum, "[1, 2, 3]" for vec3 and dlist; NULL for an unset
 * string or path, or when out of memory. */
char *qib__param_format(const struct qib_param *p, const void *priv);

/** A plugin's private struct being filled: priv plus which parameters were
 * given. */
typedef struct qib__params qib__params;

/** A zeroed private struct for @p d (max(priv_size, 1) bytes), nothing
 * given.  Returns QIB_OK (*out transfer full) or QIB_ENOMEM. */
int qib__params_new(const struct qib_plugin *d, qib__params **out);

/** Free strings and lists stored in priv, then priv itself; *p = NULL.
 * NULL accepted. */
void qib__params_free(qib__params **p);

/** Set parameter @p name (qib__param_store) and mark it given.  An unknown
 * name returns QIB_ENOTFOUND with `unknown parameter "lowr" (did you mean
 * "lower"?)` or the list of known names in @p err. */
int qib__params_set(qib__params *p, const char *name, const struct qib__pvalue *v,
                    char *err, size_t errlen);

/** Same, from text in pipeline syntax (see qib__param_store_text). */
int qib__params_set_text(qib__params *p, const char *name, const char *text, char *err,
                         size_t errlen);

/** Store the default of every parameter not given; QIB_EINVAL with
 * `parameter "x" is required` for a required one missing (the first in
 * table order).  Call once, after the last set. */
int qib__params_finish(qib__params *p, char *err, size_t errlen);

/** Whether parameter number @p i (table order) was given explicitly. */
int qib__params_given(const qib__params *p, size_t i);

/** The descriptor (borrowed). */
const struct qib_plugin *qib__params_desc(const qib__params *p);

/** The private struct (borrowed; plugins' parameter fields are filled). */
void *qib__params_priv(qib__params *p);
const void *qib__params_priv_const(const qib__params *p);

/** Kind of output @p port of @p d once parameters are known: QIB_OBJ_MASK
 * for a MASK port or a VOLUME port whose mask_when holds for @p priv, the
 * port's own kind otherwise.  @p priv may be NULL (then mask_when is taken
 * as not holding). */
enum qib_obj_kind qib__output_kind(const struct qib_plugin *d, const struct qib_port *port,
                                   const void *priv);

/* ------------------------------------------------------------------------
 * Step context (implements include/qib/step.h)
 * ------------------------------------------------------------------------ */

/** Create a step running module @p m as step @p id (copied).  Takes
 * @p params (transfer full, also on error; its desc must be m->desc and it
 * must be finished with qib__params_finish).  @p pool is borrowed (NULL:
 * serial).  @p outdir is where output files go (copied; NULL means ".").
 * Returns QIB_OK or QIB_ENOMEM. */
int qib__step_new(const struct qib__module *m, const char *id, qib__params *params,
                  qib_pool *pool, const char *outdir, qib_step **out);

/** Let qib_step_record_input check that a file is readable without hashing
 * it: for a step whose input records go into no provenance (the harness,
 * `qib info`).  Its recorded digests are then empty strings. */
void qib__step_no_digests(qib_step *s);

/** Free the step: its inputs, any outputs not taken, records, temporary
 * files left open (deleted), the private struct; *s = NULL.  NULL accepted. */
void qib__step_free(qib_step **s);

/** Wire input @p port to @p obj, a qib_volume * (kind QIB_OBJ_VOLUME or
 * QIB_OBJ_MASK), qib_table * (QIB_OBJ_TABLE) or qib_transform *
 * (QIB_OBJ_TRANSFORM).  With @p transfer the step takes over the caller's
 * reference (transfer full, also on error): pass it when this step is the
 * object's last reader, so qib_step_take_volume can hand the only reference
 * to the plugin.  Without, the step adds its own reference.  Returns
 * QIB_ENOTFOUND for an unknown port, QIB_EINVAL when the object does not fit
 * the port (a table on a volume port; a volume not flagged as a mask on a
 * mask port), with a message in @p err. */
int qib__step_wire(qib_step *s, const char *port, enum qib_obj_kind kind, void *obj,
                   int transfer, char *err, size_t errlen);

/** Call the plugin's check() (when it has one).  Returns its status; the
 * message is in qib__step_error.  Needs no inputs: the validator calls it. */
int qib__step_check(qib_step *s);

/** Run the step: fail with QIB_EINTR if interrupted already; check(),
 * every non-optional input wired, init(), run(), then fini() (always once
 * init was called).  After a successful run the outputs are verified: every
 * non-optional output set, a MASK output flagged as a mask, a VOLUME output
 * with mask_when a mask exactly when its parameter says.  Output files not
 * committed are deleted whatever happens.  On failure the outputs are
 * dropped.  Returns QIB_OK or the status; message in qib__step_error.
 * Call once. */
int qib__step_run(qib_step *s);

/** Status of the last failure (QIB_OK when none). */
int qib__step_status(const qib_step *s);

/** Message of the last failure ("" when none; borrowed). */
const char *qib__step_error(const qib_step *s);

/** Set the step's failure as qib_fail would (used by callers to report a
 * wiring error through the same place). */
int qib__step_fail(qib_step *s, int status, const char *fmt, ...) QIB_PRINTF(3, 4);

/** The module (borrowed). */
const struct qib__module *qib__step_module(const qib_step *s);

/** The parameters (borrowed; for provenance: qib__param_format each). */
const qib__params *qib__step_params(const qib_step *s);

/** Output @p port after a successful run, borrowed; *kind (may be NULL) is
 * QIB_OBJ_VOLUME (also for masks: check qib_volume_is_mask),
 * QIB_OBJ_TABLE or QIB_OBJ_TRANSFORM.  NULL when not set or taken. */
void *qib__step_output(const qib_step *s, const char *port, enum qib_obj_kind *kind);

/** Take output @p port (transfer full; the step forgets it).  NULL when not
 * set or already taken. */
void *qib__step_take_output(qib_step *s, const char *port, enum qib_obj_kind *kind);

/** Provenance records set with qib_step_record, in first-set order (a key
 * set again keeps its place, new value).  Borrowed. */
size_t qib__step_nrecords(const qib_step *s);
void qib__step_record_at(const qib_step *s, size_t i, const char **key, const char **value);

/** Files read (qib_step_record_input), in order: the path as given and its
 * SHA-256 taken when recorded.  Borrowed. */
size_t qib__step_ninputs(const qib_step *s);
void qib__step_input_at(const qib_step *s, size_t i, const char **path, const char **sha256);

/** Output files committed, in order: the path relative to the output
 * directory (normalised, as the plugin named it), the full path, and the
 * SHA-256 of the committed file.  Borrowed. */
size_t qib__step_noutfiles(const qib_step *s);
void qib__step_outfile_at(const qib_step *s, size_t i, const char **rel, const char **full,
                          const char **sha256);

/** Where qib_step_log lines go (default: discarded).  @p fn gets the step
 * and one formatted line without a newline. */
typedef void (*qib__log_fn)(void *arg, const qib_step *s, const char *line);
void qib__step_set_log(qib_step *s, qib__log_fn fn, void *arg);

/** A flag the runner's SIGINT handler sets (borrowed; NULL: never).
 * qib__step_run fails with QIB_EINTR when it is set before the plugin
 * starts; a plugin failure while it is set is reported as QIB_EINTR. */
void qib__step_set_interrupt(qib_step *s, volatile sig_atomic_t *flag);

/** Whether the interrupt flag is set. */
int qib__step_interrupted(const qib_step *s);

#endif
