/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "localhost.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pvfio/xalloc.h"
#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/extras.h"
#include "pvfio/hostfs.h"

extern char **environ;

static char *node_name(const char *root, struct pv_error *err) {
        /* etc/hostname read inside the root (a link to /etc/hostname names the image's, not ours) */
        char *text = NULL;
        int r = -ENOENT;
        int rootfd = open(root && *root ? root : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd >= 0) {
                r = pv_fs_read_regular(rootfd, "etc/hostname", 0, 4096, &text, NULL, NULL);
                close(rootfd);
        }
        char *name = NULL;
        if (r == 0) {
                size_t n = strcspn(text, ".\r\n \t");
                text[n] = '\0';
                if (n)
                        name = pv_strdup(text, err);
        }
        free(text);
        if (!name && (r == 0 || (root && *root && strcmp(root, "/") != 0))) {
                /* an empty etc/hostname, or another root without one: never borrow the running machine's name */
                pv_error_set(err, PV_ENOTFOUND, "%s/etc/hostname is %s: cannot tell which node this root is; give --node",
                             root && *root && strcmp(root, "/") != 0 ? root : "", r == 0 ? "empty" : "missing");
                return NULL;
        }
        if (!name) {
                char host[256];
                if (gethostname(host, sizeof host - 1) < 0) {
                        pv_error_set_errno(err, errno, "cannot determine this node's name (give --node)");
                        return NULL;
                }
                host[sizeof host - 1] = '\0';
                host[strcspn(host, ".")] = '\0';
                name = pv_strdup(host, err);
        }
        return name;
}

int pv_local_node_name(const char *root, const char *node, char **ret, struct pv_error *err) {
        char *n = node ? pv_xstrdup(node) : node_name(root, err);
        if (!n)         /* err says why (an allocation does not fail: pvfio/xalloc.h) */
                return pv_error_set(err, PV_EIO, "cannot tell the name of this node");
        *ret = n;
        return 0;
}

static int cmp_name(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int pv_local_cluster_nodes(const char *root, struct pv_strv *ret, struct pv_error *err) {
        _cleanup_free_ char *path = pv_xasprintf("%s/etc/pve/nodes", root && strcmp(root, "/") != 0 ? root : "");
        DIR *d = opendir(path);
        if (!d)
                return 0;
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d)))
                if (de->d_name[0] != '.')
                        r = pv_strv_push(ret, de->d_name, err);
        closedir(d);
        if (r == 0 && ret->n > 1)
                qsort(ret->v, ret->n, sizeof(char *), cmp_name);
        return r;
}

int pv_local_check_node_names(const struct pv_profile *p, const char *root, struct pv_error *err) {
        struct pv_strv nodes = PV_STRV_INIT;
        int r = pv_local_cluster_nodes(root, &nodes, err);
        for (size_t i = 0; r == 0 && nodes.n && i < p->n_hosts; i++)
                for (size_t k = 0; r == 0 && k < p->hosts[i].nodes.n; k++)
                        if (!pv_strv_contains(&nodes, p->hosts[i].nodes.v[k])) {
                                _cleanup_free_ char *list = pv_strv_join(&nodes, ", ", err);
                                r = pv_error_set_loc(err, PV_EINVAL, &p->hosts[i].loc,
                                                     "host section names node '%s', which is not a node of this "
                                                     "cluster (etc/pve/nodes has: %s)",
                                                     p->hosts[i].nodes.v[k], list ? list : "?");
                        }
        pv_strv_done(&nodes);
        return r;
}

int pv_local_host_open(const struct pv_engine_events *ev, const struct pv_profile *p, const char *root, const char *node,
                       struct pv_local_host *ret, struct pv_error *err) {
        struct pv_local_host lh;
        memset(&lh, 0, sizeof lh);
        lh.node = node ? pv_xstrdup(node) : node_name(root, err);
        if (!lh.node)   /* err says why (an allocation does not fail: pvfio/xalloc.h) */
                return pv_error_set(err, PV_EIO, "cannot tell the name of this node");
        lh.spec = pv_profile_host_for_node(p, lh.node);
        lh.profile = p;
        if (lh.spec) {
                int r = pv_host_open(root ? root : "/", pv_engine_log(ev), &lh.h, err);
                if (r >= 0)
                        r = pv_host_scan(lh.h, 0, &lh.state, err);
                if (r >= 0)
                        r = pv_hostplan_inputs_load(lh.h, &lh.inputs, err);
                if (r < 0) {
                        pv_local_host_done(&lh);
                        return r;
                }
                lh.have_inputs = true;
        }
        *ret = lh;
        return 0;
}

