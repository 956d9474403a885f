/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the host itself needs, read from the root (part of pv_host_scan()):
 *
 *   storage   the PCI controllers behind /, /boot and the ESP (/boot/efi, /efi): proc/mounts →
 *             block device (dev/mapper/NAME via sys/block/dm-N/dm/name, partitions via
 *             sys/class/block/<part>/.., device-mapper and md members via slaves/) →
 *             sys/block/<disk>/device → the last PCI address on its sysfs path;
 *             systemd-boot ESPs from etc/kernel/proxmox-boot-uuids via dev/disk/by-uuid
 *   network   the interfaces of the default route (proc/net/route) and vmbr0, down through
 *             bridge ports (brif/), bond slaves and lower_* links to sys/class/net/<if>/device
 *   keyboard  proc/bus/input/devices entries with a kbd handler and key + LED events: when every
 *             keyboard hangs off one PCI controller, that controller holds the only keyboard
 *
 * and the node's identity: etc/hostname, whether the root is a Proxmox VE node (the pmxcfs
 * mount point etc/pve, or the dpkg record of pve-manager or qemu-server), and the cluster's
 * nodes (etc/pve/nodes/<name>).
 *
 * Paths are resolved inside the root: symlinks are followed by hand, absolute targets are
 * taken relative to the root, so nothing outside it is read.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvfio/buf.h"
#include "pvfio/xalloc.h"
#include "pvfio/cleanup.h"
#include "pvfio/host.h"

#define MAX_HOPS 40
#define MAX_DEPTH 6

static int read_small(const struct pv_host *h, const char *rel, char **ret) {
        struct pv_buf b = PV_BUF_INIT;
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_buf_read_file_at(&b, h->dirfd, rel, &e);
        pv_error_done(&e);
        if (r < 0) {
                pv_buf_release(&b);
                return r;
        }
        pv_buf_detach(&b, ret, NULL, NULL);     /* does not fail (pvfio/xalloc.h) */
        return 0;
}

/* Canonical root-relative path of `rel` (symlinks followed inside the root), or NULL. */
static char *resolve(const struct pv_host *h, const char *rel) {
        struct pv_strv done = PV_STRV_INIT;   /* resolved components */
        struct pv_buf todo = PV_BUF_INIT;
        char *out = NULL;
        int hops = 0;
        if (pv_buf_adds(&todo, rel, NULL) < 0)
                goto fail;
        while (todo.len) {
                /* pop the first component of todo */
                const char *p = todo.buf;
                while (*p == '/')
                        p++;
                size_t n = strcspn(p, "/");
                if (!n)
                        break;
                _cleanup_free_ char *comp = strndup(p, n);
                _cleanup_free_ char *rest = strdup(p + n);
                if (!comp || !rest)
                        goto fail;
                todo.len = 0;
                if (pv_buf_adds(&todo, rest, NULL) < 0)
                        goto fail;
                if (!strcmp(comp, "."))
                        continue;
                if (!strcmp(comp, "..")) {
                        if (done.n)
                                free(done.v[--done.n]);
                        continue;
                }
                if (pv_strv_push(&done, comp, NULL) < 0)
                        goto fail;
                _cleanup_free_ char *cur = pv_strv_join(&done, "/", NULL);
                if (!cur)
                        goto fail;
                char target[4096];
                ssize_t tl = readlinkat(h->dirfd, cur, target, sizeof target - 1);
                if (tl < 0) {
                        if (errno == EINVAL)
                                continue;   /* not a link */
                        goto fail;          /* missing */
                }
                if (++hops > MAX_HOPS)
                        goto fail;
                target[tl] = '\0';
                free(done.v[--done.n]);
                if (target[0] == '/')
                        while (done.n)
                                free(done.v[--done.n]);
                _cleanup_free_ char *nt = pv_asprintf(NULL, "%s%s", target, todo.buf ? todo.buf : "");
                if (!nt)
                        goto fail;
                todo.len = 0;
                if (pv_buf_adds(&todo, nt, NULL) < 0)
                        goto fail;
        }
        out = pv_strv_join(&done, "/", NULL);
fail:
        pv_strv_done(&done);
        pv_buf_release(&todo);
        return out;
}

