/* The qib command: parses the command word and hands the rest of the
 * command line to the subcommand (core/cli.h lists them and the exit
 * statuses). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "qib/qib.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"run", qib__cmd_run, "run a pipeline on one case"},
    {"validate", qib__cmd_validate, "check a pipeline without reading any data"},
    {"plugins", qib__cmd_plugins, "list the plugins found, and modules refused"},
    {"describe", qib__cmd_describe, "show a plugin's parameters and ports"},
    {"info", qib__cmd_info, "show an image file's header, geometry and metadata"},
    {"phantom", qib__cmd_phantom, "write a digital phantom with a known answer"},
    {"batch", qib__cmd_batch, "run a pipeline on every case of a cohort table"},
    {"run-case", qib__cmd_run_case, "run one case of a cohort table (a Slurm task)"},
    {"status", qib__cmd_status, "summarise the cases of a cohort directory"},
    {"gather", qib__cmd_gather, "join the cases' result tables into one"},
    {"reproduce", qib__cmd_reproduce, "rerun a case from its provenance.json and compare"},
    {"stats", qib__cmd_stats, "repeatability: wSD, wCV, RC, ICC, Bland-Altman"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qib COMMAND [ARGS]\n"
            "       qib --help | --version\n"
            "\n"
            "Quantitative imaging biomarkers: run YAML pipelines of plugins.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n"
            "`qib COMMAND --help` describes a command.  Plugins are loaded from the\n"
            "directories in QIB_PLUGIN_PATH (colon-separated), then from\n"
            "%s.\n"
            "\n"
            "Exit status: 0 success, 1 a step or run failed, 2 usage or validation\n"
            "error, 130 interrupted.\n",
            QIB_PLUGINDIR);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return QIB_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return QIB_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("qib %s\nplugin ABI %d.%d\n", qib_version(), QIB_ABI_MAJOR, QIB_ABI_MINOR);
        return QIB_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    const char *names[NCOMMANDS];
    for (size_t i = 0; i < NCOMMANDS; i++)
        names[i] = commands[i].name;
    const char *near = qib__nearest(cmd, names, NCOMMANDS);
    if (cmd[0] == '-')
        fprintf(stderr, "qib: unknown option \"%s\"\n", cmd);
    else if (near)
        fprintf(stderr, "qib: unknown command \"%s\" (did you mean \"%s\"?)\n", cmd, near);
    else
        fprintf(stderr, "qib: unknown command \"%s\"\n", cmd);
    fprintf(stderr, "Try `qib --help`.\n");
    return QIB_EXIT_USAGE;
}
