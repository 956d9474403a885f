/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the profile loader (provision/profile*.c only).
 *
 * Three stages:
 *   1. profile_yaml.c  – libyaml events → a small node tree (struct ynode) with
 *      anchors/aliases shared, `<<:` merges resolved, duplicate keys, tags,
 *      depth and alias-expansion limits checked;
 *   2. profile_parse.c – the tree → the typed model (struct pv_profile), with
 *      defaults/templates merged on the nodes before typing (the pieces it
 *      shares with profile_parse_{values,cluster,host}.c: profile_parse_int.h);
 *   3. profile_check.c – the semantic rules that span several values.
 * Every problem becomes a struct pv_diag through pvp_diag*().
 */
#ifndef PVFIO_PROFILE_INT_H
#define PVFIO_PROFILE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/buf.h"
#include "pvfio/profile.h"

struct pv_profile_bundle;

#define PVP_MAX_DIAGS 1000            /* stop collecting after this many problems */
#define PVP_MAX_TEMPLATE_CHAIN 8

/* ------------------------------------------------------------ node tree */

enum ykind { Y_SCALAR, Y_SEQ, Y_MAP };
/* YAML 1.2 core-schema type of a scalar. */
enum ystype { YS_STR, YS_NULL, YS_BOOL, YS_INT, YS_FLOAT };

struct ynode;

struct ypair {
        struct ynode *key, *value;
        unsigned prio;          /* 0 = written in this mapping, n = from the n-th `<<` source */
        size_t idx;             /* original order */
        bool inherited;         /* synthetic VM map: came from defaults or a template */
};

struct ynode {
        enum ykind kind;
        unsigned line, col;     /* 1-based start of the node */
        /* scalars */
        enum ystype stype;
        bool int_overflow;      /* YS_INT that does not fit long long */
        bool merge_key;         /* plain untagged `<<` (or !!merge): a merge key */
        char *text;             /* NUL-terminated scalar text (owned) */
        size_t len;
        long long ival;         /* YS_INT */
        bool bval;              /* YS_BOOL */
        /* sequences */
        struct ynode **items;
        size_t n_items, alloc_items;
        /* mappings */
        struct ypair *pairs;
        size_t n_pairs, alloc_pairs;
        /* limits */
        uint64_t weight;        /* nodes visited when walked with aliases expanded */
        unsigned height;        /* levels from this node down, itself included */
        bool open;              /* collection still being built */
        struct ynode *arena_next;
};

/* Every node of one load; freed at once. */
struct yarena {
        struct ynode *head;
};

/* --------------------------------------------------------- load context */

struct pvp_ctx {
        struct pv_diags *diags;
        size_t diag_first;      /* diags->v[diag_first..] belong to this load */
        struct pv_buf path;     /* dotted key path of the value being typed */
        struct pv_profile *p;
        int fatal;              /* negative code (PV_ENOMEM) once an allocation failed */
        bool quiet;             /* typing inherited values already reported at their template */
        bool stop;              /* too many problems: stop typing */
        struct yarena arena;
        /* tables built while typing, used by the checks (parallel to p->vms etc.) */
        struct pvp_vm_src *vm_src;          /* p->n_vms entries */
        struct pvp_item_src *mapping_src;   /* p->n_mappings entries */
        struct pvp_item_src *host_src;      /* p->n_hosts entries */
        const struct ynode *cluster_src;    /* `cluster:` mapping or NULL */
        struct pvp_item_src *usb_mapping_src; /* p->n_usb_mappings entries (profile_usbmap.c) */
        const struct pv_profile_bundle *bundle; /* romfiles sources come from here, not the filesystem (profile_rom.c) */
};

/* Where a typed list item came from: its mapping node and its index in the YAML list. */
struct pvp_item_src {
        const struct ynode *map;
        size_t idx;
};

/* Where a typed VM came from (nodes of the merged mapping). */
struct pvp_vm_src {
        size_t idx;                         /* index in the YAML `vms` list */
        const struct ynode *map;            /* merged VM mapping (defaults < templates < VM) */
        const struct ynode **pci;           /* n_pci entry mappings */
        const struct ynode **disks;         /* n_disks */
        const struct ynode **nets;          /* n_nets */
};

/* ------------------------------------------------------ profile.c (diags) */

/* Record a problem at node `at` (or 1:1 when NULL) with the current key path. */
void pvp_diag(struct pvp_ctx *c, bool warning, const struct ynode *at, const char *fmt, ...) PV_PRINTF(4, 5);
/* Record a problem at an explicit position and key path. */
void pvp_diag_at(struct pvp_ctx *c, bool warning, unsigned line, unsigned col, const char *key,
                 const char *fmt, ...) PV_PRINTF(6, 7);
