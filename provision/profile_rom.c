/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Profile loading of a host section's `romfiles:` (issue 14): PCI option ROM images the host
 * plan installs into /usr/share/kvm for a VM's `romfile:`.
 *
 *   romfiles:
 *     - name: gpu.rom              # file name under /usr/share/kvm (what romfile: names)
 *       source: roms/gpu.rom       # relative to the profile file's directory (or absolute)
 *
 * The source is read here, once: a regular file of at most PV_ROMFILE_MAX_BYTES that walks as a
 * PCI expansion ROM (pvfio/rom.h). No image at all (no 55 AA at 0) is an error; a walk that
 * stops later (a cut-off dump, a last image not marked last) is a warning: QEMU hands the bytes
 * to the guest as they are. A profile read from stdin resolves the source against the working
 * directory and keeps an unreadable one as pv_romfile.problem instead of an error, so only the node
 * that installs it is affected (its host plan blocks the install). A profile from a profile bundle
 * (what a node reached over SSH gets, pvfio/profilebundle.h) takes the bytes from the bundle.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvfio/bytes.h"
#include "pvfio/cleanup.h"
#include "pvfio/profilebundle.h"
#include "pvfio/rom.h"
#include "pvfio/xalloc.h"
#include "profile_int.h"

const char *const pvp_romfile_keys[] = { "name", "source", NULL };

#define XERR(c, n, fmt, ...) pvp_diag((c), false, (n), "'%s' " fmt, (c)->path.buf, ##__VA_ARGS__)
#define XWARN(c, n, fmt, ...) pvp_diag((c), true, (n), "'%s' " fmt, (c)->path.buf, ##__VA_ARGS__)

static bool scalar(const struct ynode *v) {
        return v->kind == Y_SCALAR && v->stype != YS_NULL && v->len > 0;
}

static const char *shown(const struct ynode *v) {
        return scalar(v) ? v->text : pvp_ykind_name(v);
}

/* A file name QEMU finds in /usr/share/kvm and Proxmox accepts in romfile= ([^,;]+): letters, digits,
 * '.', '_', '+', '-', not starting with '.', at most 128 characters. */
bool pv_romfile_name_ok(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                          strchr("._+-", ch);
                if (!ok)
                        return false;
        }
        return true;
}

/* The source path as opened: absolute as written, else beside the profile file (a profile from stdin
 * or memory, named "<…>": the working directory). */
static char *source_path(const struct pv_profile *p, const char *src) {
        if (src[0] == '/' || !p->file || p->file[0] == '<')
                return pv_xstrdup(src);
        const char *slash = strrchr(p->file, '/');
        if (!slash)
                return pv_xstrdup(src);
        return pv_xasprintf("%.*s/%s", (int)(slash - p->file), p->file, src);
}

/* Read a regular file of at most PV_ROMFILE_MAX_BYTES; 0, or an errno (EFBIG: too big, EINVAL: not regular). */
static int read_source(const char *path, uint8_t **ret, size_t *ret_len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return errno;
        if (!S_ISREG(st.st_mode))
                return EINVAL;
        if (st.st_size > (off_t)PV_ROMFILE_MAX_BYTES)
                return EFBIG;
        size_t cap = (size_t)st.st_size, len = 0;
        uint8_t *buf = pv_xmalloc(cap + 2);
        for (;;) {
                ssize_t n = read(fd, buf + len, cap + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        free(buf);
                        return e;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > cap) {
                        free(buf);
                        return EFBIG;   /* it grew while read */
                }
        }
        buf[len] = '\0';
        *ret = buf;
        *ret_len = len;
        return 0;
}

static void take_image(struct pvp_ctx *c, const struct ynode *v, const char *path, uint8_t *data, size_t len,
                       struct pv_romfile *rf);

/* A profile that came in a bundle (over SSH): the source's bytes are the controller's, from the bundle
 * (checked for size and SHA-256 when it was read); one the bundle lacks is this node's problem. */
static void from_bundle(struct pvp_ctx *c, const struct ynode *v, struct pv_romfile *rf) {
        const struct pv_bundle_file *f = pv_profile_bundle_find(c->bundle, v->text);
        rf->from_bundle = true;
        if (!f) {
                rf->problem = pv_xasprintf("the ROM source '%s' is not in the profile bundle the controller sent",
                                           v->text);
                return;
        }
        uint8_t *data = pv_xmalloc(f->len + 1);
        memcpy(data, f->data, f->len);
        data[f->len] = '\0';
        _cleanup_free_ char *shown = pv_xasprintf("%s (from the profile bundle)", v->text);
        take_image(c, v, shown, data, f->len, rf);
}

static void type_source(struct pvp_ctx *c, const struct ynode *v, struct pv_romfile *rf) {
        if (!scalar(v)) {
                XERR(c, v, "must be the path of a ROM image file (relative to the profile), got %s", shown(v));
                return;
        }
        rf->source = pv_xstrdup(v->text);
        if (c->bundle) {
                from_bundle(c, v, rf);
                return;
        }
        bool deferred = !c->p->file || c->p->file[0] == '<';
        _cleanup_free_ char *path = source_path(c->p, v->text);
        uint8_t *data = NULL;
        size_t len = 0;
        int e = read_source(path, &data, &len);
        if (e) {
                _cleanup_free_ char *why =
                        e == EFBIG ? pv_xasprintf("is larger than %u MiB, more than any PCI option ROM pvfio installs",
                                                  PV_ROMFILE_MAX_BYTES >> 20)
                        : e == EINVAL ? pv_xstrdup("is not a regular file")
                                      : pv_xasprintf("cannot be read: %s", strerror(e));
                if (deferred)
                        rf->problem = pv_xasprintf("the ROM source '%s' %s", v->text, why);
                else
                        XERR(c, v, "'%s' %s; give the path of a ROM image (e.g. from 'pvfio host rom dump'), "
                                   "relative to the profile's directory",
                             path, why);
                return;
        }
        take_image(c, v, path, data, len, rf);
}

