/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals shared by the pieces of profile loading stage 2 (provision/profile_parse*.c only):
 *   profile_parse.c         – the entry (pvp_type_profile), VMs, templates and defaults, the key tables;
 *   profile_parse_values.c  – typing one value: key scopes, scalars, enums, patterns, optional keys,
 *                             sizes, PCI addresses and IDs;
 *   profile_parse_cluster.c – `cluster:` (API URL, auth, TLS, ssh);
 *   profile_parse_host.c    – `hosts:` and `mappings:`.
 * Every typer records its problems through pvp_diag (profile_int.h) and goes on.
 */
#ifndef PVFIO_PROFILE_PARSE_INT_H
#define PVFIO_PROFILE_PARSE_INT_H

#include "profile_int.h"

/* A problem with the value at the current key path: "'path' <what>". */
#define VERR(c, n, fmt, ...) pvp_diag((c), false, (n), "'%s' " fmt, (c)->path.buf, ##__VA_ARGS__)
#define VWARN(c, n, fmt, ...) pvp_diag((c), true, (n), "'%s' " fmt, (c)->path.buf, ##__VA_ARGS__)

/* "got 'text'" / "got a list" */
#define GOT "got %s%.*s%s"
#define GOTV(v) pvp_q_(v), pvp_q_len(v), pvp_q_text(v), pvp_q_(v)

#define NODE_WHAT "a node name (letters, digits and inner '-', at most 63 characters)"

/* --------------------------------------------- profile_parse_values.c */

/* key scopes: lookups, messages, unknown and required keys */
const struct ynode *pvp_key_node(const struct ynode *m, const char *key);
const char *pvp_q_(const struct ynode *v);
const char *pvp_q_text(const struct ynode *v);
int pvp_q_len(const struct ynode *v);
struct pv_loc pvp_loc_of(struct pvp_ctx *c, const struct ynode *n);
char *pvp_sdup(struct pvp_ctx *c, const char *s);
bool pvp_in_list(const char *s, const char *const *list);
void pvp_check_keys(struct pvp_ctx *c, const struct ynode *m, const char *const *known);
const char *pvp_one_of(struct pvp_ctx *c, const struct ynode *m, const char *const *keys, const char *list);
void pvp_require(struct pvp_ctx *c, const struct ynode *m, const char *key);

/* value types */
bool pvp_is_map(struct pvp_ctx *c, const struct ynode *v);
bool pvp_is_seq(struct pvp_ctx *c, const struct ynode *v);
bool pvp_is_text(struct pvp_ctx *c, const struct ynode *v, const char *what);
bool pvp_t_int(struct pvp_ctx *c, const struct ynode *v, long long min, long long max, long long *out);
int pvp_t_enum(struct pvp_ctx *c, const struct ynode *v, const char *const *names);

/* patterns: true when s matches (Proxmox's formats, see each definition) */
bool pvp_alnum(char ch);
bool pvp_chars_ok(const char *s, const char *extra);
bool pvp_re_node(const char *s);
bool pvp_re_dns(const char *s);
bool pvp_re_storage(const char *s);
bool pvp_re_bridge(const char *s);
bool pvp_re_tag(const char *s);
bool pvp_re_driver(const char *s);
bool pvp_re_template(const char *s);
bool pvp_re_configid(const char *s);
bool pvp_re_cpuflag(const char *s);
bool pvp_re_cputype(const char *s);
bool pvp_re_mdev(const char *s);
bool pvp_re_machver(const char *s);
bool pvp_re_envname(const char *s);
bool pvp_re_realm(const char *s);
bool pvp_re_userid(const char *s);
bool pvp_re_path(const char *s);
bool pvp_re_any(const char *s);
bool pvp_re_noblank(const char *s);
bool pvp_t_str(struct pvp_ctx *c, const struct ynode *v, bool (*valid)(const char *), const char *what, char **out);

/* optional keys: 0 when absent, 1 when typed, -1 after a diagnostic */
int pvp_o_bool(struct pvp_ctx *c, const struct ynode *m, const char *key, bool *out);
void pvp_o_tri(struct pvp_ctx *c, const struct ynode *m, const char *key, int *out);
int pvp_o_int(struct pvp_ctx *c, const struct ynode *m, const char *key, long long min, long long max, long long *out);
int pvp_o_str(struct pvp_ctx *c, const struct ynode *m, const char *key, bool (*valid)(const char *),
              const char *what, char **out);
int pvp_o_enum(struct pvp_ctx *c, const struct ynode *m, const char *key, const char *const *names, int *out);
int pvp_o_strlist(struct pvp_ctx *c, const struct ynode *m, const char *key, bool (*valid)(const char *),
                  const char *what, struct pv_strv *out, struct pv_loc **ret_locs);

/* sizes */
enum size_err { SIZE_OK = 0, SIZE_SYNTAX = -1, SIZE_FRACTION = -2, SIZE_BIG = -3, SIZE_NEEDS_UNIT = -4 };
int pvp_parse_size(const char *s, bool unit_required, uint64_t *ret_mib);
bool pvp_t_size(struct pvp_ctx *c, const struct ynode *v, bool unit_required, uint64_t min_mib, uint64_t *out);

/* PCI bits */
bool pvp_t_addr(struct pvp_ctx *c, const struct ynode *v, const char *text, bool need_func, struct pv_pci_addr *out);
bool pvp_t_addr_list(struct pvp_ctx *c, const struct ynode *v, struct pv_pci_addr **ret, size_t *ret_n);
bool pvp_t_pci_id(struct pvp_ctx *c, const struct ynode *v, struct pv_pci_id *out);
bool pvp_hex_value(const char *s, unsigned digits, unsigned alt, uint32_t *out, unsigned *ret_digits);
bool pvp_t_hex16(struct pvp_ctx *c, const struct ynode *v, uint16_t *out);

/* -------------------------------------------- profile_parse_cluster.c */

extern const char *const pvp_cluster_keys[];
extern const char *const pvp_auth_keys[];
extern const char *const pvp_tls_keys[];
extern const char *const pvp_ssh_keys[];
extern const char *const pvp_ssh_node_keys[];
void pvp_type_cluster(struct pvp_ctx *c, const struct ynode *m);

/* ----------------------------------------------- profile_parse_host.c */

extern const char *const pvp_host_keys[];
extern const char *const pvp_devsel_keys[];
extern const char *const pvp_match_keys[];
extern const char *const pvp_sriov_keys[];
extern const char *const pvp_mapping_keys[];
extern const char *const pvp_map_entry_keys[];
void pvp_type_host(struct pvp_ctx *c, const struct ynode *m, struct pv_host_spec *h);
void pvp_type_mapping(struct pvp_ctx *c, const struct ynode *m, struct pv_mapping *mp);

#endif
