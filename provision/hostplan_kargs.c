/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host planner, kernel arguments: the desired arguments, the GRUB drop-in, the
 * systemd-boot command line (etc/kernel/cmdline) and hp_plan_file(), which every
 * file action goes through.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/xalloc.h"
#include "pvfio/bootcfg.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostplan.h"
#include "pvfio/vgpucheck.h"

#include "hostplan_int.h"

/* ------------------------------------------------------ kernel arguments */

int hp_desired_kernel_args(struct planner *c, struct pv_error *err) {
        const struct pv_host_spec *s = c->spec;
        const struct pv_host_state *st = c->st;
        int r = 0;
        if (s->iommu != PV_OFF) {
                switch (st->cpu.vendor) {
                case PV_CPU_INTEL:
                        /* Intel's IOMMU is on by default from 6.8 (unknown kernels get the argument) */
                        if (s->iommu == PV_ON || hp_kernel_older(st, 6, 8, false))
                                r = hp_strv_add_unique(&c->kargs, "intel_iommu=on", err);
                        break;
                case PV_CPU_AMD:
                        /* AMD-Vi is on by default; 'amd_iommu=on' is not a valid value */
                        break;
                default:
                        r = warnf(c, err, "CPU vendor of node '%s' is unknown; no IOMMU kernel argument added",
                                  c->node);
                        break;
                }
        }
        if (r == 0 && s->iommu_pt)
                r = hp_strv_add_unique(&c->kargs, "iommu=pt", err);
        if (r == 0 && s->vgpu == PV_VGPU_GVTG)
                r = hp_strv_add_unique(&c->kargs, "i915.enable_gvt=1", err);
        for (size_t i = 0; r == 0 && i < s->kernel_args.n; i++) {
                const char *a = s->kernel_args.v[i];
                if (hp_name_eq(a, "amd_iommu=on")) {
                        r = warnf(c, err, "kernel argument 'amd_iommu=on' dropped: it is not a valid value (AMD-Vi "
                                          "is on by default)");
                        continue;
                }
                /* a profile argument replaces pvfio's own choice for the same name */
                const char *eq = strchr(a, '=');
                size_t kl = eq ? (size_t)(eq - a) : strlen(a);
                for (size_t j = 0; j < c->kargs.n; j++) {
                        const char *o = c->kargs.v[j];
                        const char *oeq = strchr(o, '=');
                        size_t ol = oeq ? (size_t)(oeq - o) : strlen(o);
                        if (pv_cmdline_key_equal(a, kl, o, ol) && !pv_cmdline_token_equal(a, o)) {
                                free(c->kargs.v[j]);
                                memmove(&c->kargs.v[j], &c->kargs.v[j + 1], (c->kargs.n - j) * sizeof(char *));
                                c->kargs.n--;
                                break;
                        }
                }
                bool dup = false;
                for (size_t j = 0; j < c->kargs.n && !dup; j++)
                        dup = pv_cmdline_token_equal(c->kargs.v[j], a);
                if (!dup)
                        r = pv_strv_push(&c->kargs, a, err);
        }
        return r;
}

static int reboot_for_args(struct planner *c, const struct pv_strv *removed, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        if (!st->cmdline)
                return 0;
        struct pv_buf miss = PV_BUF_INIT, stale = PV_BUF_INIT;
        int r = 0;
        for (size_t i = 0; r == 0 && i < c->kargs.n; i++)
                if (!pv_cmdline_has(&st->cmdline_args, c->kargs.v[i]))
                        r = pv_buf_addf(&miss, err, "%s%s", miss.len ? " " : "", c->kargs.v[i]);
        for (size_t i = 0; r == 0 && removed && i < removed->n; i++)
                if (pv_cmdline_has(&st->cmdline_args, removed->v[i]))
                        r = pv_buf_addf(&stale, err, "%s%s", stale.len ? " " : "", removed->v[i]);
        if (r == 0 && miss.len)
                r = rebootf(c, err, "kernel arguments not active yet (missing from /proc/cmdline): %s", miss.buf);
        if (r == 0 && stale.len)
                r = rebootf(c, err, "kernel arguments pvfio removed are still active: %s", stale.buf);
        pv_buf_release(&miss);
        pv_buf_release(&stale);
        return r;
}

