/* The JSON writer of provenance records (core/json.c): layout, escaping of
 * quotes, backslashes and control characters, invalid UTF-8 replaced so the
 * output stays valid, numbers in shortest round-trip form, non-finite
 * numbers as null, fragments spliced into a document, misuse detected. */
#define _GNU_SOURCE
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"

static char *buf;
static size_t len;

static FILE *mem(void)
{
    free(buf);
    buf = NULL;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        bail("open_memstream failed");
    return f;
}

int main(void)
{
    plan(9);
    struct qib__json j;

    FILE *f = mem();
    qib__json_init(&j, f, 0);
    qib__json_obj_begin(&j, NULL);
    qib__json_str(&j, "s", "a\"b\\c\n\t\x01 é");
    qib__json_int(&j, "i", -42);
    qib__json_double(&j, "d", 0.1);
    qib__json_double(&j, "big", 1e300);
    qib__json_double(&j, "nan", NAN);
    qib__json_double(&j, "inf", -INFINITY);
    qib__json_double(&j, "negzero", -0.0);
    qib__json_bool(&j, "t", 1);
    qib__json_null(&j, "n");
    qib__json_str(&j, "null", NULL);
    qib__json_arr_begin(&j, "empty");
    qib__json_arr_end(&j);
    qib__json_arr_begin(&j, "a");
    qib__json_int(&j, NULL, 1);
    qib__json_obj_begin(&j, NULL);
    qib__json_obj_end(&j);
    qib__json_arr_end(&j);
    qib__json_obj_end(&j);
    int rc = qib__json_finish(&j);
    fclose(f);
    is_int(rc, 0, "a balanced document");
    is_string(buf,
              "{\n"
              "  \"s\": \"a\\\"b\\\\c\\n\\t\\u0001 é\",\n"
              "  \"i\": -42,\n"
              "  \"d\": 0.1,\n"
              "  \"big\": 1e+300,\n"
              "  \"nan\": null,\n"
              "  \"inf\": null,\n"
              "  \"negzero\": 0,\n"
              "  \"t\": true,\n"
              "  \"n\": null,\n"
              "  \"null\": null,\n"
              "  \"empty\": [],\n"
              "  \"a\": [\n"
              "    1,\n"
              "    {}\n"
              "  ]\n"
              "}\n",
              "layout, escapes and numbers");

    /* Invalid UTF-8: a lone continuation byte, a truncated sequence, an
     * overlong encoding of '/', a surrogate. */
    f = mem();
    qib__json_write_string(f, "x\x80y\xC3z\xC0\xAF\xED\xA0\x80!");
    fclose(f);
    is_string(buf, "\"x\\ufffdy\\ufffdz\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd!\"",
              "invalid UTF-8 bytes become U+FFFD one by one");
    f = mem();
    qib__json_write_string(f, "\xF0\x9F\x98\x80 \xE2\x82\xAC");
    fclose(f);
    is_string(buf, "\"\xF0\x9F\x98\x80 \xE2\x82\xAC\"", "valid multi-byte UTF-8 is kept");

    /* A fragment written at depth 1 and spliced into an array. */
    char *frag = NULL;
    size_t flen = 0;
    FILE *ff = open_memstream(&frag, &flen);
    struct qib__json fj;
    qib__json_init(&fj, ff, 2);
    qib__json_obj_begin(&fj, NULL);
    qib__json_int(&fj, "k", 1);
    qib__json_obj_end(&fj);
    is_int(qib__json_finish(&fj), 0, "a fragment");
    fclose(ff);
    f = mem();
    qib__json_init(&j, f, 0);
    qib__json_obj_begin(&j, NULL);
    qib__json_arr_begin(&j, "v");
    qib__json_raw(&j, NULL, frag);
    qib__json_raw(&j, NULL, frag);
    qib__json_arr_end(&j);
    qib__json_obj_end(&j);
    qib__json_finish(&j);
    fclose(f);
    is_string(buf, "{\n  \"v\": [\n    {\n      \"k\": 1\n    },\n    {\n      \"k\": 1\n    }\n  ]\n}\n",
              "fragments splice in with the document's indentation");
    free(frag);

    f = mem();
    qib__json_init(&j, f, 0);
    qib__json_obj_begin(&j, NULL);
    is_int(qib__json_finish(&j), -1, "an unclosed object is an error");
    fclose(f);
    f = mem();
    qib__json_init(&j, f, 0);
    qib__json_obj_end(&j);
    is_int(qib__json_finish(&j), -1, "closing what was not opened is an error");
    fclose(f);
    f = mem();
    qib__json_init(&j, f, 0);
    for (int i = 0; i < QIB__JSON_MAXDEPTH + 2; i++)
        qib__json_arr_begin(&j, NULL);
    is_int(qib__json_finish(&j), -1, "nesting beyond the limit is an error");
    fclose(f);
    free(buf);
    return tap_done();
}
