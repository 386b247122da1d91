/* Features of the CT phantom configurations that do not pass yet, with the
 * reason; each is listed in doc/ibsi-conformance.md.  Included by
 * t0620-radiomics-ct.c (IBSI_CONFIG selects the configuration). */
static const struct t06_todo todo[] = {
    {NULL, NULL},
};
