/* Status codes: the stable numbers, their names and their messages, and the
 * library version string. */
#include "config.h"

#include <string.h>

#include "qib/qib.h"
#include "tap.h"

int main(void)
{
    plan_lazy();
    /* The numbers are recorded in logs and provenance: they must never
     * change. */
    static const struct {
        int code, want;
        const char *name;
    } fixed[] = {
        {QIB_OK, 0, "QIB_OK"},
        {QIB_ENOMEM, -1, "QIB_ENOMEM"},
        {QIB_EINVAL, -2, "QIB_EINVAL"},
        {QIB_EIO, -3, "QIB_EIO"},
        {QIB_EFORMAT, -4, "QIB_EFORMAT"},
        {QIB_ERANGE, -5, "QIB_ERANGE"},
        {QIB_ENOTFOUND, -6, "QIB_ENOTFOUND"},
        {QIB_EABI, -7, "QIB_EABI"},
        {QIB_EGEOMETRY, -8, "QIB_EGEOMETRY"},
        {QIB_EUNSUPPORTED, -9, "QIB_EUNSUPPORTED"},
        {QIB_EINTR, -10, "QIB_EINTR"},
        {QIB_EOVERFLOW, -11, "QIB_EOVERFLOW"},
        {QIB_EBUSY, -12, "QIB_EBUSY"},
        {QIB_EPIPELINE, -13, "QIB_EPIPELINE"},
        {QIB_EPLUGIN, -14, "QIB_EPLUGIN"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        is_int(fixed[i].code, fixed[i].want, "%s is %d", fixed[i].name, fixed[i].want);
        is_string(qib_status_name(fixed[i].code), fixed[i].name, "name of %d", fixed[i].want);
        ok(strcmp(qib_strerror(fixed[i].code), "unknown status") != 0,
           "%s has its own message", fixed[i].name);
    }
    is_string(qib_strerror(QIB_EGEOMETRY), "geometry mismatch", "message of QIB_EGEOMETRY");
    is_string(qib_strerror(-999), "unknown status", "unknown code has a message");
    is_string(qib_status_name(-999), "QIB_E?", "unknown code has a placeholder name");
    is_string(qib_status_name(1), "QIB_E?", "positive codes are not statuses");

    is_string(qib_version(), PACKAGE_VERSION, "qib_version is the package version");
    return tap_done();
}
