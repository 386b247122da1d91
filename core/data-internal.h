/* Private helpers shared by libqib's data types in core/.  Not installed:
 * plugins use only include/qib/. */
#ifndef QIB_DATA_INTERNAL_H
#define QIB_DATA_INTERNAL_H

#include <stddef.h>

/* Format @p v with printf's "%.*g" at precision @p prec (1..17), with '.' as
 * the decimal mark whatever the locale, into @p buf of @p len bytes; "nan",
 * "inf" and "-inf" for non-finite values.  Returns @p buf.  For messages and
 * human output, where the shortest round-trip form would be noisy. */
char *qib__format_double_prec(double v, int prec, char *buf, size_t len);

#endif
