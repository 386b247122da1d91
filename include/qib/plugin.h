/* The plugin ABI.
 *
 * A plugin is one shared module exporting one function, qib_plugin_entry,
 * that returns a pointer to a static const struct qib_plugin.  The host loads
 * a plugin whose abi_major equals QIB_ABI_MAJOR and whose abi_minor is not
 * newer than QIB_ABI_MINOR.  Fields are only ever appended to the structs
 * below; the host reads a field of struct qib_plugin only when struct_size
 * covers it.
 *
 * The parameter table drives everything: the runner parses the pipeline's
 * `with:` values, checks type and range, and stores them into the plugin's
 * private struct (priv_size bytes, zeroed, at the offsets given); `qib
 * validate` does this without reading data; `qib describe` and the reference
 * pages in doc/ print it.  Plugins never see YAML. */
#ifndef QIB_PLUGIN_H
#define QIB_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "qib/step.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version of this header. */
#define QIB_ABI_MAJOR 1
#define QIB_ABI_MINOR 0

/** Plugin kinds; a plugin's full name is "<kind>.<name>". */
enum qib_kind {
    QIB_KIND_READ = 1, /**< "read": files to objects */
    QIB_KIND_WRITE,    /**< "write": objects to image files */
    QIB_KIND_REG,      /**< "reg": registration, resampling */
    QIB_KIND_SEG,      /**< "seg": segmentation, masks */
    QIB_KIND_BIO,      /**< "bio": biomarkers, tables */
    QIB_KIND_EXPORT    /**< "export": tables to files */
};

/** Parameter types and the C type stored at the parameter's offset. */
enum qib_param_type {
    QIB_PARAM_BOOL = 1, /**< int (0 or 1); YAML true/false */
    QIB_PARAM_INT,      /**< int64_t */
    QIB_PARAM_DOUBLE,   /**< double; "inf" and "-inf" are accepted, NaN is not */
    QIB_PARAM_STRING,   /**< char * (owned by the runner, NULL when unset) */
    QIB_PARAM_PATH,     /**< char *: a file path, as given */
    QIB_PARAM_ENUM,     /**< int: index into choices */
    QIB_PARAM_VEC3,     /**< double[3]; YAML [x, y, z] */
    QIB_PARAM_DLIST,    /**< struct qib_dlist; YAML [a, b, ...] */
    /** struct qib_plist: paths as given, YAML [a, b, ...]; one path is a
     * list of one; never empty.  Appended to ABI 1.0 without a version
     * change: a host that predates it refuses a plugin using it ("parameter
     * NAME: unknown type 9") and loads every other plugin as before.  Test
     * QIB_HAVE_PARAM_PLIST before using it. */
    QIB_PARAM_PLIST
};

/** Defined when enum qib_param_type has QIB_PARAM_PLIST. */
#define QIB_HAVE_PARAM_PLIST 1

/** Storage of a QIB_PARAM_DLIST value (owned by the runner). */
struct qib_dlist {
    size_t n;
    double *v;
};

/** Storage of a QIB_PARAM_PLIST value (owned by the runner): @p n paths,
 * each a NUL-terminated string as written in the pipeline. */
struct qib_plist {
    size_t n;
    char **v;
};

/** Parameter flags. */
#define QIB_PARAM_REQUIRED 1u /**< no default: the pipeline must give it */
#define QIB_PARAM_MIN 2u      /**< min applies (numbers, each list entry) */
#define QIB_PARAM_MAX 4u      /**< max applies */
#define QIB_PARAM_OUTPUT 8u   /**< a PATH naming an output file under --out */

/** One parameter. */
struct qib_param {
    const char *name;   /**< snake_case; NULL ends the table */
    enum qib_param_type type;
    size_t offset;      /**< offsetof(priv struct, field) */
    const char *def;    /**< default in pipeline syntax ("0.5", "true",
                             "mask", "[1, 1, 1]"); NULL for none */
    double min, max;    /**< bounds, applied as flags say (inclusive) */
    unsigned flags;     /**< QIB_PARAM_* */
    const char *const *choices; /**< QIB_PARAM_ENUM: NULL-terminated names */
    const char *unit;   /**< unit of the value ("mm", "HU"), or NULL */
    const char *help;   /**< one line: meaning, unit and reason */
};

/** Object kinds carried between steps. */
enum qib_obj_kind {
    QIB_OBJ_VOLUME = 1, /**< any volume; a mask is a volume too */
    QIB_OBJ_MASK,       /**< a volume flagged as a mask */
    QIB_OBJ_TABLE,
    QIB_OBJ_TRANSFORM
};

/** Port flags. */
#define QIB_PORT_OPTIONAL 1u

/** One input or output port. */
struct qib_port {
    const char *name;        /**< snake_case; NULL ends the table */
    enum qib_obj_kind kind;
    unsigned flags;          /**< QIB_PORT_* */
    const char *help;        /**< one line */
    /** Outputs of kind QIB_OBJ_VOLUME only: "param=value" — the output is a
     * mask when that (enum) parameter has that value, so `qib validate`
     * knows it statically.  NULL otherwise. */
    const char *mask_when;
};

/** The descriptor a plugin returns. */
struct qib_plugin {
    uint16_t abi_major;   /**< QIB_ABI_MAJOR */
    uint16_t abi_minor;   /**< QIB_ABI_MINOR */
    uint32_t struct_size; /**< sizeof(struct qib_plugin) */
    enum qib_kind kind;
    const char *name;     /**< lower-case [a-z0-9_]+, unique within its kind */
    const char *version;  /**< the plugin's own version, "1.0.0" */
    const char *license;  /**< SPDX identifier */
    const char *summary;  /**< one line */
    const char *citation; /**< the method's reference, or NULL */
    const struct qib_param *params;  /**< NULL or terminated by name NULL */
    const struct qib_port *inputs;   /**< NULL or terminated by name NULL */
    const struct qib_port *outputs;  /**< terminated; NULL or empty only for
                                          write and export plugins, whose
                                          result is a file */
    size_t priv_size;     /**< bytes of the private struct (>= 1) */
    /** Optional: check cross-parameter constraints on filled parameters.
     * Called by validate and before run; must not read data or allocate
     * anything that fini would have to free. */
    int (*check)(qib_step *step, const void *priv);
    /** Optional: set up derived state after parameters are filled. */
    int (*init)(qib_step *step, void *priv);
    /** Do the work: read inputs, set outputs; return QIB_OK or the status of
     * qib_fail. */
    int (*run)(qib_step *step, void *priv);
    /** Optional: free what init or run left in priv (not the parameters). */
    void (*fini)(void *priv);
};

/** The one symbol a plugin exports. */
typedef const struct qib_plugin *(*qib_plugin_entry_fn)(void);

/** Name of the exported symbol. */
#define QIB_PLUGIN_ENTRY_SYMBOL "qib_plugin_entry"

#if defined(__GNUC__)
#define QIB_EXPORT __attribute__((visibility("default")))
#else
#define QIB_EXPORT
#endif

/** Declare the entry point of a plugin whose descriptor is @p desc:
 *     QIB_PLUGIN_DEFINE(my_descriptor)  */
#define QIB_PLUGIN_DEFINE(desc)                                          \
    QIB_EXPORT const struct qib_plugin *qib_plugin_entry(void);          \
    QIB_EXPORT const struct qib_plugin *qib_plugin_entry(void) { return &(desc); }

/** "read", "write", "reg", "seg", "bio", "export", or NULL. */
const char *qib_kind_name(enum qib_kind k);

#ifdef __cplusplus
}
#endif
#endif
