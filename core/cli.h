/* The qib command's subcommands.  main() in core/qib.c parses the command
 * word and hands the remaining arguments (argv[0] is the subcommand's name)
 * to one of these.  Each prints its own messages and returns the exit
 * status.
 *
 * Exit statuses, the same for every subcommand (and in qib(1)):
 *   0    success
 *   1    a run or step failed (bad input data, I/O error, plugin failure)
 *   2    usage error, invalid pipeline, unknown plugin or parameter
 *   130  interrupted (SIGINT) */
#ifndef QIB_CLI_H
#define QIB_CLI_H

#define QIB_EXIT_OK 0
#define QIB_EXIT_FAIL 1
#define QIB_EXIT_USAGE 2
#define QIB_EXIT_INTR 130

/** Whether @p s ends in @p suf (ASCII case ignored) with something before
 * it: file kinds by name (".nii.gz", ".csv"). */
int qib__has_suffix(const char *s, const char *suf);

/** `qib plugins`: list loaded plugins and refused modules. */
int qib__cmd_plugins(int argc, char **argv);

/** `qib describe NAME [--markdown]`. */
int qib__cmd_describe(int argc, char **argv);

/** `qib validate PIPELINE ...` (core/runner). */
int qib__cmd_validate(int argc, char **argv);

/** `qib run PIPELINE ...` (core/runner). */
int qib__cmd_run(int argc, char **argv);

/** `qib info FILE ...` (core/runner). */
int qib__cmd_info(int argc, char **argv);

/** `qib phantom ...` (core/phantom.c). */
int qib__cmd_phantom(int argc, char **argv);

/** `qib batch PIPELINE COHORT.csv --out DIR ...` (core/cmd_batch.c). */
int qib__cmd_batch(int argc, char **argv);

/** `qib run-case PIPELINE COHORT.csv --out DIR --case ID` (core/cmd_batch.c). */
int qib__cmd_run_case(int argc, char **argv);

/** `qib status DIR` (core/cmd_batch.c). */
int qib__cmd_status(int argc, char **argv);

/** `qib gather DIR` (core/cmd_batch.c). */
int qib__cmd_gather(int argc, char **argv);

/** `qib reproduce PROVENANCE.json ...` (core/cmd_batch.c). */
int qib__cmd_reproduce(int argc, char **argv);

/** `qib stats TABLE.csv ...` (core/stats.c). */
int qib__cmd_stats(int argc, char **argv);

#endif
