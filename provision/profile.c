/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The profile API: load/parse entry points, diagnostics, freeing, lookups
 * and the enum string tables. The stages live in profile_yaml.c (YAML →
 * node tree), profile_parse.c (tree → typed model) and profile_check.c
 * (semantic rules); see profile_int.h.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvfio/xalloc.h"
#include "pvfio/cleanup.h"
#include "pvfio/profilebundle.h"
#include "profile_int.h"

/* ------------------------------------------------------------ diagnostics */

static void diag_add(struct pvp_ctx *c, bool warning, unsigned line, unsigned col, const char *key, char *msg) {
        struct pv_diags *d = c->diags;
        if (c->quiet || c->stop) {
                free(msg);
                return;
        }
        for (size_t i = c->diag_first; i < d->n; i++)
                if (d->v[i].line == line && d->v[i].col == col && d->v[i].warning == warning &&
                    !strcmp(d->v[i].message, msg)) {
                        free(msg);
                        return;
                }
        if (d->n - c->diag_first >= PVP_MAX_DIAGS) {
                free(msg);
                msg = pv_xasprintf("too many problems (more than %u); fix these and run again", PVP_MAX_DIAGS);
                warning = false;
                key = NULL;
                c->stop = true;
        }
        if (d->n == d->alloc) {
                size_t n = d->alloc ? d->alloc * 2 : 16;
                d->v = pv_xreallocarray(d->v, n, sizeof(*d->v));
                d->alloc = n;
        }
        char *k = key && *key ? pv_xstrdup(key) : NULL;
        d->v[d->n++] = (struct pv_diag){ .warning = warning, .message = msg, .key = k, .line = line, .col = col };
        if (!warning)
                d->n_errors++;
}

void pvp_diag(struct pvp_ctx *c, bool warning, const struct ynode *at, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                pv_oom(strlen(fmt));    /* allocation does not fail (pvfio/xalloc.h) */
        va_end(ap);
        diag_add(c, warning, at ? at->line : 1, at ? at->col : 1, c->path.buf, msg);
}

void pvp_diag_at(struct pvp_ctx *c, bool warning, unsigned line, unsigned col, const char *key, const char *fmt,
                 ...) {
        va_list ap;
        char *msg = NULL;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                pv_oom(strlen(fmt));    /* allocation does not fail (pvfio/xalloc.h) */
        va_end(ap);
        diag_add(c, warning, line, col, key, msg);
}

void pvp_oom(struct pvp_ctx *c) {
        c->fatal = -PV_ENOMEM;
        c->stop = true;
}

size_t pvp_path_key(struct pvp_ctx *c, const char *key) {
        size_t mark = c->path.len;
        if (mark && pv_buf_addch(&c->path, '.', NULL) < 0)
                pvp_oom(c);
        if (pv_buf_adds(&c->path, key, NULL) < 0)
                pvp_oom(c);
        return mark;
}

size_t pvp_path_idx(struct pvp_ctx *c, size_t i) {
        size_t mark = c->path.len;
        if (pv_buf_addf(&c->path, NULL, "[%zu]", i) < 0)
                pvp_oom(c);
        return mark;
}

void pvp_path_pop(struct pvp_ctx *c, size_t mark) {
        pv_buf_setlen(&c->path, mark);
}

void pv_diags_done(struct pv_diags *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].message);
                free(d->v[i].key);
        }
        free(d->v);
        *d = (struct pv_diags){ 0 };
}

/* Stable insertion sort of d->v[first..] by position (n is capped, so this stays cheap). */
static void diags_sort(struct pv_diags *d, size_t first) {
        for (size_t i = first + 1; i < d->n; i++) {
                struct pv_diag x = d->v[i];
                size_t j = i;
                while (j > first && (d->v[j - 1].line > x.line ||
                                     (d->v[j - 1].line == x.line && d->v[j - 1].col > x.col))) {
                        d->v[j] = d->v[j - 1];
                        j--;
                }
                d->v[j] = x;
        }
}

/* ------------------------------------------------------------ suggestions */

