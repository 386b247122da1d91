/* qib status codes: every libqib function that can fail returns one of these.
 * The numbers are stable (they appear in logs and provenance), so new codes
 * are only ever appended. */
#ifndef QIB_STATUS_H
#define QIB_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes. 0 is success; every error is negative. */
enum qib_status {
    QIB_OK = 0,
    QIB_ENOMEM = -1,       /**< out of memory */
    QIB_EINVAL = -2,       /**< invalid argument or parameter value */
    QIB_EIO = -3,          /**< a read, write, open or rename failed */
    QIB_EFORMAT = -4,      /**< a file is not what its header claims */
    QIB_ERANGE = -5,       /**< a value is outside its allowed range */
    QIB_ENOTFOUND = -6,    /**< a named thing (file, plugin, column) is absent */
    QIB_EABI = -7,         /**< a plugin was built for another ABI */
    QIB_EGEOMETRY = -8,    /**< two objects are not on the same grid */
    QIB_EUNSUPPORTED = -9, /**< valid input that qib does not handle */
    QIB_EINTR = -10,       /**< interrupted (Ctrl-C) */
    QIB_EOVERFLOW = -11,   /**< a size computed from a header overflows */
    QIB_EBUSY = -12,       /**< an object is shared and may not be modified */
    QIB_EPIPELINE = -13,   /**< the pipeline file is invalid */
    QIB_EPLUGIN = -14      /**< a plugin failed in a way it did not report */
};

/** A short, constant English description of a status code (never NULL). */
const char *qib_strerror(int status);

/** The symbolic name of a status code, e.g. "QIB_EFORMAT" (never NULL). */
const char *qib_status_name(int status);

#ifdef __cplusplus
}
#endif
#endif
