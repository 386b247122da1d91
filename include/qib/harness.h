/* Run one plugin alone, outside a pipeline: for plugin tests (the GStreamer
 * check-harness idea) and for commands such as `qib info` that use a reader
 * plugin directly.  Parameters are given as text in pipeline syntax and go
 * through the same checks as in a pipeline.  A harness writes no provenance:
 * qib_step_record_input checks that a file can be read but does not hash it. */
#ifndef QIB_HARNESS_H
#define QIB_HARNESS_H

#include <stddef.h>

#include "qib/table.h"
#include "qib/transform.h"
#include "qib/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qib_harness qib_harness;

/** Load plugin @p full_name ("read.nifti") from the plugin search path
 * (QIB_PLUGIN_PATH, then the install directory).  On failure returns the
 * status and writes the reason to @p err (may be NULL) of @p errlen bytes. */
int qib_harness_new(const char *full_name, qib_harness **out, char *err, size_t errlen);

/** Free the harness, its outputs and the plugin's state; sets *h to NULL. */
void qib_harness_free(qib_harness **h);

/** Set parameter @p name from text (pipeline syntax: "0.5", "true", "mask",
 * "[1, 2, 3]").  Errors (unknown name, wrong type, out of range) return a
 * status and leave the message in qib_harness_error. */
int qib_harness_set_param(qib_harness *h, const char *name, const char *value);

/** Set list parameter @p name (plist, dlist or vec3) from @p n items, each
 * as one list item in pipeline syntax ("scan/IM1.dcm", "0.5"); the items are
 * taken as they are, so a path may hold commas or brackets.  Errors as for
 * qib_harness_set_param.  Added with QIB_PARAM_PLIST (qib/plugin.h). */
int qib_harness_set_param_list(qib_harness *h, const char *name, const char *const *items,
                               size_t n);

/** Wire an input port; the harness takes its own reference. */
int qib_harness_set_volume(qib_harness *h, const char *port, qib_volume *v);
int qib_harness_set_table(qib_harness *h, const char *port, qib_table *t);
int qib_harness_set_transform(qib_harness *h, const char *port, qib_transform *t);

/** Output directory for output files (default: the current directory). */
int qib_harness_set_outdir(qib_harness *h, const char *dir);

/** Number of threads (default 1). */
int qib_harness_set_threads(qib_harness *h, int n);

/** Check parameters (defaults filled, required ones present, the plugin's
 * check()), then init, run and fini.  Returns QIB_OK or the error status;
 * the message is in qib_harness_error.  May be called once. */
int qib_harness_run(qib_harness *h);

/** The last error message ("" when none; borrowed). */
const char *qib_harness_error(const qib_harness *h);

/** Outputs after a successful run (borrowed; NULL when not set). */
const qib_volume *qib_harness_out_volume(const qib_harness *h, const char *port);
const qib_table *qib_harness_out_table(const qib_harness *h, const char *port);
const qib_transform *qib_harness_out_transform(const qib_harness *h, const char *port);

/** Values the step recorded with qib_step_record (borrowed; NULL if none). */
const char *qib_harness_record(const qib_harness *h, const char *key);

#ifdef __cplusplus
}
#endif
#endif
