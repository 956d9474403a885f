/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ROM images installed into usr/share/kvm for a VM's romfile (see pvfio/hostrom.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvfio/cleanup.h"
#include "pvfio/hostfs.h"
#include "pvfio/hostrom.h"
#include "pvfio/xalloc.h"

/*
 * The Debian package that ships /PATH, from dpkg's file lists under the root (var/lib/dpkg/info/
 * *.list, one absolute path per line), or NULL. pve-qemu-kvm installs QEMU's own option ROMs
 * (efi-virtio.rom, pxe-e1000.rom, …) in /usr/share/kvm: replacing one would change every VM of the
 * node and the next package upgrade would silently undo it.
 */
static char *package_owning(int rootfd, const char *path) {
        int dfd = pv_fs_open(rootfd, "var/lib/dpkg/info", O_RDONLY | O_DIRECTORY, 0);
        if (dfd < 0)
                return NULL;
        DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return NULL;
        }
        _cleanup_free_ char *want = pv_xasprintf("/%s\n", path);
        size_t want_len = strlen(want);
        char *owner = NULL;
        for (struct dirent *e; !owner && (e = readdir(d));) {
                size_t n = strlen(e->d_name);
                if (n < 6 || strcmp(e->d_name + n - 5, ".list"))
                        continue;
                _cleanup_free_ char *list = NULL;
                size_t len = 0;
                if (pv_fs_read_regular(dirfd(d), e->d_name, O_NOFOLLOW, 16u << 20, &list, &len, NULL) < 0)
                        continue;
                for (const char *at = list; (at = memmem(at, len - (size_t)(at - list), want, want_len)); at++)
                        if (at == list || at[-1] == '\n') {
                                owner = pv_xstrndup(e->d_name, n - 5);
                                break;
                        }
        }
        closedir(d);
        return owner;
}

static int load_one(const struct pv_host *h, const struct pv_romfile *rf, struct pv_host_rom_file *f) {
        f->name = pv_xstrdup(rf->name);
        _cleanup_free_ char *path = pv_xasprintf(PV_ROMFILE_DIR "/%s", rf->name);
        char *buf = NULL;
        size_t len = 0;
        int r = pv_fs_read_regular(h->dirfd, path, O_NOFOLLOW, PV_ROMFILE_MAX_BYTES, &buf, &len, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                f->problem = r == -EFBIG   ? pv_xasprintf("/%s is larger than %u MiB", path, PV_ROMFILE_MAX_BYTES >> 20)
                             : r == -EINVAL || r == -ELOOP ? pv_xasprintf("/%s is not a regular file", path)
                                                           : pv_xasprintf("/%s cannot be read: %s", path, strerror(-r));
                return 0;
        }
        f->present = true;
        f->package = package_owning(h->dirfd, path);
        f->len = len;
        pv_sha256_hex(buf, len, f->sha256);
        free(buf);
        return 0;
}

int pv_host_roms_load(const struct pv_host *h, const struct pv_profile *p, const char *node,
                      struct pv_host_roms *ret, struct pv_error *err) {
        (void)err;
        struct pv_host_roms r = { 0 };
        const struct pv_host_spec *spec = p && node ? pv_profile_host_for_node(p, node) : NULL;
        if (spec && spec->n_romfiles)
                r.v = pv_xcalloc(spec->n_romfiles, sizeof *r.v);
        for (size_t i = 0; spec && i < spec->n_romfiles; i++)
                if (spec->romfiles[i].name)
                        load_one(h, &spec->romfiles[i], &r.v[r.n++]);
        *ret = r;
        return 0;
}

void pv_host_roms_done(struct pv_host_roms *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n; i++) {
                free(r->v[i].name);
                free(r->v[i].problem);
                free(r->v[i].package);
        }
        free(r->v);
        memset(r, 0, sizeof *r);
}

static const struct pv_host_rom_file *find(const struct pv_host_roms *cur, const char *name) {
        for (size_t i = 0; cur && i < cur->n; i++)
                if (!strcmp(cur->v[i].name, name))
                        return &cur->v[i];
        return NULL;
}

static int plan_one(const char *node, const struct pv_romfile *rf, const struct pv_host_rom_file *f,
                    struct pv_plan *plan, struct pv_error *err) {
        if (rf->data && f && f->present && !f->problem && f->len == rf->len && !strcmp(f->sha256, rf->sha256))
                return 0; /* already the profile's bytes */
        bool present = f && f->present;
        _cleanup_free_ char *path = pv_xasprintf(PV_ROMFILE_DIR "/%s", rf->name);
        struct pv_action a = {
                .kind = PV_ACT_INSTALL_FILE,
                .target = pv_xstrdup(path),
                .node = pv_xstrdup(node),
                .reason = pv_xasprintf("ROM image '%s' from %s for romfile=%s%s", rf->name, rf->source,
                                       rf->name, rf->data && !rf->has_efi ? " (legacy BIOS images only, no EFI image)"
                                                                          : ""),
                .before = present ? pv_bytes_summary(f->len, f->sha256) : NULL,
                .after = rf->data ? pv_bytes_summary(rf->len, rf->sha256) : NULL,
        };
        if (!rf->data && rf->from_bundle)
                a.blocked = pv_xasprintf("%s for node %s: the controller sends the images its profile names; run "
                                         "the plan from a controller that can read that source",
                                         rf->problem ? rf->problem : "the ROM image is missing", node ? node : "?");
        else if (!rf->data)
                a.blocked = pv_xasprintf("%s on node %s (a profile read from stdin resolves it against the "
                                         "working directory): put the image there or use an "
                                         "absolute source path that exists on every node",
                                         rf->problem ? rf->problem : "the ROM source cannot be read",
                                         node ? node : "?");
        else if (f && f->package)
                a.blocked = pv_xasprintf("/%s belongs to the Debian package %s (one of QEMU's own ROMs, used by every "
                                         "VM of the node and restored by the next upgrade): give the romfiles entry "
                                         "another name",
                                         path, f->package);
        else if (f && f->problem)
                a.blocked = pv_xasprintf("%s: pvfio replaces only a regular file of at most %u MiB", f->problem,
                                         PV_ROMFILE_MAX_BYTES >> 20);
        int idx = pv_plan_add(plan, &a, err);
        if (idx < 0)
                return idx;
        struct pv_action *p = &plan->actions[idx];
        return pv_action_set_file_bytes(p, path, 0644, rf->data ? rf->data : (const uint8_t *)"", rf->data ? rf->len : 0,
                                        present ? f->sha256 : NULL, err);
}

int pv_host_roms_plan(const struct pv_profile *p, const char *node, const struct pv_host_roms *cur,
                      struct pv_plan *plan, struct pv_error *err) {
        const struct pv_host_spec *spec = p && node ? pv_profile_host_for_node(p, node) : NULL;
        int r = 0;
        for (size_t i = 0; r == 0 && spec && i < spec->n_romfiles; i++)
                if (spec->romfiles[i].name)
                        r = plan_one(node, &spec->romfiles[i], find(cur, spec->romfiles[i].name), plan, err);
        return r;
}
