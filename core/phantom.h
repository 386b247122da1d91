/* Shared parts of `qib phantom`: the dispatcher in core/phantom.c hands each
 * phantom its own arguments; the helpers here (a seeded random source, option
 * parsing, directory creation, NIfTI output through write.nifti) keep every
 * phantom's command line and messages alike. */
#ifndef QIB_PHANTOM_H
#define QIB_PHANTOM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qib/qib.h"

/** One phantom: its name on the command line, a one-line summary for
 * `qib phantom --help`, and its entry point.  The entry point gets argv with
 * argv[0] the phantom's name and returns a QIB_EXIT_* status. */
struct qib__phantom {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/** `qib phantom ct-lesion` (core/phantom.c). */
int qib__phantom_ct_lesion(int argc, char **argv);
/** `qib phantom nema-iec` (core/phantom_nema.c). */
int qib__phantom_nema_iec(int argc, char **argv);
/** `qib phantom dwi` (core/phantom_dwi.c). */
int qib__phantom_dwi(int argc, char **argv);
/** `qib phantom dsc` (core/phantom_dsc.c). */
int qib__phantom_dsc(int argc, char **argv);

/** SplitMix64 step: the next 64 random bits from state *s.  The same seed
 * always gives the same phantom, on every machine. */
uint64_t qib__phantom_next(uint64_t *s);

/** Uniform in the open interval (0, 1) from state *s. */
double qib__phantom_uniform(uint64_t *s);

/** A standard normal deviate from state *s (Box-Muller). */
double qib__phantom_gauss(uint64_t *s);

/** Parse option @p opt's value @p s as a number in [lo, hi] into *out.  On
 * failure prints "qib phantom: OPT: expected ..." and returns -1. */
int qib__phantom_num(const char *opt, const char *s, double lo, double hi, double *out);

/** Parse a comma-separated list of numbers, each in [lo, hi], into out[]
 * (room for @p max).  Sets *n to the count.  Prints a message naming @p opt
 * and returns -1 on a bad, empty or too long list. */
int qib__phantom_list(const char *opt, const char *s, double lo, double hi, double *out,
                      size_t max, size_t *n);

/** One option of a phantom's table for qib__phantom_parse.  Exactly one
 * target is set: @p num takes the number as is, @p count as (size_t), @p seed
 * as (uint64_t), all checked against [lo, hi]; @p list takes a comma-separated
 * list (room for @p max, count in *n) through qib__phantom_list.  The table
 * ends with an entry whose name is NULL. */
struct qib__phantom_opt {
    const char *name;
    double lo, hi;
    double *num;
    size_t *count;
    uint64_t *seed;
    double *list;
    size_t max, *n;
};

/** What a phantom's callback for its special options returns. */
enum {
    QIB__PHANTOM_BAD = -1,     /* a usage error, already printed */
    QIB__PHANTOM_FLAG = 0,     /* the option took no value */
    QIB__PHANTOM_VALUE = 1,    /* the option took the next argument */
    QIB__PHANTOM_UNKNOWN = 2,  /* not an option of this phantom */
};

/** A phantom's options outside its table: @p opt with the next argument
 * @p val (NULL at the end); returns a QIB__PHANTOM_* value. */
typedef int (*qib__phantom_special_fn)(void *ctx, const char *opt, const char *val);

/** Parse argv[1..] of one phantom: -h/--help prints @p usage to stdout and
 * sets *done; --out DIR sets *out; the table @p opts; anything else goes to
 * @p special (may be NULL) and, if unknown there, is reported with "see
 * @p help".  Returns QIB_EXIT_OK or QIB_EXIT_USAGE (message printed).  *out is
 * not checked for presence: that stays with the caller. */
int qib__phantom_parse(int argc, char **argv, const struct qib__phantom_opt *opts,
                       qib__phantom_special_fn special, void *ctx, void (*usage)(FILE *),
                       const char *help, const char **out, int *done);

/** mkdir -p @p path; on failure prints a message and returns -1. */
int qib__phantom_mkdirs(const char *path);

/** Write @p v to DIR/NAME through write.nifti (.nii or .nii.gz by NAME);
 * prints the error and returns non-zero on failure. */
int qib__phantom_write_nifti(qib_volume *v, const char *dir, const char *name);

#endif