/* Walk the image read from `path` (shown in messages) and keep it in rf (takes data). */
static void take_image(struct pvp_ctx *c, const struct ynode *v, const char *path, uint8_t *data, size_t len,
                       struct pv_romfile *rf) {
        struct pv_rom_info ri;
        pv_rom_parse(data, len, &ri, NULL);
        if (ri.n_images == 0) {
                XERR(c, v, "'%s': %s", path, ri.problem ? ri.problem : "not a PCI option ROM");
                pv_rom_info_done(&ri);
                free(data);
                return;
        }
        if (ri.problem)
                XWARN(c, v, "'%s': %s; QEMU passes the bytes as they are (check the dump with 'pvfio host rom "
                            "check')",
                      path, ri.problem);
        rf->has_efi = ri.has_efi;
        pv_rom_info_done(&ri);
        rf->data = data;
        rf->len = len;
        rf->sha256 = pv_xmalloc(PV_SHA256_HEX);
        pv_sha256_hex(data, len, rf->sha256);
}

static void type_romfile(struct pvp_ctx *c, const struct ynode *m, struct pv_romfile *rf) {
        rf->loc = (struct pv_loc){ c->p->file, m->line, m->col };
        if (m->kind != Y_MAP) {
                XERR(c, m, "must be a mapping {name: FILE, source: PATH}, got %s", shown(m));
                return;
        }
        _cleanup_free_ char *where = pv_xstrdup(c->path.buf);
        for (size_t i = 0; i < m->n_pairs; i++) {
                const char *k = m->pairs[i].key->text;
                bool known = false;
                for (size_t j = 0; pvp_romfile_keys[j]; j++)
                        known |= strcmp(k, pvp_romfile_keys[j]) == 0;
                if (known)
                        continue;
                size_t mk = pvp_path_key(c, k);
                const char *hint = pvp_suggest(k, pvp_romfile_keys);
                pvp_diag(c, false, m->pairs[i].key, "unknown key '%.80s' in '%s'%s%s%s", k, where,
                         hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
                pvp_path_pop(c, mk);
        }
        for (size_t k = 0; k < 2; k++) {
                const char *key = pvp_romfile_keys[k];
                if (!pvp_ymap_find(m, key))
                        pvp_diag(c, false, m, "'%s' needs '%s'", where, key);
        }
        struct pvp_scope s = { 0 };
        const struct ynode *v;
        if ((v = pvp_enter(c, m, "name", &s))) {
                if (!scalar(v) || !pv_romfile_name_ok(v->text))
                        XERR(c, v, "must be a file name for /usr/share/kvm (letters, digits, '.', '_', '+', '-'; "
                                   "no '/', ',' or ';'; not starting with '.' or '-'), got %s%s%s",
                             scalar(v) ? "'" : "", shown(v), scalar(v) ? "'" : "");
                else
                        rf->name = pv_xstrdup(v->text);
                pvp_leave(c, &s);
        }
        if ((v = pvp_enter(c, m, "source", &s))) {
                type_source(c, v, rf);
                pvp_leave(c, &s);
        }
}

void pvp_type_host_romfiles(struct pvp_ctx *c, const struct ynode *m, struct pv_host_spec *h) {
        struct pvp_scope s = { 0 };
        const struct ynode *v = pvp_enter(c, m, "romfiles", &s);
        if (!v)
                return;
        if (v->kind != Y_SEQ) {
                XERR(c, v, "must be a list of {name: FILE, source: PATH}, got %s", shown(v));
                pvp_leave(c, &s);
                return;
        }
        pvp_host_romfiles_done(h);
        h->romfiles = pv_xcalloc(v->n_items ? v->n_items : 1, sizeof *h->romfiles);
        for (size_t i = 0; i < v->n_items && !c->stop; i++) {
                size_t mk = pvp_path_idx(c, i);
                struct pv_romfile rf = { 0 };
                type_romfile(c, v->items[i], &rf);
                bool dup = false;
                for (size_t j = 0; rf.name && j < h->n_romfiles; j++)
                        dup |= h->romfiles[j].name && !strcmp(h->romfiles[j].name, rf.name);
                if (dup)
                        pvp_diag(c, false, v->items[i], "'%s' installs '%s' a second time", c->path.buf, rf.name);
                h->romfiles[h->n_romfiles++] = rf;
                pvp_path_pop(c, mk);
        }
        pvp_leave(c, &s);
}

void pvp_host_romfiles_done(struct pv_host_spec *h) {
        for (size_t i = 0; i < h->n_romfiles; i++) {
                struct pv_romfile *rf = &h->romfiles[i];
                free(rf->name);
                free(rf->source);
                free(rf->data);
                free(rf->sha256);
                free(rf->problem);
        }
        free(h->romfiles);
        h->romfiles = NULL;
        h->n_romfiles = 0;
}

const struct pv_romfile *pv_profile_romfile_for_node(const struct pv_profile *p, const char *node, const char *name) {
        const struct pv_host_spec *h = node && name ? pv_profile_host_for_node(p, node) : NULL;
        for (size_t i = 0; h && i < h->n_romfiles; i++)
                if (h->romfiles[i].name && !strcmp(h->romfiles[i].name, name))
                        return &h->romfiles[i];
        return NULL;
}