int hp_plan_file(struct planner *c, enum pv_action_kind kind, const char *path, const char *before,
                     const char *after, bool needs_reboot, char *reason, int *ret_idx, struct pv_error *err) {
        if (ret_idx)
                *ret_idx = 0;
        if ((!before && !after) || (before && after && strcmp(before, after) == 0)) {
                free(reason);
                return 0;
        }
        if (!after)
                kind = PV_ACT_REMOVE_FILE;
        int idx = hp_add_action(c, kind, path, before, after, reason, needs_reboot, 0, err);
        if (idx < 0)
                return idx;
        int r = pv_action_set_file(&c->p.actions[idx - 1], path, kind == PV_ACT_WRITE_FILE ? 0644 : 0, err);
        if (r < 0)
                return r;
        unsigned rf = pv_hostplan_refresh_for_path(path);
        for (unsigned b = 0; b < 3; b++)
                if (rf & (1u << b))
                        c->refresh_dep[b] = idx;
        c->refresh |= rf;
        if (ret_idx)
                *ret_idx = idx;
        return 0;
}

static const char grub_header[] =
        "# Managed by pvfio: kernel arguments for PCI passthrough. Sourced by update-grub after\n"
        "# /etc/default/grub. Overwritten by 'pvfio host apply'; 'pvfio host rollback' removes it.\n";

/* pvfio's arguments must survive the drop-ins sourced after its own: refuse naming the one that drops them. */
static int check_grub_order(struct planner *c, const char *after, struct pv_error *err) {
        struct pv_grub_eval e;
        struct pv_strv words = PV_STRV_INIT;
        int r = pv_grub_eval_state(c->st, PV_HOSTPLAN_GRUB_DROPIN, after, &e, err);
        if (r < 0)
                return r;
        r = pv_grub_eval_words(&e, &words, err);
        const char *lost = NULL;
        for (size_t i = 0; r == 0 && i < c->kargs.n && !lost; i++)
                if (!pv_cmdline_has(&words, c->kargs.v[i]))
                        lost = c->kargs.v[i];
        if (r == 0 && lost) {
                const struct pv_grub_assign *last = NULL;
                for (size_t i = 0; i < e.n_assigns; i++)
                        if (e.assigns[i].is_default && !e.assigns[i].keeps_previous &&
                            strcmp(e.assigns[i].path, PV_HOSTPLAN_GRUB_DROPIN) > 0)
                                last = &e.assigns[i];
                if (last)
                        r = pv_error_set_loc(err, PV_EUNSAFE, &c->spec->loc,
                                             "%s:%u on node '%s' sets GRUB_CMDLINE_LINUX_DEFAULT after pvfio's %s "
                                             "(drop-ins are sourced in name order) without keeping its previous "
                                             "value, so '%s' would never reach the kernel; make that line start "
                                             "with \"$GRUB_CMDLINE_LINUX_DEFAULT \" or move its arguments into "
                                             "etc/default/grub",
                                             last->path, last->line, c->node, PV_HOSTPLAN_GRUB_DROPIN, lost);
                else
                        r = pv_error_set_loc(err, PV_EUNSAFE, &c->spec->loc,
                                             "the GRUB defaults on node '%s' drop '%s' after pvfio's %s sets it; "
                                             "check etc/default/grub.d",
                                             c->node, lost, PV_HOSTPLAN_GRUB_DROPIN);
        }
        pv_strv_done(&words);
        pv_grub_eval_done(&e);
        return r;
}

