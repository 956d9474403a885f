/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "hosts.h"

#include <stdlib.h>
#include <string.h>

#include "pvfio/xalloc.h"
#include "pvfio/util.h"
#include "pvfio/strv_json.h"

/* ------------------------------------------------------------ selection */

static int cmp_nodes(const void *a, const void *b) {
        const struct pv_host_node *x = a, *y = b;
        if (x->local != y->local)
                return x->local ? -1 : 1;
        return strcmp(x->node, y->node);
}

static bool spec_names(const struct pv_profile *p, const char *node) {
        for (size_t i = 0; i < p->n_hosts; i++)
                if (pv_strv_contains(&p->hosts[i].nodes, node))
                        return true;
        return false;
}

int pv_hosts_select(const struct pv_engine_events *ev, const struct pv_profile *p, const struct pv_strv *cluster_nodes,
                    const char *local_node, bool explicit_local, bool no_remote, struct pv_hosts *ret,
                    struct pv_error *err) {
        struct pv_hosts h;
        memset(&h, 0, sizeof h);
        struct pv_strv cand = PV_STRV_INIT;
        int r = 0;
        h.local_node = pv_xstrdup(local_node);
        bool member = !cluster_nodes || pv_strv_contains(cluster_nodes, local_node);
        if (explicit_local && !member)
                pv_engine_warn(ev, "node '%s' (--node) is not a node of the cluster: no host section is planned for it",
                        local_node);
        if (cluster_nodes) {
                for (size_t i = 0; r == 0 && i < cluster_nodes->n; i++)
                        r = pv_strv_push(&cand, cluster_nodes->v[i], err);
                for (size_t i = 0; r == 0 && i < p->n_hosts; i++)
                        for (size_t k = 0; k < p->hosts[i].nodes.n; k++) {
                                const char *n = p->hosts[i].nodes.v[k];
                                if (!pv_strv_contains(cluster_nodes, n) && r == 0)
                                        r = pv_error_set_loc(err, PV_EINVAL, &p->hosts[i].loc,
                                                             "host section names node '%s', which is not a node of "
                                                             "the cluster",
                                                             n);
                        }
        } else {
                for (size_t i = 0; r == 0 && i < p->n_hosts; i++)
                        for (size_t k = 0; r == 0 && k < p->hosts[i].nodes.n; k++)
                                if (!pv_strv_contains(&cand, p->hosts[i].nodes.v[k]))
                                        r = pv_strv_push(&cand, p->hosts[i].nodes.v[k], err);
        }
        if (r == 0 && member && !pv_strv_contains(&cand, local_node))
                r = pv_strv_push(&cand, local_node, err);
        if (r == 0 && cand.n)
                h.v = pv_xcalloc(cand.n, sizeof *h.v);
        for (size_t i = 0; r == 0 && i < cand.n; i++) {
                const char *n = cand.v[i];
                bool local = member && !strcmp(n, local_node);
                if (!pv_profile_host_for_node(p, n) || (no_remote && !local))
                        continue;
                /* `nodes: all` of a host-only profile means the local node only */
                if (!cluster_nodes && !local && !spec_names(p, n))
                        continue;
                struct pv_host_node *hn = &h.v[h.n];
                hn->node = pv_xstrdup(n);
                hn->local = local;
                h.have_local |= local;
                h.n++;
        }
        pv_strv_done(&cand);
        if (r < 0) {
                pv_hosts_done(&h);
                return r;
        }
        if (h.n)
                qsort(h.v, h.n, sizeof *h.v, cmp_nodes);
        *ret = h;
        return 0;
}

struct pv_host_node *pv_hosts_find(struct pv_hosts *h, const char *node) {
        for (size_t i = 0; node && i < h->n; i++)
                if (!strcmp(h->v[i].node, node))
                        return &h->v[i];
        return NULL;
}

size_t pv_hosts_failed(const struct pv_hosts *h) {
        size_t n = 0;
        for (size_t i = 0; i < h->n; i++)
                n += h->v[i].failed;
        return n;
}

/* ------------------------------------------------------------ SSH rounds */

static void *round_main(void *userdata) {
        struct pv_hosts *h = userdata;
        h->round_rc = pv_remote_run(h->round, h->n_round, h->parallel, &h->round_err);
        h->round_ns = pv_now_ns() - h->round_start_ns;
        return NULL;
}