const char *pvp_suggest(const char *word, const char *const *known) {
        if (!word || !known)
                return NULL;
        static const struct {
                const char *from, *to;
        } aliases[] = {
                { "x-vga", "primary" },    { "x_vga", "primary" },     { "xvga", "primary" },
                { "hostpci", "pci" },      { "iommugroup", "iommu_group" }, { "net", "networks" },
                { "nets", "networks" },    { "network", "networks" },  { "disk", "disks" },
        };
        for (size_t i = 0; i < PV_ELEMENTSOF(aliases); i++)
                if (!strcmp(word, aliases[i].from))
                        for (size_t k = 0; known[k]; k++)
                                if (!strcmp(known[k], aliases[i].to))
                                        return known[k];
        _cleanup_free_ char *norm = strdup(word);
        if (!norm)
                return NULL;
        for (char *p = norm; *p; p++)
                *p = *p == '-' ? '_' : (char)tolower((unsigned char)*p);
        for (size_t k = 0; known[k]; k++)
                if (!strcmp(norm, known[k]))
                        return known[k];
        const char *best = NULL;
        unsigned best_d = 3;
        for (size_t k = 0; known[k]; k++) {
                unsigned d = pv_edit_distance(norm, known[k], 3);
                if (d < best_d && d < strlen(known[k]) && 2 * d <= strlen(norm) + 1) {
                        best = known[k];
                        best_d = d;
                }
        }
        return best;
}

/* --------------------------------------------------------------- freeing */

static void pcidev_done(struct pv_pcidev *d) {
        free(d->addrs);
        free(d->mapping);
        free(d->mdev);
        free(d->romfile);
}

void pvp_vm_done(struct pv_vm *vm) {
        if (!vm)
                return;
        free(vm->name);
        free(vm->node);
        free(vm->template_name);
        free(vm->machine_version);
        free(vm->efidisk_storage);
        free(vm->cpu_type);
        pv_strv_done(&vm->cpu_flags);
        free(vm->hugepages);
        free(vm->scsihw);
        free(vm->vga);
        free(vm->ostype);
        pv_strv_done(&vm->tags);
        for (size_t i = 0; i < vm->n_disks; i++) {
                free(vm->disks[i].storage);
                free(vm->disks[i].options);
        }
        free(vm->disks);
        for (size_t i = 0; i < vm->n_nets; i++) {
                free(vm->nets[i].model);
                free(vm->nets[i].bridge);
                free(vm->nets[i].macaddr);
        }
        free(vm->nets);
        for (size_t i = 0; i < vm->n_pci; i++)
                pcidev_done(&vm->pci[i]);
        free(vm->pci);
        pvp_vm_extras_done(vm);
        memset(vm, 0, sizeof(*vm));
}

void pvp_vm_src_done(struct pvp_vm_src *s) {
        if (!s)
                return;
        free(s->pci);
        free(s->disks);
        free(s->nets);
        memset(s, 0, sizeof(*s));
}

static void ssh_done(struct pv_ssh_config *s) {
        free(s->command);
        free(s->user);
        pv_strv_done(&s->options);
        free(s->identity_file);
        free(s->known_hosts);
        free(s->pvfio);
        for (size_t i = 0; i < s->n_nodes; i++) {
                free(s->nodes[i].node);
                free(s->nodes[i].host);
                free(s->nodes[i].user);
                free(s->nodes[i].identity_file);
                free(s->nodes[i].pvfio);
        }
        free(s->nodes);
}

static void host_done(struct pv_host_spec *h) {
        pv_strv_done(&h->nodes);
        pv_strv_done(&h->kernel_args);
        free(h->kernel_arg_locs);
        for (size_t i = 0; i < h->n_vfio; i++)
                free(h->vfio[i].name_contains);
        free(h->vfio);
        pv_strv_done(&h->softdeps);
        pv_strv_done(&h->blacklist);
        free(h->sriov);
        pvp_host_romfiles_done(h);
}

static void mapping_done(struct pv_mapping *m) {
        free(m->id);
        free(m->description);
        for (size_t i = 0; i < m->n_map; i++) {
                free(m->map[i].node);
                free(m->map[i].paths);
                free(m->map[i].description);
        }
        free(m->map);
}

void pv_profile_free(struct pv_profile *p) {
        if (!p)
                return;
        struct pv_cluster *cl = &p->cluster;
        free(cl->name);
        free(cl->api_url);
        free(cl->token_id);
        free(cl->user);
        free(cl->secret.env);
        free(cl->secret.file);
        free(cl->tls_fingerprint);
        free(cl->tls_ca_file);
        ssh_done(&cl->ssh);
        for (size_t i = 0; i < p->n_hosts; i++)
                host_done(&p->hosts[i]);
        free(p->hosts);
        for (size_t i = 0; i < p->n_mappings; i++)
                mapping_done(&p->mappings[i]);
        free(p->mappings);
        for (size_t i = 0; i < p->n_vms; i++)
                pvp_vm_done(&p->vms[i]);
        free(p->vms);
        pvp_usb_mappings_free(p);
        free(p->file);
        free(p);
}

