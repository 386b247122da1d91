/* Status codes: names and messages for the stable numbers in status.h. */
#include "qib/status.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} codes[] = {
    {QIB_OK, "QIB_OK", "success"},
    {QIB_ENOMEM, "QIB_ENOMEM", "out of memory"},
    {QIB_EINVAL, "QIB_EINVAL", "invalid argument"},
    {QIB_EIO, "QIB_EIO", "input/output error"},
    {QIB_EFORMAT, "QIB_EFORMAT", "malformed file"},
    {QIB_ERANGE, "QIB_ERANGE", "value out of range"},
    {QIB_ENOTFOUND, "QIB_ENOTFOUND", "not found"},
    {QIB_EABI, "QIB_EABI", "plugin built for another ABI"},
    {QIB_EGEOMETRY, "QIB_EGEOMETRY", "geometry mismatch"},
    {QIB_EUNSUPPORTED, "QIB_EUNSUPPORTED", "not supported"},
    {QIB_EINTR, "QIB_EINTR", "interrupted"},
    {QIB_EOVERFLOW, "QIB_EOVERFLOW", "size overflow"},
    {QIB_EBUSY, "QIB_EBUSY", "object is shared"},
    {QIB_EPIPELINE, "QIB_EPIPELINE", "invalid pipeline"},
    {QIB_EPLUGIN, "QIB_EPLUGIN", "plugin failure"},
};

const char *qib_strerror(int status)
{
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == status)
            return codes[i].text;
    return "unknown status";
}

const char *qib_status_name(int status)
{
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == status)
            return codes[i].name;
    return "QIB_E?";
}
