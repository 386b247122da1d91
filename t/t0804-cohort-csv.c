/* The cohort readers: RFC 4180 CSV (quotes, doubled quotes, line breaks in
 * fields, CRLF, BOM, errors with their line), the CSV writer's quoting, the
 * JSON reader on the records qib writes, and the case identifier rule. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort.h"
#include "qib/status.h"
#include "tap.h"

static int parse(const char *text, struct qib__csv *c, char *err, size_t errlen)
{
    return qib__csv_parse(text, strlen(text), c, err, errlen);
}

int main(void)
{
    plan_lazy();
    struct qib__csv c;
    char err[256];

    /* RFC 4180 section 2: quoted fields with commas, quotes and CRLF. */
    const char *t = "\xEF\xBB\xBF" "case,ct,note\r\n"
                    "a,\"x,y.nii\",\"say \"\"hi\"\"\"\r\n"
                    "\r\n"
                    "b,z.nii,\"two\r\nlines\"\r\n"
                    "c,,\n"
                    "d,e,f";
    is_int(parse(t, &c, err, sizeof err), QIB_OK, "RFC 4180 text parses");
    is_int((long long)c.nrows, 5, "five records (the empty line is skipped)");
    is_string(c.rows[0][0], "case", "the byte order mark is skipped");
    is_string(c.rows[1][1], "x,y.nii", "a comma inside quotes");
    is_string(c.rows[1][2], "say \"hi\"", "doubled quotes");
    is_string(c.rows[2][2], "two\r\nlines", "a line break inside quotes is kept");
    is_int((long long)c.ncols[3], 3, "a trailing comma makes an empty last field");
    is_string(c.rows[3][1], "", "an empty field");
    is_string(c.rows[3][2], "", "the empty last field");
    is_string(c.rows[4][2], "f", "no final line break");
    qib__csv_free(&c);

    is_int(parse("a,b\n\"open,x\n", &c, err, sizeof err), QIB_EFORMAT, "an unclosed quote");
    is_string(err, "line 2: a quoted field is not closed", "names its line");
    is_int(parse("a,b\nx,y\"z\n", &c, err, sizeof err), QIB_EFORMAT, "a quote in an unquoted field");
    contains(err, "line 2: a quote inside an unquoted field", "names its line");
    is_int(parse("a,b\n\"x\"y,z\n", &c, err, sizeof err), QIB_EFORMAT, "text after a closing quote");
    contains(err, "line 2: text after a quoted field", "says so");
    is_int(parse("a,b\rc\n", &c, err, sizeof err), QIB_EFORMAT, "a bare carriage return");
    is_int(parse("\"a\nb\",c\nd,\"e\n", &c, err, sizeof err), QIB_EFORMAT,
           "line numbers count the breaks inside quoted fields");
    is_string(err, "line 3: a quoted field is not closed", "the unclosed quote's own line");
    is_int(parse("", &c, err, sizeof err), QIB_OK, "empty text");
    is_int((long long)c.nrows, 0, "has no records");
    qib__csv_free(&c);

    /* The writer quotes only what needs it, and reads back. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    const char *fields[] = {"plain", "a,b", "say \"x\"", "two\nlines", "", " pad"};
    for (size_t i = 0; i < 6; i++) {
        if (i)
            putc(',', f);
        qib__csv_field(f, fields[i]);
    }
    fclose(f);
    is_string(buf, "plain,\"a,b\",\"say \"\"x\"\"\",\"two\nlines\",,\" pad\"", "writer quoting");
    is_int(parse(buf, &c, err, sizeof err), QIB_OK, "written text parses");
    int same = c.nrows == 1 && c.ncols[0] == 6;
    for (size_t i = 0; same && i < 6; i++)
        same = strcmp(c.rows[0][i], fields[i]) == 0;
    ok(same, "and gives back every field");
    qib__csv_free(&c);
    free(buf);

    /* JSON as provenance.json writes it. */
    struct qib__jv j;
    const char *js = "{\"a\": [1, -2.5e3, true, null], \"s\": \"\\u00e9\\ud83d\\ude00\\n\\\"\", "
                     "\"o\": {\"k\": \"v\"}, \"e\": {}, \"n\": 0.1}";
    is_int(qib__json_parse(js, strlen(js), &j, err, sizeof err), QIB_OK, "JSON parses");
    const struct qib__jv *a = qib__jv_get(&j, "a");
    ok(a && a->type == QIB__JARR && a->n == 4, "an array of four");
    if (a && a->n == 4) {
        is_double(a->items[1].num, -2500.0, 0, "a number");
        is_string(a->items[1].s, "-2.5e3", "keeps its text");
        ok(a->items[2].type == QIB__JBOOL && a->items[2].b == 1, "true");
        ok(a->items[3].type == QIB__JNULL, "null");
    }
    is_string(qib__jv_str(&j, "s"), "\xC3\xA9\xF0\x9F\x98\x80\n\"", "escapes and a surrogate pair");
    is_string(qib__jv_str(qib__jv_get(&j, "o"), "k"), "v", "a nested member");
    ok(qib__jv_get(&j, "missing") == NULL, "a missing member");
    ok(qib__jv_str(&j, "a") == NULL, "a member of another type is not a string");
    qib__jv_free(&j);
    static const char *const badj[] = {"{\"a\" 1}", "[1, 2", "{\"a\": tru}", "\"x", "[1] 2",
                                       "{\"a\": \"\\q\"}", "[01x]"};
    for (size_t i = 0; i < sizeof badj / sizeof badj[0]; i++)
        is_int(qib__json_parse(badj[i], strlen(badj[i]), &j, err, sizeof err), QIB_EFORMAT,
               "bad JSON refused: %s", badj[i]);
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    is_int(qib__json_parse(deep, 200, &j, err, sizeof err), QIB_EFORMAT, "100 levels refused");
    contains(err, "nested too deeply", "says why");
    is_int(qib__json_parse("\n\n[1,\n}", 7, &j, err, sizeof err), QIB_EFORMAT, "an error");
    contains(err, "line 4: ", "on its line");

    /* Case identifiers become directory names. */
    ok(qib__case_id_problem("P-001_baseline.v2") == NULL, "letters, digits, - _ . are safe");
    ok(qib__case_id_problem("") != NULL, "empty refused");
    ok(qib__case_id_problem(".") != NULL && qib__case_id_problem("..") != NULL, ". and .. refused");
    ok(qib__case_id_problem("-rf") != NULL, "a leading '-' refused");
    ok(qib__case_id_problem("a/b") != NULL, "'/' refused");
    ok(qib__case_id_problem("a b") != NULL, "a space refused");
    ok(qib__case_id_problem("caf\xC3\xA9") != NULL, "non-ASCII refused");
    char longid[130];
    memset(longid, 'a', 129);
    longid[129] = '\0';
    ok(qib__case_id_problem(longid) != NULL, "129 characters refused");
    longid[128] = '\0';
    ok(qib__case_id_problem(longid) == NULL, "128 accepted");
    return tap_done();
}
