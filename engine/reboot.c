/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "reboot.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvfio/xalloc.h"
#include "pvfio/buf.h"
#include "pvfio/util.h"

const char *pv_reboot_status_to_string(enum pv_reboot_status s) {
        switch (s) {
        case PV_REBOOT_DONE: return "done";
        case PV_REBOOT_FAILED: return "failed";
        case PV_REBOOT_REFUSED: return "refused";
        case PV_REBOOT_SKIPPED: return "skipped";
        case PV_REBOOT_SELF: return "requested";
        }
        return "?";
}

void pv_reboot_report_done(struct pv_reboot_report *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n; i++) {
                free(r->v[i].node);
                free(r->v[i].message);
        }
        free(r->v);
        memset(r, 0, sizeof *r);
}

/* Record a node's outcome (takes msg). */
static int add_result(struct pv_reboot_report *r, const char *node, enum pv_reboot_status st, char *msg,
                      double seconds, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        struct pv_reboot_result *v = r->v = pv_xreallocarray(r->v, r->n + 1, sizeof *v);
        v[r->n++] = (struct pv_reboot_result){ .node = pv_xstrdup(node), .status = st, .message = msg, .seconds = seconds };
        r->failed += st == PV_REBOOT_FAILED;
        r->refused += st == PV_REBOOT_REFUSED;
        return 0;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0)
                ;
}

static void say(const struct pv_engine_events *ev, const char *fmt, const char *a, const char *b) {
        pv_engine_progress(ev, fmt, a, b);
}

static bool apply_failed(const struct pv_plan *plan, const struct pv_host_node *hn) {
        for (size_t k = hn->first; k < hn->first + hn->count && k < plan->n; k++)
                if (plan->actions[k].status == PV_ACT_FAILED || plan->actions[k].status == PV_ACT_SKIPPED)
                        return true;
        return false;
}

/* "'name' (vmid), …" of the running VMs on node that the profile does not name; NULL when none. */
static char *unmanaged_running(const struct pv_profile *p, const struct pv_vm_info *vms, size_t n, const char *node) {
        struct pv_buf b = PV_BUF_INIT_CAP(64 * 1024);
        for (size_t i = 0; i < n; i++) {
                const struct pv_vm_info *v = &vms[i];
                if (!v->node || strcmp(v->node, node) || !v->status || strcmp(v->status, "running") || v->is_template)
                        continue;
                if (v->name && pv_profile_find_vm(p, v->name))
                        continue;
                if (pv_buf_addf(&b, NULL, "%s'%s' (%u)", b.len ? ", " : "", v->name ? v->name : "?", v->vmid) < 0)
                        break;
        }
        char *s = NULL;
        if (b.len)
                pv_buf_detach(&b, &s, NULL, NULL);
        pv_buf_release(&b);
        return s;
}

static const struct pv_node_uptime *find_up(const struct pv_node_uptime *v, size_t n, const char *node) {
        for (size_t i = 0; i < n; i++)
                if (v[i].node && !strcmp(v[i].node, node))
                        return &v[i];
        return NULL;
}

static void free_resources(struct pv_node_info *nodes, size_t nn, struct pv_vm_info *vms, size_t nv) {
        for (size_t i = 0; i < nn; i++)
                pv_node_info_done(&nodes[i]);
        free(nodes);
        for (size_t i = 0; i < nv; i++)
                pv_vm_info_done(&vms[i]);
        free(vms);
}

static bool confirm_self(const struct pv_engine_events *ev, const char *node) {
        return pv_engine_confirm(ev, "Node '%s' is the node pvfio runs on. Reboot it (last, without waiting for it)?",
                                 node);
}

/* One node of the current batch. */
struct pending {
        struct pv_host_node *hn;
        uint64_t uptime_before;
        uint64_t t_request;
        bool requested, seen_down, back, checked;
        char *error;
};