/* Keep s (taken) as a reason the node's VMs wait for. */
static void add_reason(struct pv_local_host *lh, char *s) {
        lh->reasons = pv_xreallocarray(lh->reasons, lh->n_reasons + 1, sizeof *lh->reasons);
        lh->reasons[lh->n_reasons++] = s;
}

/* The host side of the node's VMs (TPM, affinity, … see pvfio/extras.h). */
static int local_host_extras(struct pv_local_host *lh, struct pv_plan *plan, struct pv_error *err) {
        struct pv_host_extras x;
        int r = pv_host_extras_load(lh->h, lh->profile, lh->node, lh->state, &x, err);
        if (r < 0)
                return r;
        r = pv_host_extras_plan(lh->profile, lh->node, lh->state, &x, plan, err);
        pv_host_extras_done(&x);
        return r;
}

int pv_local_host_plan(struct pv_local_host *lh, bool rebind, struct pv_plan *plan, struct pv_error *err) {
        if (!lh->spec)
                return 0;
        struct pv_host_plan_opts o = { .node = lh->node, .rebind = rebind, .inputs = &lh->inputs };
        size_t before_reboots = plan->n_reboots;
        /* the kernel arguments the node's VMs need (1 GiB huge pages) join the host section's own */
        struct pv_host_spec spec = *lh->spec;
        struct pv_strv kargs = PV_STRV_INIT;
        _cleanup_free_ struct pv_loc *locs = NULL;
        int r = 0;
        for (size_t i = 0; r == 0 && i < lh->spec->kernel_args.n; i++)
                r = pv_strv_push(&kargs, lh->spec->kernel_args.v[i], err);
        if (r == 0)
                r = pv_host_hugepages_args(lh->profile, lh->node, lh->spec, &kargs, plan, err);
        if (r == 0 && kargs.n > lh->spec->kernel_args.n) {
                locs = pv_xcalloc(kargs.n, sizeof *locs);
                for (size_t i = 0; r == 0 && i < kargs.n; i++)
                        locs[i] = i < lh->spec->kernel_args.n && lh->spec->kernel_arg_locs ? lh->spec->kernel_arg_locs[i]
                                                                                           : lh->spec->loc;
                spec.kernel_args = kargs;
                spec.kernel_arg_locs = locs;
        }
        if (r == 0)
                r = pv_host_plan_build(&spec, lh->state, &o, plan, err);
        pv_strv_done(&kargs);
        lh->readiness.node = lh->node;
        if (r == -PV_EUNSAFE) {
                /* the node's devices cannot be handed over safely: VMs there are blocked, the error is shown */
                add_reason(lh, pv_xasprintf("host configuration refused: %s", pv_error_message(err)));
                lh->readiness.all_devices = lh->reasons[lh->n_reasons - 1];
                return r;
        }
        if (r == 0)
                r = local_host_extras(lh, plan, err);
        if (r < 0)
                return r;
        if (plan->n_reboots > before_reboots) {
                /* the structured reason: the text without the node (the planner adds both lists) */
                const char *why = plan->reboots[before_reboots].text;
                add_reason(lh, pv_xasprintf("must reboot first: %s", why));
                lh->readiness.all_devices = lh->reasons[lh->n_reasons - 1];
        }
        return 0;
}

void pv_local_host_done(struct pv_local_host *lh) {
        if (!lh)
                return;
        free(lh->node);
        pv_host_state_free(lh->state);
        if (lh->have_inputs)
                pv_hostplan_inputs_done(&lh->inputs);
        pv_host_close(lh->h);
        free(lh->not_ready);
        for (size_t i = 0; i < lh->n_reasons; i++)
                free(lh->reasons[i]);
        free(lh->reasons);
        memset(lh, 0, sizeof *lh);
}

static int run_real(void *ud, const char *const argv[], struct pv_error *err) {
        (void)ud;
        pid_t pid;
        int r = posix_spawnp(&pid, argv[0], NULL, NULL, (char *const *)argv, environ);
        if (r != 0)
                return pv_error_set_errno(err, r, "cannot run '%s'", argv[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return pv_error_set_errno(err, errno, "waiting for '%s' failed", argv[0]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status))
                return pv_error_set(err, PV_EIO, "'%s' exited with status %d", argv[0], WEXITSTATUS(status));
        return pv_error_set(err, PV_EIO, "'%s' was killed by signal %d", argv[0], WTERMSIG(status));
}

static int run_record(void *ud, const char *const argv[], struct pv_error *err) {
        return pv_host_record_command(ud, argv, err);
}

void pv_local_runner(const struct pv_host *h, struct pv_runner *ret) {
        /* the running system's "/" by device and inode, however --root spelled it */
        if (pv_fs_is_real_root(h->dirfd))
                *ret = (struct pv_runner){ .run = run_real, .ud = NULL };
        else
                *ret = (struct pv_runner){ .run = run_record, .ud = (void *)h };
}
