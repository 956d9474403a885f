/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host executor, inputs: what the host planner reads from the host besides the scan (pvfio's
 * udev rules, the NVIDIA vGPU unit, the journal's owned tokens and owed refreshes) and the
 * node name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostfs.h"
#include "pvfio/hostlock.h"
#include "pvfio/hostplan.h"
#include "pvfio/xalloc.h"

#include "hostexec_int.h"

/* ------------------------------------------------------------- inputs */

static void host_file_done(struct pv_host_file *f) {
        free(f->path);
        free(f->content);
        memset(f, 0, sizeof *f);
}

static int load_host_file(const struct pv_host *h, const char *path, struct pv_host_file *f, struct pv_error *err) {
        memset(f, 0, sizeof *f);
        f->path = strdup(path);
        if (!f->path)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        return hx_read_rel(h, path, &f->present, &f->content, &f->len, NULL, err);
}

static bool unit_enabled(const struct pv_host *h, const char *unit) {
        int fd = pv_fs_open(h->dirfd, "etc/systemd/system", O_RDONLY | O_DIRECTORY, 0);
        if (fd < 0)
                return false;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return false;
        }
        bool found = false;
        struct dirent *e;
        while (!found && (e = readdir(d))) {
                size_t n = strlen(e->d_name);
                if (n < 6 || strcmp(e->d_name + n - 6, ".wants") != 0)
                        continue;
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", e->d_name, unit) < 0)
                        break;
                struct stat st;
                found = fstatat(dirfd(d), p, &st, AT_SYMLINK_NOFOLLOW) == 0;
        }
        closedir(d);
        return found;
}

int pv_hostplan_inputs_load(const struct pv_host *h, struct pv_hostplan_inputs *ret, struct pv_error *err) {
        struct pv_hostplan_inputs in = { 0 };
        int r = load_host_file(h, PV_HOSTPLAN_UDEV_VFIO, &in.udev_vfio, err);
        if (r == 0)
                r = load_host_file(h, PV_HOSTPLAN_UDEV_SRIOV, &in.udev_sriov, err);
        in.nvidia_sriov_enabled = unit_enabled(h, PV_HOSTPLAN_NVIDIA_SRIOV_UNIT);
        struct journal j;
        if (r == 0)
                r = hx_journal_load(h, &j, err);
        if (r == 0) {
                in.have_journal = j.loaded;
                struct jfile *f = hx_journal_find(&j, PV_HOSTPLAN_KERNEL_CMDLINE);
                for (size_t i = 0; r == 0 && f && i < f->owned.n; i++)
                        r = pv_strv_push(&in.owned_args, f->owned.v[i], err);
                in.refresh_owed = hx_refresh_flags(&j.owed);
                hx_journal_done(&j);
        }
        if (r < 0) {
                pv_hostplan_inputs_done(&in);
                return r;
        }
        *ret = in;
        return 0;
}

void pv_hostplan_inputs_done(struct pv_hostplan_inputs *in) {
        if (!in)
                return;
        host_file_done(&in->udev_vfio);
        host_file_done(&in->udev_sriov);
        pv_strv_done(&in->owned_args);
        memset(in, 0, sizeof *in);
}

int pv_host_read_node_name(const struct pv_host *h, char **ret, struct pv_error *err) {
        bool present;
        _cleanup_free_ char *txt = NULL;
        size_t len;
        int r = hx_read_rel(h, "etc/hostname", &present, &txt, &len, NULL, err);
        if (r < 0)
                return r;
        if (!present)
                return pv_error_set(err, PV_ENOTFOUND, "no etc/hostname under '%s'", hx_root_name(h));
        size_t s = strspn(txt, " \t\r\n");
        size_t n = strcspn(txt + s, " \t\r\n.");
        if (n == 0)
                return pv_error_set(err, PV_ENOTFOUND, "etc/hostname under '%s' is empty", hx_root_name(h));
        char *name = strndup(txt + s, n);
        if (!name)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        *ret = name;
        return 0;
}
