/* seg.labels: selection by number and by name (plain and ITK-SNAP label
 * files), keeping values or not, and bad parameters and files. */
#include <config.h>

#include "t0500-util.h"

static qib_volume *mask;

static void sel(const char *name, const char *const *params, const uint8_t *want)
{
    int rc;
    qib_harness *h = t05_run1("seg.labels", "mask", mask, params, 1, &rc);
    const qib_volume *o = qib_harness_out_volume(h, "mask");
    const uint8_t *d = o ? qib_volume_data(o) : NULL;
    ok(rc == QIB_OK && d && memcmp(d, want, 6) == 0, "%s (%s)", name,
       rc ? qib_harness_error(h) : "ok");
    qib_harness_free(&h);
}

static void refuse(const char *name, const char *const *params, const char *want)
{
    int rc;
    qib_harness *h = t05_run1("seg.labels", "mask", mask, params, 1, &rc);
    ok(rc != QIB_OK, "%s: refused", name);
    contains(qib_harness_error(h), want, "%s: says \"%s\"", name, want);
    qib_harness_free(&h);
}

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f || fputs(text, f) < 0 || fclose(f))
        bail("cannot write %s", p);
    return p;
}

int main(void)
{
    plan(22);
    struct qib_geom g = t05_geom(6, 1, 1, 1, 1, 1);
    mask = t05_mask(&g);
    memcpy(qib_volume_data_mut(mask), (const uint8_t[]){0, 1, 2, 3, 2, 7}, 6);
    char *dir = tap_tmpdir();
    char *plain = write_file(dir, "plain.txt",
                             "# organ labels\n1 liver\n2\tspleen\n\n3, left kidney\n");
    char *itk = write_file(dir, "itk.txt",
                           "################################################\n"
                           "# ITK-SnAP Label Description File\n"
                           "# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL\n"
                           "    0     0    0    0        0  0  0    \"Clear Label\"\n"
                           "    1   255    0    0        1  1  1    \"Liver\"\n"
                           "    7     0  255    0        1  1  1    \"Tumour core\"\n");
    char *bad = write_file(dir, "bad.txt", "1 liver\nspleen 2\n");

    sel("label 2", (const char *const[]){"labels", "[2]", NULL}, (const uint8_t[]){0, 0, 1, 0, 1, 0});
    sel("labels 1 and 7, keeping values",
        (const char *const[]){"labels", "[1, 7]", "keep_values", "true", NULL},
        (const uint8_t[]){0, 1, 0, 0, 0, 7});
    sel("names from a plain file",
        (const char *const[]){"names", "spleen, left kidney", "name_file", plain, NULL},
        (const uint8_t[]){0, 0, 1, 1, 1, 0});
    sel("names from an ITK-SNAP file",
        (const char *const[]){"names", "Tumour core", "name_file", itk, "keep_values", "true", NULL},
        (const uint8_t[]){0, 0, 0, 0, 0, 7});
    sel("numbers and names together",
        (const char *const[]){"labels", "[3]", "names", "Liver", "name_file", itk, NULL},
        (const uint8_t[]){0, 1, 0, 1, 0, 0});
    sel("a label absent from the mask gives an empty mask",
        (const char *const[]){"labels", "[9]", NULL}, (const uint8_t[]){0, 0, 0, 0, 0, 0});

    refuse("nothing selected", NULL, "give labels");
    refuse("names without a file", (const char *const[]){"names", "liver", NULL}, "need name_file");
    refuse("label 300", (const char *const[]){"labels", "[300]", NULL}, "labels");
    refuse("label 1.5", (const char *const[]){"labels", "[1.5]", NULL}, "integer 1..255");
    refuse("unknown name", (const char *const[]){"names", "kidney", "name_file", plain, NULL},
           "no label named \"kidney\" (names: \"liver\", \"spleen\", \"left kidney\")");
    refuse("missing file", (const char *const[]){"names", "liver", "name_file", "/nonexistent/l.txt", NULL},
           "cannot open");
    refuse("malformed line", (const char *const[]){"names", "spleen", "name_file", bad, NULL},
           "bad.txt:2: expected a label number");
    qib_volume *img = t05_new(QIB_I16, &g), *keep = mask;
    mask = img;
    refuse("input that is not a mask", (const char *const[]){"labels", "[1]", NULL}, "mask");
    mask = keep;
    qib_volume_unref(&img);
    free(plain);
    free(itk);
    free(bad);
    t05_rmdir(dir);
    qib_volume_unref(&mask);
    return tap_done();
}
