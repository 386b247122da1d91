/* Everything a plugin author needs: include this one header. */
#ifndef QIB_QIB_H
#define QIB_QIB_H

#include "qib/geometry.h"
#include "qib/harness.h"
#include "qib/meta.h"
#include "qib/plugin.h"
#include "qib/pool.h"
#include "qib/resample.h"
#include "qib/sha256.h"
#include "qib/status.h"
#include "qib/step.h"
#include "qib/table.h"
#include "qib/transform.h"
#include "qib/volume.h"

/** Version of libqib as "MAJOR.MINOR.PATCH" (the package version). */
const char *qib_version(void);

#endif