static bool bdf_at(const char *p) {
        /* dddd:bb:dd.f */
        static const char pat[] = "hhhh:hh:hh.h";
        for (size_t i = 0; i < sizeof pat - 1; i++) {
                if (pat[i] == 'h' ? !isxdigit((unsigned char)p[i]) : p[i] != pat[i])
                        return false;
        }
        return p[sizeof pat - 1] == '\0' || p[sizeof pat - 1] == '/';
}

/* Index of the device whose address is the last PCI address on the path, or -1. */
static long pci_of_path(const struct pv_host_state *s, const char *path) {
        const char *last = NULL;
        for (const char *p = path; p && *p; p++)
                if ((p == path || p[-1] == '/') && bdf_at(p))
                        last = p;
        if (!last)
                return -1;
        char buf[16];
        memcpy(buf, last, 12);
        buf[12] = '\0';
        struct pv_pci_addr a;
        if (pv_pci_addr_parse(buf, &a, NULL) < 0)
                return -1;
        return pv_host_dev_index(s, &a);
}

static int add_need(struct pv_host_state *s, long dev, enum pv_need_kind kind, const char *why, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        if (dev < 0)
                return 0;
        for (size_t i = 0; i < s->n_needs; i++)
                if (s->needs[i].dev == (size_t)dev && s->needs[i].kind == kind)
                        return 0;   /* first reason wins */
        s->needs = pv_xreallocarray(s->needs, s->n_needs + 1, sizeof *s->needs);
        s->needs[s->n_needs++] = (struct pv_host_need){ (size_t)dev, kind, pv_xstrdup(why) };
        return 0;
}

static int list_names(const struct pv_host *h, const char *rel, struct pv_strv *out) {
        int fd = openat(h->dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return 0;
        }
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d)))
                if (de->d_name[0] != '.')
                        r = pv_strv_push(out, de->d_name, NULL);
        closedir(d);
        return r;
}

/* ------------------------------------------------------------- storage */

/* Block device name → the disks under it (partition → disk, dm/md → slaves). */
static int block_leaves(const struct pv_host *h, const char *name, int depth, struct pv_strv *out) {
        if (depth > MAX_DEPTH)
                return 0;
        _cleanup_free_ char *cls = pv_asprintf(NULL, "sys/class/block/%s", name);
        _cleanup_free_ char *real = cls ? resolve(h, cls) : NULL;
        if (!real)
                return 0;
        _cleanup_free_ char *partfile = pv_asprintf(NULL, "%s/partition", real);
        if (partfile && faccessat(h->dirfd, partfile, F_OK, 0) == 0) {
                /* a partition: its directory sits in the disk's */
                char *slash = strrchr(real, '/');
                if (slash) {
                        *slash = '\0';
                        return block_leaves(h, strrchr(real, '/') ? strrchr(real, '/') + 1 : real, depth + 1, out);
                }
                return 0;
        }
        _cleanup_free_ char *sl = pv_xasprintf("%s/slaves", real);
        struct pv_strv slaves = PV_STRV_INIT;
        int r = list_names(h, sl, &slaves);
        for (size_t i = 0; r == 0 && i < slaves.n; i++)
                r = block_leaves(h, slaves.v[i], depth + 1, out);
        if (r == 0 && slaves.n == 0 && !pv_strv_contains(out, name))
                r = pv_strv_push(out, name, NULL);
        pv_strv_done(&slaves);
        return r;
}