int hp_plan_grub(struct planner *c, bool active, struct pv_error *err) {
        const struct pv_boot_info *b = &c->st->boot;
        const struct pv_host_file *cur = hp_find_file(b->grub_d, b->n_grub_d, PV_HOSTPLAN_GRUB_DROPIN);
        const char *before = hp_file_content(cur);
        /* arguments the GRUB defaults give without pvfio's drop-in are not repeated */
        struct pv_strv have = PV_STRV_INIT, old = PV_STRV_INIT, removed = PV_STRV_INIT;
        struct pv_buf line = PV_BUF_INIT;
        char *after = NULL;
        struct pv_grub_eval ev;
        int r = pv_grub_eval_state(c->st, PV_HOSTPLAN_GRUB_DROPIN, NULL, &ev, err);
        if (r == 0) {
                r = pv_grub_eval_words(&ev, &have, err);
                pv_grub_eval_done(&ev);
        }
        if (r == 0)
                r = pv_grub_words_of(before, &old, err);
        size_t n_new = 0;
        for (size_t i = 0; r == 0 && active && i < c->kargs.n; i++) {
                const char *a = c->kargs.v[i];
                if (pv_cmdline_has(&have, a))
                        continue;
                r = pv_buf_addf(&line, err, " %s", a);
                n_new++;
        }
        for (size_t i = 0; r == 0 && i < old.n; i++)
                if (!(active && pv_strv_contains(&c->kargs, old.v[i])) && !pv_strv_contains(&removed, old.v[i]))
                        r = pv_strv_push(&removed, old.v[i], err);
        if (r == 0 && n_new)
                after = pv_xasprintf("%sGRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT%s\"\n", grub_header,
                                     line.buf);
        if (r == 0 && active && c->kargs.n)
                r = check_grub_order(c, after, err);
        if (r == 0) {
                char *reason = active ? pv_asprintf(err, "kernel arguments for passthrough in a GRUB drop-in (%s)",
                                                    n_new ? line.buf + 1 : "none")
                                      : pv_asprintf(err, "the host boots with systemd-boot; the GRUB drop-in is unused");
                r = hp_plan_file(c, PV_ACT_WRITE_FILE, PV_HOSTPLAN_GRUB_DROPIN, before, after, true, reason, NULL, err);
        }
        if (r == 0 && active)
                r = reboot_for_args(c, &removed, err);
        free(after);
        pv_buf_release(&line);
        pv_strv_done(&have);
        pv_strv_done(&old);
        pv_strv_done(&removed);
        return r;
}

static bool has_root_arg(const struct pv_strv *t) {
        for (size_t i = 0; i < t->n; i++)
                if (pv_startswith(t->v[i], "root="))
                        return true;
        return false;
}