/* Mark the load as failed with an allocation error. */
void pvp_oom(struct pvp_ctx *c);
/* Key path helpers: push ".key" / "[i]" and return the mark to pop back to. */
size_t pvp_path_key(struct pvp_ctx *c, const char *key);
size_t pvp_path_idx(struct pvp_ctx *c, size_t i);
void pvp_path_pop(struct pvp_ctx *c, size_t mark);
/* The closest of `known` (NULL-terminated) to `word`, or NULL (edit distance, '-'→'_'). */
const char *pvp_suggest(const char *word, const char *const *known);

/* ------------------------------------------------- profile_yaml.c (tree) */

/* Parse buf into a node tree owned by c->arena. 0 with *ret_root, or <0 (diag recorded / PV_ENOMEM). */
int pvp_yaml_load(struct pvp_ctx *c, const char *buf, size_t len, struct ynode **ret_root);
/* Free every node of the arena. */
void pvp_yaml_arena_free(struct yarena *a);
/* A new empty mapping node in the arena (for merged VM mappings); NULL on ENOMEM. */
struct ynode *pvp_ynode_new_map(struct yarena *a, unsigned line, unsigned col);
/* Set key → value in a mapping: replaces the pair with the same key text, else appends. */
void pvp_ymap_set(struct ynode *m, struct ynode *key, struct ynode *value, bool inherited);
/* The pair whose key text equals `key`, or NULL. */
const struct ypair *pvp_ymap_find(const struct ynode *m, const char *key);
/* "a mapping", "a list", "'text'" or "an empty value" — for messages. */
const char *pvp_ykind_name(const struct ynode *n);

/* --------------------------------------------- profile_parse.c (typing) */

/* Type the whole tree into c->p (collecting diagnostics). */
void pvp_type_profile(struct pvp_ctx *c, const struct ynode *root);

/* ------------------------------ profile_extras.c (TPM, affinity, USB, …) */

/* Type the extra VM keys of mapping m into vm (called by type_vm). */
void pvp_type_vm_extras(struct pvp_ctx *c, const struct ynode *m, struct pv_vm *vm);
/* Type the extra host keys of mapping m into h (called by type_host). */
void pvp_type_host_extras(struct pvp_ctx *c, const struct ynode *m, struct pv_host_spec *h);
/* Rules that span several values for the extra keys (called by pvp_check_profile). */
void pvp_check_vm_extras(struct pvp_ctx *c);
/* Free what pvp_type_vm_extras allocated. */
void pvp_vm_extras_done(struct pv_vm *vm);

/* ------------------------------------ profile_usbmap.c (`usb_mappings:`) */

extern const char *const pvp_usb_mapping_keys[];
extern const char *const pvp_usb_map_entry_keys[];
/* Type the `usb_mappings` list v into c->p (called by pvp_type_profile). */
void pvp_type_usb_mappings(struct pvp_ctx *c, const struct ynode *v);
/* Duplicate ids, one entry per node, VMs' `usb: - mapping:` references (called by pvp_check_profile). */
void pvp_check_usb_mappings(struct pvp_ctx *c);
/* Free p->usb_mappings (called by pv_profile_free). */
void pvp_usb_mappings_free(struct pv_profile *p);
/* Value checks shared with the VM `usb` entries. */
bool pvp_usb_configid_ok(const char *s);
bool pvp_usb_path_ok(const char *s);
char *pvp_usb_id_canon(const char *s);

/* ------------------------------------------- profile_check.c (semantics) */

void pvp_check_profile(struct pvp_ctx *c);

/* -------------------------------------------------- profile.c (helpers) */

/* Free the members of one typed VM (used for templates typed standalone). */
void pvp_vm_done(struct pv_vm *vm);
void pvp_vm_src_done(struct pvp_vm_src *s);

/* A key pushed on the path while its value is typed (profile_parse_values.c). */
struct pvp_scope {
        size_t mark;
        bool quiet;
};
/* Value of `key` in mapping m (NULL when absent) with the key pushed on the path; inherited values
 * (templates, defaults) are typed quietly. Pair with pvp_leave(). */
const struct ynode *pvp_enter(struct pvp_ctx *c, const struct ynode *m, const char *key, struct pvp_scope *s);
void pvp_leave(struct pvp_ctx *c, const struct pvp_scope *s);

/* ----------------------------- profile_rom.c (host `romfiles`) */

/* Keys of one romfiles entry (schema /definitions/romfile). */
extern const char *const pvp_romfile_keys[];
/* Type the host's `romfiles` list of mapping m into h, reading each source (called by pvp_type_host_extras). */
void pvp_type_host_romfiles(struct pvp_ctx *c, const struct ynode *m, struct pv_host_spec *h);
/* Free what pvp_type_host_romfiles allocated. */
void pvp_host_romfiles_done(struct pv_host_spec *h);

#endif