int pv_hosts_start_remote(struct pv_hosts *h, const struct pv_profile *p, const char *profile_text,
                          size_t profile_len, const struct pv_remote_opts *o, unsigned parallel, unsigned timeout_s,
                          const struct pv_strv *only, struct pv_error *err) {
        if (h->thread_running)
                return pv_error_set(err, PV_EINVAL, "an SSH round is still running");
        free(h->round);
        h->round = pv_xcalloc(h->n ? h->n : 1, sizeof *h->round);
        h->n_round = 0;
        h->round_rc = 0;
        h->round_ns = 0;
        pv_error_done(&h->round_err);
        for (size_t i = 0; i < h->n; i++) {
                struct pv_host_node *hn = &h->v[i];
                if (hn->local || hn->failed || (only && !pv_strv_contains(only, hn->node)))
                        continue;
                if (hn->remote) {
                        pv_remote_done(hn->remote);
                        free(hn->remote);
                        hn->remote = NULL;
                }
                struct pv_remote *r = pv_xcalloc(1, sizeof *r);
                struct pv_error e = PV_ERROR_INIT;
                if (pv_remote_prepare(r, p, hn->node, o, profile_text, profile_len, timeout_s, &e) < 0) {
                        /* a bad address in the profile fails this node, not the run */
                        hn->failed = true;
                        free(hn->error);
                        hn->error = pv_asprintf(NULL, "node '%s': %s", hn->node, pv_error_message(&e));
                        pv_error_done(&e);
                        free(r);
                        continue;
                }
                hn->remote = r;
                h->round[h->n_round++] = r;
        }
        h->parallel = parallel ? parallel
                               : p->cluster.ssh.parallel ? p->cluster.ssh.parallel : PV_SSH_DEFAULT_PARALLEL;
        h->round_start_ns = pv_now_ns();
        if (h->n_round == 0)
                return 0;
        if (pthread_create(&h->thread, NULL, round_main, h) == 0) {
                h->thread_running = true;
                return 0;
        }
        round_main(h); /* no thread: run it here (the API work then follows it) */
        return 0;
}

int pv_hosts_wait_remote(struct pv_hosts *h, enum pv_remote_op op, struct pv_error *err) {
        if (h->thread_running) {
                pthread_join(h->thread, NULL);
                h->thread_running = false;
        }
        if (h->round_rc < 0) {
                pv_error_move(err, &h->round_err);
                return h->round_rc;
        }
        for (size_t i = 0; i < h->n; i++) {
                struct pv_host_node *hn = &h->v[i];
                bool in_round = false;
                for (size_t k = 0; k < h->n_round; k++)
                        in_round |= h->round[k] == hn->remote && hn->remote;
                if (!in_round)
                        continue;
                pv_remote_collect(hn->remote, op);
                hn->plan_ns = hn->remote->proc.elapsed_ns;
                if (!hn->remote->ok) {
                        hn->failed = true;
                        free(hn->error);
                        hn->error = strdup(hn->remote->error ? hn->remote->error : "failed");
                }
        }
        h->n_round = 0; /* collected once; the next wait without a new round finds nothing */
        return 0;
}

/* ------------------------------------------------------------ merging */

int pv_host_node_set_reasons(struct pv_host_node *hn, char *const *reasons, size_t n, struct pv_error *err) {
        pv_strv_done(&hn->reboot_reasons);
        size_t nl = strlen(hn->node);
        for (size_t i = 0; i < n; i++) {
                const char *why = reasons[i];
                if (!strncmp(why, hn->node, nl) && !strncmp(why + nl, ": ", 2))
                        why += nl + 2;
                pv_strv_push(&hn->reboot_reasons, why, err);   /* does not fail (pvfio/xalloc.h) */
        }
        return 0;
}

int pv_host_node_set_reboots(struct pv_host_node *hn, const struct pv_plan *src, struct pv_error *err) {
        if (src->n_reboots != src->n_reboot_reasons) /* format_version 1 remote: only "NODE: why" strings */
                return pv_host_node_set_reasons(hn, src->reboot_reasons, src->n_reboot_reasons, err);
        pv_strv_done(&hn->reboot_reasons);
        for (size_t i = 0; i < src->n_reboots; i++) {
                const struct pv_reboot_reason *rr = &src->reboots[i];
                bool other = rr->node && strcmp(rr->node, hn->node);
                pv_strv_push_take(&hn->reboot_reasons,
                                  other ? pv_xasprintf("%s: %s", rr->node, rr->text) : pv_xstrdup(rr->text), err);
        }
        return 0;
}

int pv_hosts_merge(struct pv_hosts *h, struct pv_plan *local, struct pv_plan *plan, struct pv_error *err) {
        for (size_t i = 0; i < h->n; i++) {
                struct pv_host_node *hn = &h->v[i];
                struct pv_plan *src = hn->local ? local : hn->remote && hn->remote->ok ? &hn->remote->plan : NULL;
                hn->first = plan->n;
                hn->count = 0;
                if (!src)
                        continue;
                pv_host_node_set_reboots(hn, src, err);         /* these do not fail (pvfio/xalloc.h) */
                if (!hn->local)
                        for (size_t k = 0; k < hn->remote->remote_warnings.n; k++)
                                pv_plan_add_warning(src, pv_xasprintf("%s: %s", hn->node, hn->remote->remote_warnings.v[k]),
                                                    err);
                pv_plan_append(plan, src, err);
                hn->count = plan->n - hn->first;
        }
        return 0;
}

/* Is b (from a node's apply result) the action a (from its plan)? By stable key; a format_version 1
 * remote sends no keys, so its actions are matched by kind and target as before. */
