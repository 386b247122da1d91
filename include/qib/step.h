/* The step context: what a plugin's run() sees of the runner.  Inputs are
 * borrowed from the runner's store; outputs are handed over to it.  Errors
 * are reported through qib_fail, never printed. */
#ifndef QIB_STEP_H
#define QIB_STEP_H

#include <stdio.h>

#include "qib/pool.h"
#include "qib/table.h"
#include "qib/transform.h"
#include "qib/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque step context. */
typedef struct qib_step qib_step;

#if defined(__GNUC__)
#define QIB_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define QIB_PRINTF(a, b)
#endif

/** Record the step's error and return @p status (so a plugin writes
 * `return qib_fail(step, QIB_EFORMAT, "%s: ...", path);`).  The runner
 * prefixes where it happened.  A later call replaces the message. */
int qib_fail(qib_step *step, int status, const char *fmt, ...) QIB_PRINTF(3, 4);

/** Log an informational line (shown with --verbose and kept in the log). */
void qib_step_log(qib_step *step, const char *fmt, ...) QIB_PRINTF(2, 3);

/** The step's id from the pipeline (borrowed). */
const char *qib_step_id(const qib_step *step);

/** Whether the run was interrupted (Ctrl-C, SIGTERM).  A long plugin may
 * poll it between blocks of work and return qib_fail(step, QIB_EINTR, ...)
 * to stop early; the runner stops after the step in any case. */
int qib_step_interrupted(qib_step *step);

/** The thread pool (may be NULL: run serially). */
qib_pool *qib_step_pool(qib_step *step);

/** Inputs by port name (borrowed; NULL when an optional port is unwired).
 * Each returns NULL for a port of another kind too. */
const qib_volume *qib_step_in_volume(qib_step *step, const char *port);
const qib_table *qib_step_in_table(qib_step *step, const char *port);
const qib_transform *qib_step_in_transform(qib_step *step, const char *port);

/** Take a reference to an input volume (transfer full) in order to modify
 * it: when this step is the input's last reader the runner gives up its own
 * reference first, so qib_volume_make_writable does not copy. */
qib_volume *qib_step_take_volume(qib_step *step, const char *port);

/** Set outputs by port name (transfer full: the runner owns them now, also
 * on error).  Returns QIB_ENOTFOUND for an unknown port, QIB_EINVAL for an
 * object of the wrong kind (a non-mask volume on a mask port). */
int qib_step_set_volume(qib_step *step, const char *port, qib_volume *v);
int qib_step_set_table(qib_step *step, const char *port, qib_table *t);
int qib_step_set_transform(qib_step *step, const char *port, qib_transform *t);

/** Fail unless @p vol (wired to port @p port) lies on the grid of @p image
 * within QIB_GRID_TOL (spatial dimensions; a fourth is ignored): masks and
 * images are never resampled silently.  The message names the port, the
 * first difference and both geometries.  Returns QIB_OK, or QIB_EGEOMETRY
 * through qib_fail. */
int qib_step_check_grid(qib_step *step, const char *port, const qib_volume *vol,
                        const qib_volume *image);

/** Record a value in the step's provenance entry ("affine_source": "sform"). */
int qib_step_record(qib_step *step, const char *key, const char *value);

/** Record that the step read the file @p path (its SHA-256 goes into the
 * provenance record). */
int qib_step_record_input(qib_step *step, const char *path);

/** An output file being written under a temporary name. */
typedef struct qib_ofile qib_ofile;

/** Open an output file for writing.  @p path is relative to the run's output
 * directory; an absolute path, or one whose ".." components leave the output
 * directory, is refused (QIB_EINVAL).  Missing parent directories under the
 * output directory are created.  The data goes to a temporary file in the same
 * directory; qib_ofile_commit renames it to its name, and the runner deletes
 * any file not committed when the step ends, fails or is interrupted. */
int qib_step_create_output(qib_step *step, const char *path, qib_ofile **out);

/** The stream to write to (binary mode; borrowed). */
FILE *qib_ofile_stream(qib_ofile *f);

/** The final path of the file (borrowed). */
const char *qib_ofile_path(const qib_ofile *f);

/** Flush, sync and rename to the final name (failing, with the temporary
 * file removed, when any earlier write to the stream failed); records the output and its
 * SHA-256 for provenance; frees *f and sets it to NULL.  On failure the
 * temporary file is removed and the error reported through the step. */
int qib_ofile_commit(qib_ofile **f);

/** Delete the temporary file and free *f (sets NULL).  NULL accepted. */
void qib_ofile_abort(qib_ofile **f);

#ifdef __cplusplus
}
#endif
#endif
