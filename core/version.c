/* The library's version string, taken from the package version configure
 * was run with, so provenance records exactly what was built. */
#include "config.h"

#include "qib/qib.h"

const char *qib_version(void)
{
    return PACKAGE_VERSION;
}