/* ----------------------------------------------------------------- loading */

static void ctx_done(struct pvp_ctx *c) {
        if (c->vm_src && c->p)
                for (size_t i = 0; i < c->p->n_vms; i++)
                        pvp_vm_src_done(&c->vm_src[i]);
        free(c->vm_src);
        free(c->mapping_src);
        free(c->host_src);
        free(c->usb_mapping_src);
        pvp_yaml_arena_free(&c->arena);
        pv_buf_release(&c->path);
}

int pv_profile_parse_mem(const char *buf, size_t len, const char *name, struct pv_profile **ret,
                         struct pv_diags *diags, struct pv_error *err) {
        return pv_profile_parse_mem_with_vms(buf, len, name, NULL, 0, ret, diags, err);
}

static int parse_mem(const char *buf, size_t len, const char *name, const char *vms_yaml, size_t vms_len,
                     const struct pv_profile_bundle *bundle, struct pv_profile **ret, struct pv_diags *diags,
                     struct pv_error *err);

int pv_profile_parse_mem_with_vms(const char *buf, size_t len, const char *name, const char *vms_yaml,
                                  size_t vms_len, struct pv_profile **ret, struct pv_diags *diags,
                                  struct pv_error *err) {
        return parse_mem(buf, len, name, vms_yaml, vms_len, NULL, ret, diags, err);
}

int pv_profile_parse_bundle(const struct pv_profile_bundle *b, const char *name, struct pv_profile **ret,
                            struct pv_diags *diags, struct pv_error *err) {
        return parse_mem(b->profile, b->profile_len, name, NULL, 0, b, ret, diags, err);
}

static int parse_mem(const char *buf, size_t len, const char *name, const char *vms_yaml, size_t vms_len,
                     const struct pv_profile_bundle *bundle, struct pv_profile **ret, struct pv_diags *diags,
                     struct pv_error *err) {
        if (!name)
                name = "<profile>";
        if (len > PV_PROFILE_MAX_BYTES)
                return pv_error_set(err, PV_ETOOBIG,
                                    "profile '%s' is %zu bytes, more than the limit of %u bytes (1 MiB)", name, len,
                                    PV_PROFILE_MAX_BYTES);
        struct pv_diags local = { 0 };
        struct pv_diags *d = diags ? diags : &local;
        size_t first = d->n, errors_before = d->n_errors;
        struct pv_profile *p = pv_xcalloc(1, sizeof(*p));
        p->file = pv_xstrdup(name);
        struct pvp_ctx c = { .diags = d, .p = p, .path = PV_BUF_INIT_CAP(64 * 1024), .diag_first = first,
                             .bundle = bundle };
        struct ynode *root = NULL;
        int loaded = pvp_yaml_load(&c, buf ? buf : "", buf ? len : 0, &root);
        if (loaded == 0 && !c.fatal && vms_yaml && root && root->kind == Y_MAP) {
                /* replace the profile's `vms` with the caller's (e.g. `pvfio vm add`) */
                struct ynode *extra = NULL;
                loaded = pvp_yaml_load(&c, vms_yaml, vms_len, &extra);
                const struct ypair *vp = loaded == 0 && extra && extra->kind == Y_MAP ? pvp_ymap_find(extra, "vms") : NULL;
                if (loaded == 0 && !vp) {
                        pvp_diag_at(&c, false, 1, 1, "vms", "the VM description has no 'vms' list");
                        loaded = -PV_EINVAL;
                }
                if (loaded == 0)
                        pvp_ymap_set(root, vp->key, vp->value, false);
        }
        if (loaded == 0 && !c.fatal) {
                pvp_type_profile(&c, root);
                if (!c.stop)
                        pvp_check_profile(&c);
        }
        ctx_done(&c);
        diags_sort(d, first);
        int r = 0;
        if (c.fatal) {
                r = pv_error_set(err, PV_ENOMEM, "out of memory while loading profile '%s'", name);
        } else if (d->n_errors > errors_before) {
                const struct pv_diag *e = NULL;
                for (size_t i = first; i < d->n && !e; i++)
                        if (!d->v[i].warning)
                                e = &d->v[i];
                struct pv_loc loc = { p->file, e->line, e->col };
                size_t more = d->n_errors - errors_before - 1;
                if (more)
                        r = pv_error_set_loc(err, PV_EINVAL, &loc, "%s (and %zu more problem%s; run 'pvfio validate %s')",
                                             e->message, more, more == 1 ? "" : "s", name);
                else
                        r = pv_error_set_loc(err, PV_EINVAL, &loc, "%s", e->message);
        }
        if (r < 0) {
                pv_profile_free(p);
                pv_diags_done(&local);
                return r;
        }
        pv_diags_done(&local);
        *ret = p;
        return 0;
}