/* "/dev/X" of proc/mounts → a block device name, or NULL. */
static char *block_name(const struct pv_host *h, const char *src) {
        if (pv_startswith(src, "/dev/mapper/")) {
                const char *want = src + strlen("/dev/mapper/");
                struct pv_strv blocks = PV_STRV_INIT;
                char *found = NULL;
                if (list_names(h, "sys/block", &blocks) == 0)
                        for (size_t i = 0; i < blocks.n && !found; i++) {
                                _cleanup_free_ char *p = pv_asprintf(NULL, "sys/block/%s/dm/name", blocks.v[i]);
                                _cleanup_free_ char *nm = NULL;
                                if (p && read_small(h, p, &nm) == 0) {
                                        nm[strcspn(nm, "\n")] = '\0';
                                        if (!strcmp(nm, want))
                                                found = strdup(blocks.v[i]);
                                }
                        }
                pv_strv_done(&blocks);
                if (found)
                        return found;
        }
        if (!pv_startswith(src, "/dev/"))
                return NULL;
        /* a udev link (dev/disk/by-uuid/…, dev/mapper/… on a real root) or a kernel name */
        _cleanup_free_ char *real = resolve(h, src + 1);
        const char *base = real ? strrchr(real, '/') : NULL;
        if (base)
                return strdup(base + 1);
        base = strrchr(src, '/');
        return strdup(base + 1);
}

static int storage_need(const struct pv_host *h, struct pv_host_state *s, const char *src, const char *what,
                        struct pv_error *err) {
        _cleanup_free_ char *name = block_name(h, src);
        if (!name)
                return 0;
        struct pv_strv disks = PV_STRV_INIT;
        int r = block_leaves(h, name, 0, &disks);
        for (size_t i = 0; r == 0 && i < disks.n; i++) {
                _cleanup_free_ char *dl = pv_asprintf(NULL, "sys/block/%s/device", disks.v[i]);
                _cleanup_free_ char *real = dl ? resolve(h, dl) : NULL;
                if (!real)
                        continue;
                _cleanup_free_ char *why = strcmp(disks.v[i], name) == 0
                                                   ? pv_xasprintf("holds %s (%s, disk %s)", what, src, disks.v[i])
                                                   : pv_xasprintf("holds %s (%s on disk %s)", what, src, disks.v[i]);
                r = add_need(s, pci_of_path(s, real), PV_NEED_STORAGE, why, err);
        }
        pv_strv_done(&disks);
        return r;
}

static int scan_storage(const struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        _cleanup_free_ char *mounts = NULL;
        int r = 0;
        if (read_small(h, "proc/mounts", &mounts) == 0) {
                static const char *const wanted[] = { "/", "/boot", "/boot/efi", "/efi" };
                for (char *line = mounts, *next; r == 0 && line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        char src[512], mnt[512];
                        if (sscanf(line, "%511s %511s", src, mnt) != 2)
                                continue;
                        for (size_t i = 0; r == 0 && i < PV_ELEMENTSOF(wanted); i++)
                                if (!strcmp(mnt, wanted[i]))
                                        r = storage_need(h, s, src, wanted[i], err);
                }
        }
        /* systemd-boot/proxmox-boot-tool ESPs are not mounted: follow their UUIDs */
        _cleanup_free_ char *uuids = NULL;
        if (r == 0 && read_small(h, "etc/kernel/proxmox-boot-uuids", &uuids) == 0) {
                for (char *line = uuids, *next; r == 0 && line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        line[strcspn(line, " \t\r")] = '\0';
                        if (!*line || strchr(line, '/'))
                                continue;
                        _cleanup_free_ char *dev = pv_asprintf(NULL, "/dev/disk/by-uuid/%s", line);
                        if (dev)
                                r = storage_need(h, s, dev, "an ESP of proxmox-boot-tool", err);
                }
        }
        return r;
}

/* ------------------------------------------------------------- network */