/* Wait until every requested node of the batch is back online (or the deadline). */
static void wait_back(const struct pv_engine_events *ev, struct pv_api *api, struct pending *pv, size_t n, uint64_t deadline,
                      unsigned poll_ms) {
        for (;;) {
                bool all = true;
                for (size_t i = 0; i < n; i++)
                        all &= !pv[i].requested || pv[i].back;
                if (all || pv_now_ns() >= deadline)
                        return;
                sleep_ms(poll_ms);
                struct pv_node_uptime *nodes = NULL;
                size_t nn = 0;
                struct pv_error e = PV_ERROR_INIT;
                if (pv_api_node_uptimes(api, &nodes, &nn, &e) < 0) {
                        /* the API may live on a node that is rebooting: keep trying */
                        pv_log_debug(pv_engine_log(ev), "while waiting for the reboot: %s", pv_error_message(&e));
                        pv_error_done(&e);
                        continue;
                }
                for (size_t i = 0; i < n; i++) {
                        if (!pv[i].requested || pv[i].back)
                                continue;
                        const struct pv_node_uptime *ni = find_up(nodes, nn, pv[i].hn->node);
                        bool online = ni && ni->online;
                        if (!online)
                                pv[i].seen_down = true;
                        else if (pv[i].seen_down || (pv[i].uptime_before && ni->uptime && ni->uptime < pv[i].uptime_before))
                                pv[i].back = true;
                }
                pv_node_uptimes_free(nodes, nn);
        }
}

/* Re-run the host plan of the nodes that are back until none needs a reboot any more (or the deadline). */
static int host_check(const struct pv_engine_events *ev, const struct pv_profile *p, struct pv_hosts *h, struct pending *pv, size_t n,
                      uint64_t deadline, const struct pv_reboot_opts *o, struct pv_error *err) {
        for (;;) {
                struct pv_strv only = PV_STRV_INIT;
                for (size_t i = 0; i < n; i++)
                        if (pv[i].back && !pv[i].checked) {
                                pv_strv_push(&only, pv[i].hn->node, err); /* does not fail (pvfio/xalloc.h) */
                                pv[i].hn->failed = false; /* a failed attempt (sshd not up yet) is retried */
                                free(pv[i].hn->error);
                                pv[i].hn->error = NULL;
                        }
                if (!only.n) {
                        pv_strv_done(&only);
                        return 0;
                }
                struct pv_remote_opts ro = { .op = PV_REMOTE_PLAN, .rebind = o->rebind };
                int r = pv_hosts_start_remote(h, p, o->profile_text, o->profile_len, &ro, o->ssh_parallel,
                                              o->ssh_timeout_s, &only, err);
                if (r == 0)
                        r = pv_hosts_wait_remote(h, PV_REMOTE_PLAN, err);
                pv_strv_done(&only);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++) {
                        struct pending *x = &pv[i];
                        if (!x->back || x->checked)
                                continue;
                        struct pv_host_node *hn = x->hn;
                        free(x->error);
                        x->error = NULL;
                        if (hn->failed) {
                                x->error = pv_asprintf(NULL, "back online, but the host check failed: %s",
                                                       hn->error ? hn->error : "?");
                                continue;
                        }
                        struct pv_plan *rp = &hn->remote->plan;
                        pv_host_node_set_reboots(hn, rp, err);    /* does not fail (pvfio/xalloc.h) */
                        if (hn->reboot_reasons.n) {
                                x->error = pv_asprintf(NULL, "back online, but it still needs a reboot: %s",
                                                       hn->reboot_reasons.v[0]);
                                continue;
                        }
                        if (rp->n)
                                pv_engine_warn(ev, "node '%s' came back with %zu host change%s to make: run 'pvfio apply' "
                                             "again", hn->node, rp->n, rp->n == 1 ? "" : "s");
                        x->checked = true;
                }
                bool all = true;
                for (size_t i = 0; i < n; i++)
                        all &= !pv[i].back || pv[i].checked;
                if (all || pv_now_ns() >= deadline)
                        return 0;
                sleep_ms(o->poll_ms);
        }
}