int hp_plan_sdboot(struct planner *c, bool active, struct pv_error *err) {
        const struct pv_host_state *st = c->st;
        const struct pv_host_file *f = &st->boot.etc_kernel_cmdline;
        const char *before = hp_file_content(f);
        const struct pv_strv *owned = &c->in->owned_args;
        _cleanup_free_ char *first = NULL, *newline = NULL, *after = NULL;
        const char *rest = "";
        bool created = false;
        int r = 0;
        if (before) {
                const char *nl = strchr(before, '\n');
                first = pv_xstrndup(before, nl ? (size_t)(nl - before) : strlen(before));
                rest = nl ? nl : "";
        } else {
                if (!active || c->kargs.n == 0)
                        return 0;
                /* proxmox-boot-tool falls back to /proc/cmdline; start from it */
                struct pv_buf b = PV_BUF_INIT;
                struct pv_strv proc = PV_STRV_INIT;
                r = pv_cmdline_split(st->cmdline, &proc, err);   /* raw: quotes kept */
                for (size_t i = 0; r == 0 && i < proc.n; i++) {
                        const char *t = proc.v[i];
                        if (pv_startswith(t, "BOOT_IMAGE=") || pv_startswith(t, "initrd="))
                                continue;
                        r = pv_buf_addf(&b, err, "%s%s", b.len ? " " : "", t);
                }
                if (r == 0)
                        r = pv_buf_detach(&b, &first, NULL, err);
                pv_buf_release(&b);
                pv_strv_done(&proc);
                if (r < 0)
                        return r;
                rest = "\n";
                created = true;
        }
        struct pv_strv old = PV_STRV_INIT, nw = PV_STRV_INIT, removed = PV_STRV_INIT;
        r = pv_cmdline_split(first, &old, err);
        for (size_t i = 0; r == 0 && i < owned->n; i++)
                if (!(active && pv_cmdline_has(&c->kargs, owned->v[i])) && pv_cmdline_has(&old, owned->v[i]))
                        r = pv_strv_push(&removed, owned->v[i], err);
        for (size_t i = 0; r == 0 && active && i < c->kcmdline_takeover.n; i++)
                if (pv_cmdline_has(&old, c->kcmdline_takeover.v[i]) && !pv_strv_contains(&removed, c->kcmdline_takeover.v[i]))
                        r = pv_strv_push(&removed, c->kcmdline_takeover.v[i], err);
        if (r == 0)
                r = pv_cmdline_edit(first, active ? (const char *const *)c->kargs.v : NULL, active ? c->kargs.n : 0,
                                    (const char *const *)removed.v, removed.n, &newline, err);
        if (r == 0)
                r = pv_cmdline_split(newline, &nw, err);
        if (r == 0 && strcmp(newline, first) != 0) {
                if (!has_root_arg(&nw)) {
                        r = pv_error_set(err, PV_EUNSUPPORTED,
                                         "%s on node '%s' has no 'root=' argument%s; proxmox-boot-tool refresh "
                                         "would abort: put the root= of /proc/cmdline on its first line",
                                         PV_HOSTPLAN_KERNEL_CMDLINE, c->node,
                                         created ? " and neither has /proc/cmdline" : "");
                } else {
                        after = pv_xasprintf("%s%s", newline, rest);
                        char *reason = pv_xstrdup(created ? "create the systemd-boot kernel command line from "
                                                            "/proc/cmdline with the passthrough arguments"
                                                          : "kernel arguments for passthrough on the systemd-boot "
                                                            "command line (other arguments kept)");
                        int idx = 0;
                        r = hp_plan_file(c, PV_ACT_EDIT_FILE, PV_HOSTPLAN_KERNEL_CMDLINE, before, after, true, reason,
                                      &idx, err);
                        /* one key per changed token: the journal learns which tokens pvfio owns */
                        for (size_t i = 0; r == 0 && idx && i < old.n; i++) {
                                if (pv_cmdline_has(&nw, old.v[i]))
                                        continue;
                                const char *eq = strchr(old.v[i], '=');
                                size_t kl = eq ? (size_t)(eq - old.v[i]) : strlen(old.v[i]);
                                const char *repl = NULL;
                                for (size_t j = 0; j < nw.n && !repl; j++) {
                                        const char *e2 = strchr(nw.v[j], '=');
                                        size_t k2 = e2 ? (size_t)(e2 - nw.v[j]) : strlen(nw.v[j]);
                                        if (pv_cmdline_key_equal(old.v[i], kl, nw.v[j], k2) && !pv_cmdline_has(&old, nw.v[j]))
                                                repl = nw.v[j];
                                }
                                _cleanup_free_ char *key = pv_xstrndup(old.v[i], kl);
                                r = hp_add_key(c, idx, key, old.v[i], repl, err);
                        }
                        for (size_t j = 0; r == 0 && idx && j < nw.n; j++) {
                                if (pv_cmdline_has(&old, nw.v[j]))
                                        continue;
                                const char *e2 = strchr(nw.v[j], '=');
                                size_t k2 = e2 ? (size_t)(e2 - nw.v[j]) : strlen(nw.v[j]);
                                bool paired = false;
                                for (size_t i = 0; i < old.n && !paired; i++) {
                                        const char *eq = strchr(old.v[i], '=');
                                        size_t kl = eq ? (size_t)(eq - old.v[i]) : strlen(old.v[i]);
                                        paired = !pv_cmdline_has(&nw, old.v[i]) &&
                                                 pv_cmdline_key_equal(old.v[i], kl, nw.v[j], k2);
                                }
                                if (paired)
                                        continue;
                                _cleanup_free_ char *key = pv_xstrndup(nw.v[j], k2);
                                r = hp_add_key(c, idx, key, NULL, nw.v[j], err);
                        }
                }
        }
        if (r == 0 && active)
                r = reboot_for_args(c, &removed, err);
        pv_strv_done(&old);
        pv_strv_done(&nw);
        pv_strv_done(&removed);
        return r;
}