static int net_leaves(const struct pv_host *h, struct pv_host_state *s, const char *ifname, const char *why,
                      int depth, struct pv_error *err) {
        if (depth > MAX_DEPTH || strchr(ifname, '/') || !strcmp(ifname, ".."))
                return 0;
        _cleanup_free_ char *dev = pv_xasprintf("sys/class/net/%s/device", ifname);
        _cleanup_free_ char *real = resolve(h, dev);
        int r = 0;
        if (real) {
                _cleanup_free_ char *w = pv_xasprintf("%s, interface %s", why, ifname);
                return add_need(s, pci_of_path(s, real), PV_NEED_NETWORK, w, err);
        }
        struct pv_strv lower = PV_STRV_INIT, names = PV_STRV_INIT;
        _cleanup_free_ char *brif = pv_xasprintf("sys/class/net/%s/brif", ifname);
        _cleanup_free_ char *base = pv_xasprintf("sys/class/net/%s", ifname);
        _cleanup_free_ char *slaves = pv_xasprintf("sys/class/net/%s/bonding/slaves", ifname);
        r = list_names(h, brif, &lower);
        if (r == 0)
                r = list_names(h, base, &names);
        for (size_t i = 0; r == 0 && i < names.n; i++)
                if (pv_startswith(names.v[i], "lower_") && !pv_strv_contains(&lower, names.v[i] + 6))
                        r = pv_strv_push(&lower, names.v[i] + 6, err);
        _cleanup_free_ char *sl = NULL;
        if (r == 0 && read_small(h, slaves, &sl) == 0) {
                for (char *w = strtok(sl, " \t\n"); r == 0 && w; w = strtok(NULL, " \t\n"))
                        if (!pv_strv_contains(&lower, w))
                                r = pv_strv_push(&lower, w, err);
        }
        for (size_t i = 0; r == 0 && i < lower.n; i++)
                r = net_leaves(h, s, lower.v[i], why, depth + 1, err);
        pv_strv_done(&lower);
        pv_strv_done(&names);
        return r;
}

static int scan_network(const struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        _cleanup_free_ char *route = NULL;
        int r = 0;
        if (read_small(h, "proc/net/route", &route) == 0) {
                for (char *line = route, *next; r == 0 && line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        char ifn[64], dst[16], mask[16] = "";
                        unsigned flags = 0;
                        if (sscanf(line, "%63s %15s %*s %x %*s %*s %*s %15s", ifn, dst, &flags, mask) < 3)
                                continue;
                        if (strcmp(dst, "00000000") != 0 || !(flags & 1u))
                                continue;   /* not a default route that is up */
                        _cleanup_free_ char *why = pv_xasprintf("carries the default route (%s)", ifn);
                        r = net_leaves(h, s, ifn, why, 0, err);
                }
        }
        if (r == 0 && faccessat(h->dirfd, "sys/class/net/vmbr0", F_OK, 0) == 0)
                r = net_leaves(h, s, "vmbr0", "is a port of the management bridge vmbr0", 0, err);
        return r;
}

/* ------------------------------------------------------------ keyboard */

static bool is_keyboard(bool kbd, unsigned long ev) {
        return kbd && (ev & (1ul << 1)) && (ev & (1ul << 17));   /* EV_KEY and EV_LED */
}