int pv_rolling_reboot(const struct pv_engine_events *ev, struct pv_api *api, const struct pv_profile *p, struct pv_hosts *h,
                          const struct pv_plan *plan, const struct pv_reboot_opts *o, struct pv_reboot_report *ret,
                          struct pv_error *err) {
        struct pv_reboot_report rep = { 0 };
        struct pv_host_node **queue = pv_xcalloc(h->n ? h->n : 1, sizeof *queue);
        struct pending *pv = pv_xcalloc(h->n ? h->n : 1, sizeof *pv);
        struct pv_node_info *nodes = NULL;
        struct pv_vm_info *vms = NULL;
        size_t nq = 0, nn = 0, nv = 0;
        struct pv_host_node *self = NULL;
        int r = 0;
        /* which nodes may be rebooted */
        bool have_candidates = false;
        for (size_t i = 0; i < h->n; i++)
                have_candidates |= h->v[i].reboot_reasons.n && !h->v[i].failed;
        if (have_candidates && (r = pv_api_cluster_resources(api, &nodes, &nn, &vms, &nv, err)) < 0) {
                pv_error_wrap(err, "cannot read the cluster before rebooting");
                goto out;
        }
        for (size_t i = 0; i < h->n && r == 0; i++) {
                struct pv_host_node *hn = &h->v[i];
                if (!hn->reboot_reasons.n || hn->failed)
                        continue;
                if (apply_failed(plan, hn)) {
                        r = add_result(&rep, hn->node, PV_REBOOT_SKIPPED,
                                       pv_asprintf(NULL, "not all of its host changes were applied"), 0, err);
                        continue;
                }
                _cleanup_free_ char *others = unmanaged_running(p, vms, nv, hn->node);
                if (others && !o->force) {
                        r = add_result(&rep, hn->node, PV_REBOOT_REFUSED,
                                       pv_asprintf(NULL, "it runs VMs the profile does not manage: %s; shut them down "
                                                         "or migrate them, or pass --force",
                                                   others),
                                       0, err);
                        continue;
                }
                if (hn->local) {
                        if (o->self || (o->ask_self && confirm_self(ev, hn->node)))
                                self = hn;
                        else
                                r = add_result(&rep, hn->node, PV_REBOOT_SKIPPED,
                                               pv_asprintf(NULL, "it is the node pvfio runs on: reboot it yourself, or "
                                                                 "pass --reboot-self"),
                                               0, err);
                        continue;
                }
                queue[nq++] = hn;
        }
        /* batches of o->parallel nodes */
        unsigned per = o->parallel ? o->parallel : 1;
        for (size_t b = 0; r == 0 && b < nq && rep.failed == 0; b += per) {
                size_t n = nq - b < per ? nq - b : per;
                memset(pv, 0, n * sizeof *pv);
                struct pv_node_uptime *now_nodes = NULL;
                size_t now_n = 0;
                struct pv_error e = PV_ERROR_INIT;
                if (pv_api_node_uptimes(api, &now_nodes, &now_n, &e) < 0)
                        pv_error_done(&e); /* uptime unknown: the offline phase decides */
                for (size_t i = 0; i < n; i++) {
                        struct pending *x = &pv[i];
                        x->hn = queue[b + i];
                        const struct pv_node_uptime *ni = find_up(now_nodes, now_n, x->hn->node);
                        x->uptime_before = ni ? ni->uptime : 0;
                        say(ev, "Rebooting node '%s': %s", x->hn->node, x->hn->reboot_reasons.v[0]);
                        x->t_request = pv_now_ns();
                        if (pv_api_node_reboot(api, x->hn->node, &e) < 0) {
                                x->error = pv_asprintf(NULL, "the reboot request failed: %s", pv_error_message(&e));
                                pv_error_done(&e);
                                continue;
                        }
                        x->requested = true;
                }
                pv_node_uptimes_free(now_nodes, now_n);
                uint64_t deadline = pv_now_ns() + (uint64_t)(o->timeout_s ? o->timeout_s : PV_REBOOT_DEFAULT_TIMEOUT_S) *
                                                          1000000000ull;
                unsigned poll = o->poll_ms ? o->poll_ms : PV_REBOOT_POLL_MS;
                wait_back(ev, api, pv, n, deadline, poll);
                for (size_t i = 0; i < n; i++)
                        if (pv[i].back)
                                say(ev, "Node '%s' is back online; checking its host configuration%s", pv[i].hn->node, "");
                struct pv_reboot_opts oo = *o;
                oo.poll_ms = poll;
                r = host_check(ev, p, h, pv, n, deadline, &oo, err);
                struct pv_strv rebooted = PV_STRV_INIT;
                for (size_t i = 0; r == 0 && i < n; i++) {
                        struct pending *x = &pv[i];
                        double secs = (double)(pv_now_ns() - x->t_request) / 1e9;
                        if (x->requested && !x->back && !x->error)
                                x->error = pv_asprintf(NULL, "did not come back online within %u s (--reboot-timeout)",
                                                       o->timeout_s ? o->timeout_s : PV_REBOOT_DEFAULT_TIMEOUT_S);
                        if (x->checked) {
                                r = add_result(&rep, x->hn->node, PV_REBOOT_DONE, NULL, secs, err);
                                if (r == 0)
                                        r = pv_strv_push(&rebooted, x->hn->node, err);
                        } else {
                                /* keep its VMs blocked in the re-plan, with the reason */
                                x->hn->failed = true;
                                free(x->hn->error);
                                x->hn->error = pv_asprintf(NULL, "node '%s': %s", x->hn->node, x->error ? x->error : "?");
                                r = add_result(&rep, x->hn->node, PV_REBOOT_FAILED, x->error, secs, err);
                                x->error = NULL;
                        }
                }
                for (size_t i = 0; i < n; i++) {
                        free(pv[i].error);
                        pv[i].error = NULL;
                }
                if (r == 0 && rebooted.n && o->after_batch) {
                        int f = o->after_batch(o->userdata, &rebooted);
                        if (f < 0)
                                r = f;
                        else
                                rep.followup_failed += (size_t)f;
                }
                pv_strv_done(&rebooted);
        }
        if (r == 0 && self && rep.failed == 0) {
                say(ev, "Rebooting node '%s', the node pvfio runs on, now; run 'pvfio apply' again when it is back "
                         "to finish what waits for it%s",
                    self->node, "");
                struct pv_error e = PV_ERROR_INIT;
                if (pv_api_node_reboot(api, self->node, &e) < 0) {
                        r = add_result(&rep, self->node, PV_REBOOT_FAILED,
                                       pv_asprintf(NULL, "the reboot request failed: %s", pv_error_message(&e)), 0, err);
                        pv_error_done(&e);
                } else {
                        r = add_result(&rep, self->node, PV_REBOOT_SELF, NULL, 0, err);
                }
        } else if (r == 0 && self) {
                r = add_result(&rep, self->node, PV_REBOOT_SKIPPED,
                               pv_asprintf(NULL, "not rebooted because the rolling reboot stopped at a failed node"), 0,
                               err);
        }
        /* nodes left in the queue after a failure */
        for (size_t i = 0; r == 0 && i < nq; i++) {
                bool seen = false;
                for (size_t k = 0; k < rep.n; k++)
                        seen |= !strcmp(rep.v[k].node, queue[i]->node);
                if (!seen)
                        r = add_result(&rep, queue[i]->node, PV_REBOOT_SKIPPED,
                                       pv_asprintf(NULL, "not rebooted because the rolling reboot stopped at a failed "
                                                         "node"),
                                       0, err);
        }
out:
        free_resources(nodes, nn, vms, nv);
        free(queue);
        free(pv);
        if (r < 0) {
                pv_reboot_report_done(&rep);
                return r;
        }
        *ret = rep;
        return 0;
}


json_t *pv_reboot_report_json(const struct pv_reboot_report *r) {
        json_t *a = json_array();
        for (size_t i = 0; i < r->n; i++) {
                const struct pv_reboot_result *x = &r->v[i];
                json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:f}", "node", x->node, "status",
                                                   pv_reboot_status_to_string(x->status), "message",
                                                   x->message ? json_string(x->message) : json_null(), "seconds",
                                                   x->seconds));
        }
        return a;
}