static bool same_action(const struct pv_action *a, const struct pv_action *b) {
        if (a->key && b->key)
                return !strcmp(a->key, b->key);
        return b->kind == a->kind && !strcmp(b->target ? b->target : "", a->target ? a->target : "");
}

void pv_hosts_take_apply_results(struct pv_hosts *h, struct pv_plan *plan) {
        for (size_t i = 0; i < h->n; i++) {
                struct pv_host_node *hn = &h->v[i];
                if (hn->local || !hn->count)
                        continue;
                struct pv_remote *r = hn->remote;
                bool ok = r && r->ok && !hn->failed;
                bool *used = ok && r->plan.n ? calloc(r->plan.n, sizeof *used) : NULL;
                for (size_t k = hn->first; k < hn->first + hn->count; k++) {
                        struct pv_action *a = &plan->actions[k];
                        free(a->error);
                        a->error = NULL;
                        if (!ok) {
                                a->status = PV_ACT_FAILED;
                                a->error = strdup(hn->error ? hn->error : "not applied");
                                continue;
                        }
                        struct pv_action *m = NULL;
                        for (size_t j = 0; j < r->plan.n && !m; j++) {
                                struct pv_action *b = &r->plan.actions[j];
                                if ((!used || !used[j]) && same_action(a, b)) {
                                        m = b;
                                        if (used)
                                                used[j] = true;
                                }
                        }
                        if (!m) {
                                a->status = PV_ACT_SKIPPED;
                                a->error = pv_asprintf(NULL, "node '%s' no longer needed it when it applied its plan",
                                                       hn->node);
                                continue;
                        }
                        a->status = m->status;
                        a->error = m->error ? strdup(m->error) : NULL;
                }
                for (size_t j = 0; ok && j < r->plan.n; j++)
                        if (!used || !used[j]) {
                                const struct pv_action *b = &r->plan.actions[j];
                                pv_plan_add_warning(plan,
                                                    pv_asprintf(NULL, "%s: also %s %s %s (its state changed after the plan)",
                                                                hn->node, pv_action_status_to_string(b->status),
                                                                pv_action_kind_to_string(b->kind),
                                                                b->target ? b->target : ""),
                                                    NULL);
                        }
                free(used);
        }
}

/* ------------------------------------------------------------ readiness */

int pv_hosts_readiness(struct pv_hosts *h, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        free(h->ready);
        h->ready = NULL;
        h->n_ready = 0;
        if (!h->n)
                return 0;
        h->ready = pv_xcalloc(h->n, sizeof *h->ready);
        for (size_t i = 0; i < h->n; i++) {
                struct pv_host_node *hn = &h->v[i];
                free(hn->not_ready);
                hn->not_ready = NULL;
                if (hn->local && h->lh.spec && !hn->failed) {
                        h->ready[h->n_ready++] = h->lh.readiness;
                        continue;
                }
                if (hn->failed)
                        hn->not_ready = pv_xasprintf("its host configuration could not be checked (%s)",
                                                     hn->error ? hn->error : "failed");
                else if (hn->reboot_reasons.n)
                        hn->not_ready = pv_xasprintf("must reboot first: %s", hn->reboot_reasons.v[0]);
                h->ready[h->n_ready++] = (struct pv_node_readiness){ .node = hn->node, .all_devices = hn->not_ready };
        }
        return 0;
}

/* ------------------------------------------------------------ output */

json_t *pv_hosts_json(const struct pv_hosts *h) {
        json_t *a = json_array();
        for (size_t i = 0; i < h->n; i++) {
                const struct pv_host_node *hn = &h->v[i];
                json_t *reasons = pv_strv_to_json(&hn->reboot_reasons);
                json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:I, s:b, s:o, s:f}", "node", hn->node, "via",
                                      hn->local ? "local" : "ssh", "status", hn->failed ? "failed" : "ok", "error",
                                      hn->error ? json_string(hn->error) : json_null(), "actions", (json_int_t)hn->count,
                                      "reboot_required", hn->reboot_reasons.n > 0, "reboot_reasons", reasons, "seconds",
                                      (double)hn->plan_ns / 1e9);
                if (hn->remote && hn->remote->info.pvfio_version)
                        json_object_set_new(o, "pvfio_version", json_string(hn->remote->info.pvfio_version));
                json_array_append_new(a, o);
        }
        return a;
}

void pv_hosts_done(struct pv_hosts *h) {
        if (!h)
                return;
        if (h->thread_running) {
                pthread_join(h->thread, NULL);
                h->thread_running = false;
        }
        for (size_t i = 0; i < h->n; i++) {
                struct pv_host_node *hn = &h->v[i];
                free(hn->node);
                if (hn->remote) {
                        pv_remote_done(hn->remote);
                        free(hn->remote);
                }
                free(hn->error);
                pv_strv_done(&hn->reboot_reasons);
                free(hn->not_ready);
        }
        free(h->v);
        free(h->local_node);
        pv_local_host_done(&h->lh);
        free(h->round);
        pv_error_done(&h->round_err);
        free(h->ready);
        memset(h, 0, sizeof *h);
}
