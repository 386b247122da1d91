/* Metadata dictionaries: order, replacement, sources, numbers, copies. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

int main(void)
{
    plan_lazy();
    qib_meta *m = qib_meta_new();
    ok(m != NULL, "new");
    is_int((long long)qib_meta_count(m), 0, "empty");
    is_int((long long)qib_meta_count(NULL), 0, "NULL has 0 entries");
    is_int(qib_meta_set(m, "modality", "PT", "dicom:(0008,0060)"), QIB_OK, "set modality");
    is_int(qib_meta_set(m, "units", "BQML", "dicom:(0054,1001)"), QIB_OK, "set units");
    is_int(qib_meta_set(m, "weight_kg", "70", NULL), QIB_OK, "set weight without source");
    is_int(qib_meta_set(m, "", "x", NULL), QIB_EINVAL, "empty key refused");
    is_int(qib_meta_set(m, NULL, "x", NULL), QIB_EINVAL, "NULL key refused");
    is_int((long long)qib_meta_count(m), 3, "3 entries");
    is_string(qib_meta_get(m, "units"), "BQML", "get");
    is_string(qib_meta_source(m, "units"), "dicom:(0054,1001)", "source");
    ok(qib_meta_source(m, "weight_kg") == NULL, "no source is NULL");
    ok(qib_meta_get(m, "absent") == NULL, "absent key is NULL");

    /* Replacing keeps the first position. */
    is_int(qib_meta_set(m, "modality", "CT", "computed"), QIB_OK, "replace");
    const char *k, *v, *s;
    is_int(qib_meta_at(m, 0, &k, &v, &s), QIB_OK, "at 0");
    is_string(k, "modality", "replaced key keeps position 0");
    is_string(v, "CT", "new value");
    is_string(s, "computed", "new source");
    is_int(qib_meta_at(m, 2, &k, NULL, NULL), QIB_OK, "at 2, NULL outs allowed");
    is_string(k, "weight_kg", "insertion order");
    is_int(qib_meta_at(m, 3, &k, &v, &s), QIB_ERANGE, "past the end");

    double d = 0;
    is_int(qib_meta_get_double(m, "weight_kg", &d), QIB_OK, "get_double");
    is_double(d, 70, 0, "70");
    is_int(qib_meta_get_double(m, "units", &d), QIB_EFORMAT, "text is not a number");
    is_int(qib_meta_get_double(m, "height", &d), QIB_ENOTFOUND, "absent number");
    is_int(qib_meta_set_double(m, "dose_mbq", 0.1 + 0.2, "dicom:(0018,1074)"), QIB_OK,
           "set_double");
    is_string(qib_meta_get(m, "dose_mbq"), "0.30000000000000004", "shortest round-trip text");
    is_int(qib_meta_get_double(m, "dose_mbq", &d), QIB_OK, "read back");
    ok(d == 0.1 + 0.2, "same double");
    qib_meta_set_double(m, "half_life_s", 6586.2, NULL);
    is_string(qib_meta_get(m, "half_life_s"), "6586.2", "6586.2");

    qib_meta *c = qib_meta_copy(m);
    is_int((long long)qib_meta_count(c), 5, "copy has 5 entries");
    qib_meta_set(m, "units", "CNTS", NULL);
    is_string(qib_meta_get(c, "units"), "BQML", "copy is deep");
    is_string(qib_meta_source(c, "units"), "dicom:(0054,1001)", "copy keeps sources");

    is_int(qib_meta_remove(m, "units"), QIB_OK, "remove");
    is_int(qib_meta_remove(m, "units"), QIB_ENOTFOUND, "remove again");
    is_int((long long)qib_meta_count(m), 4, "4 left");
    qib_meta_at(m, 1, &k, NULL, NULL);
    is_string(k, "weight_kg", "later entries move up");

    /* Many keys. */
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        qib_meta_set_double(c, key, i, NULL);
    }
    is_int((long long)qib_meta_count(c), 105, "105 entries");
    is_string(qib_meta_get(c, "k99"), "99", "k99");

    qib_meta *e = qib_meta_copy(NULL);
    ok(e != NULL && qib_meta_count(e) == 0, "copy of NULL is empty");
    qib_meta_free(&e);
    qib_meta_free(&c);
    qib_meta_free(&m);
    ok(m == NULL, "free clears the pointer");
    qib_meta_free(&m);
    qib_meta_free(NULL);
    return tap_done();
}