int pv_profile_load(const char *path, struct pv_profile **ret, struct pv_diags *diags, struct pv_error *err) {
        struct pv_buf b = PV_BUF_INIT_CAP(PV_PROFILE_MAX_BYTES);
        bool is_stdin = !strcmp(path, "-");
        int r;
        if (is_stdin) {
                r = pv_buf_read_fd(&b, STDIN_FILENO, err);
                if (r < 0)
                        r = pv_error_wrap(err, "cannot read the profile from standard input");
        } else {
                r = pv_buf_read_file_at(&b, AT_FDCWD, path, err);
        }
        if (r == 0)
                r = pv_profile_parse_mem(b.buf, b.len, is_stdin ? "<stdin>" : path, ret, diags, err);
        pv_buf_release(&b);
        return r;
}

/* ---------------------------------------------------------------- lookups */

const struct pv_mapping *pv_profile_find_mapping(const struct pv_profile *p, const char *id) {
        if (!p || !id)
                return NULL;
        for (size_t i = 0; i < p->n_mappings; i++)
                if (p->mappings[i].id && !strcmp(p->mappings[i].id, id))
                        return &p->mappings[i];
        return NULL;
}

const struct pv_vm *pv_profile_find_vm(const struct pv_profile *p, const char *name) {
        if (!p || !name)
                return NULL;
        for (size_t i = 0; i < p->n_vms; i++)
                if (p->vms[i].name && !strcmp(p->vms[i].name, name))
                        return &p->vms[i];
        return NULL;
}

const struct pv_host_spec *pv_profile_host_for_node(const struct pv_profile *p, const char *node) {
        if (!p || !node)
                return NULL;
        for (size_t i = 0; i < p->n_hosts; i++)
                if (p->hosts[i].all_nodes || pv_strv_contains(&p->hosts[i].nodes, node))
                        return &p->hosts[i];
        return NULL;
}

const struct pv_ssh_node *pv_profile_ssh_node(const struct pv_profile *p, const char *node) {
        if (!p || !node)
                return NULL;
        for (size_t i = 0; i < p->cluster.ssh.n_nodes; i++)
                if (p->cluster.ssh.nodes[i].node && !strcmp(p->cluster.ssh.nodes[i].node, node))
                        return &p->cluster.ssh.nodes[i];
        return NULL;
}

/* ------------------------------------------------------------ enum tables */

static const char *const vm_state_names[] = {
        [PV_STATE_PRESENT] = "present",
        [PV_STATE_RUNNING] = "running",
        [PV_STATE_STOPPED] = "stopped",
        [PV_STATE_ABSENT] = "absent",
};

const char *pv_vm_state_to_string(enum pv_vm_state s) {
        return (unsigned)s < PV_ELEMENTSOF(vm_state_names) ? vm_state_names[s] : NULL;
}

int pv_vm_state_from_string(const char *s) {
        for (size_t i = 0; s && i < PV_ELEMENTSOF(vm_state_names); i++)
                if (!strcmp(vm_state_names[i], s))
                        return (int)i;
        return -1;
}

const char *pv_machine_to_string(enum pv_machine m) {
        switch (m) {
        case PV_MACHINE_Q35:
                return "q35";
        case PV_MACHINE_I440FX:
                return "i440fx";
        default:
                return NULL; /* UNSET: Proxmox's default */
        }
}

const char *pv_bios_to_string(enum pv_bios b) {
        switch (b) {
        case PV_BIOS_SEABIOS:
                return "seabios";
        case PV_BIOS_OVMF:
                return "ovmf";
        default:
                return NULL; /* UNSET: Proxmox's default */
        }
}

const char *pv_binding_to_string(enum pv_binding b) {
        switch (b) {
        case PV_BIND_IDS:
                return "ids";
        case PV_BIND_DRIVER_OVERRIDE:
                return "driver_override";
        default:
                return NULL;
        }
}

const char *pv_vgpu_kind_to_string(enum pv_vgpu_kind k) {
        switch (k) {
        case PV_VGPU_NONE:
                return "none";
        case PV_VGPU_GVTG:
                return "gvt-g";
        case PV_VGPU_NVIDIA_SRIOV:
                return "nvidia-sriov";
        default:
                return NULL;
        }
}
