/* A small ordered dictionary of text values, each with the place it came
 * from ("nifti:descrip", "dicom:(0054,1001)", "computed").  Volumes and tables
 * carry one; the runner copies what a step's outputs carry into
 * provenance.json so every header value that fed a number is on record. */
#ifndef QIB_META_H
#define QIB_META_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque dictionary. */
typedef struct qib_meta qib_meta;

/** New empty dictionary (transfer full), or NULL when out of memory. */
qib_meta *qib_meta_new(void);

/** Free @p *m and set it to NULL.  NULL is accepted. */
void qib_meta_free(qib_meta **m);

/** Deep copy (transfer full), or NULL when out of memory.  NULL gives an
 * empty dictionary. */
qib_meta *qib_meta_copy(const qib_meta *m);

/** Set @p key to @p value (both copied), replacing any earlier value and
 * keeping the key's first position.  @p source may be NULL.  Returns QIB_OK,
 * QIB_EINVAL for an empty key or QIB_ENOMEM. */
int qib_meta_set(qib_meta *m, const char *key, const char *value, const char *source);

/** Set @p key to the shortest decimal text that reads back as @p value. */
int qib_meta_set_double(qib_meta *m, const char *key, double value, const char *source);

/** The value of @p key (borrowed, valid until the key is changed), or NULL. */
const char *qib_meta_get(const qib_meta *m, const char *key);

/** The source recorded with @p key (borrowed), or NULL. */
const char *qib_meta_source(const qib_meta *m, const char *key);

/** Parse the value of @p key as a double into @p out.  Returns QIB_ENOTFOUND
 * when absent, QIB_EFORMAT when it is not a number. */
int qib_meta_get_double(const qib_meta *m, const char *key, double *out);

/** Remove @p key.  Returns QIB_ENOTFOUND when it was absent. */
int qib_meta_remove(qib_meta *m, const char *key);

/** Number of entries (0 for NULL). */
size_t qib_meta_count(const qib_meta *m);

/** Entry @p i in insertion order; any out pointer may be NULL (borrowed).
 * Returns QIB_ERANGE when @p i is past the end. */
int qib_meta_at(const qib_meta *m, size_t i, const char **key,
                const char **value, const char **source);

#ifdef __cplusplus
}
#endif
#endif