static int scan_keyboards(const struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        _cleanup_free_ char *txt = NULL;
        if (read_small(h, "proc/bus/input/devices", &txt) < 0)
                return 0;
        long only = -2;   /* -2 none seen, -1 several controllers or one not on PCI */
        char kb_name[256] = "";
        /* blocks are separated by blank lines */
        for (char *blk = txt; blk && *blk;) {
                char *sep = strstr(blk, "\n\n");
                if (sep)
                        *sep = '\0';
                char name[256] = "", sysfs[1024] = "";
                bool kbd = false;
                unsigned long ev = 0;
                for (char *line = blk, *next; line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = '\0';
                        if (pv_startswith(line, "N: Name="))
                                snprintf(name, sizeof name, "%s", line + 8);
                        else if (pv_startswith(line, "S: Sysfs="))
                                snprintf(sysfs, sizeof sysfs, "%s", line + 9);
                        else if (pv_startswith(line, "H: Handlers="))
                                for (char *w = line + 12; *w;) {
                                        size_t n = strcspn(w, " ");
                                        kbd |= n == 3 && !strncmp(w, "kbd", 3);
                                        w += n + (w[n] == ' ');
                                }
                        else if (pv_startswith(line, "B: EV="))
                                ev = strtoul(line + 6, NULL, 16);
                }
                if (is_keyboard(kbd, ev)) {
                        long dev = pci_of_path(s, sysfs);
                        if (only == -2) {
                                only = dev;
                                snprintf(kb_name, sizeof kb_name, "%s", name);
                        } else if (only != dev) {
                                only = -1;
                        }
                }
                blk = sep ? sep + 2 : NULL;
        }
        if (only < 0)
                return 0;
        _cleanup_free_ char *why = pv_xasprintf("has the host's only keyboard (%s)", kb_name);
        return add_need(s, only, PV_NEED_KEYBOARD, why, err);
}

/* ------------------------------------------------------------ identity */

static int scan_identity(const struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        _cleanup_free_ char *hn = NULL;
        if (read_small(h, "etc/hostname", &hn) == 0) {
                size_t n = strcspn(hn, ".\r\n \t");
                hn[n] = '\0';
                if (n)
                        s->hostname = pv_xstrdup(hn);
        }
        static const char *const evidence[] = { "etc/pve", "var/lib/dpkg/info/pve-manager.list",
                                                "var/lib/dpkg/info/qemu-server.list" };
        for (size_t i = 0; i < PV_ELEMENTSOF(evidence) && !s->pve_node; i++) {
                struct stat st;
                if (fstatat(h->dirfd, evidence[i], &st, 0) == 0 && (i > 0 || S_ISDIR(st.st_mode))) {
                        s->pve_node = true;
                        s->pve_evidence = pv_xstrdup(evidence[i]);
                }
        }
        return list_names(h, "etc/pve/nodes", &s->cluster_nodes);
}

static int cmp_strp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Called by pv_host_scan() once devices and the kernel command line are known. */
int pv_host_scan_needs(const struct pv_host *h, struct pv_host_state *s, struct pv_error *err);
int pv_host_scan_needs(const struct pv_host *h, struct pv_host_state *s, struct pv_error *err) {
        int r = scan_storage(h, s, err);
        if (r == 0)
                r = scan_network(h, s, err);
        if (r == 0)
                r = scan_keyboards(h, s, err);
        if (r == 0)
                r = scan_identity(h, s, err);
        if (r == 0 && s->cluster_nodes.n > 1)
                qsort(s->cluster_nodes.v, s->cluster_nodes.n, sizeof(char *), cmp_strp);
        for (size_t i = 0; r == 0 && i < s->cmdline_args.n; i++) {
                const char *a = s->cmdline_args.v[i];
                if (pv_startswith(a, "pcie_acs_override="))
                        s->acs_override_active = true;
                if (pv_startswith(a, "vfio_iommu_type1.allow_unsafe_interrupts=") &&
                    (a[strlen(a) - 1] == '1' || a[strlen(a) - 1] == 'Y' || a[strlen(a) - 1] == 'y'))
                        s->unsafe_interrupts_active = true;
        }
        _cleanup_free_ char *aui = NULL;
        if (r == 0 && read_small(h, "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", &aui) == 0 &&
            (aui[0] == 'Y' || aui[0] == '1'))
                s->unsafe_interrupts_active = true;
        return r;
}

void pv_host_needs_free(struct pv_host_state *s);
void pv_host_needs_free(struct pv_host_state *s) {
        for (size_t i = 0; i < s->n_needs; i++)
                free(s->needs[i].why);
        free(s->needs);
        free(s->hostname);
        free(s->pve_evidence);
        pv_strv_done(&s->cluster_nodes);
}
