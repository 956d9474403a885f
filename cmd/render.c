/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plan rendering: human text (unified diffs for files, key-by-key for VMs and
 * mappings) and the stable, versioned JSON document. */
#include "render.h"

#include <stdlib.h>
#include <string.h>

#include "pvfio/plan.h"
#include "pvfio/planjson.h"

/* ---- line splitting + a small LCS diff (files are short: config snippets) ---- */

struct lines {
        const char **v;
        size_t *len;
        size_t n;
};

static int split_lines(const char *s, struct lines *ret) {
        memset(ret, 0, sizeof *ret);
        if (!s || !*s)
                return 0;
        size_t cap = 1;
        for (const char *p = s; *p; p++)
                cap += *p == '\n';
        ret->v = calloc(cap, sizeof *ret->v);
        ret->len = calloc(cap, sizeof *ret->len);
        if (!ret->v || !ret->len)
                return -1;
        const char *p = s;
        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t l = nl ? (size_t)(nl - p) : strlen(p);
                ret->v[ret->n] = p;
                ret->len[ret->n++] = l;
                p += l + (nl ? 1 : 0);
        }
        return 0;
}

static void free_lines(struct lines *l) {
        free(l->v);
        free(l->len);
}

static bool line_eq(const struct lines *a, size_t i, const struct lines *b, size_t j) {
        return a->len[i] == b->len[j] && memcmp(a->v[i], b->v[j], a->len[i]) == 0;
}

enum { OP_SAME, OP_DEL, OP_ADD };

/* Print a unified diff (3 lines of context) of before → after. Falls back to
 * printing both sides whole when the files are too large for the LCS table. */
static void print_diff(struct pv_ctx *ctx, const char *path, const char *before, const char *after) {
        FILE *f = ctx->out;
        struct lines a, b;
        if (split_lines(before, &a) < 0 || split_lines(after, &b) < 0) {
                free_lines(&a);
                free_lines(&b);
                return;
        }
        const char *red = pv_c(ctx, f, PV_C_RED), *green = pv_c(ctx, f, PV_C_GREEN),
                   *dim = pv_c(ctx, f, PV_C_BLUE), *rst = pv_c(ctx, f, PV_C_RESET);
        fprintf(f, "    %s--- %s%s%s\n", dim, before ? "a/" : "", before ? path : "/dev/null", rst);
        fprintf(f, "    %s+++ %s%s%s\n", dim, after ? "b/" : "", after ? path : "/dev/null", rst);
        size_t n = a.n, m = b.n;
        if ((n + 1) * (m + 1) > 4u * 1024 * 1024) {
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "    %s-%.*s%s\n", red, (int)a.len[i], a.v[i], rst);
                for (size_t j = 0; j < m; j++)
                        fprintf(f, "    %s+%.*s%s\n", green, (int)b.len[j], b.v[j], rst);
                free_lines(&a);
                free_lines(&b);
                return;
        }
        unsigned *t = calloc((n + 1) * (m + 1), sizeof *t);
        int *ops = calloc(n + m + 1, sizeof *ops);
        size_t *oi = calloc(n + m + 1, sizeof *oi), *oj = calloc(n + m + 1, sizeof *oj);
        if (!t || !ops || !oi || !oj)
                goto out;
#define T(i, j) t[(i) * (m + 1) + (j)]
        for (size_t i = n; i-- > 0;)
                for (size_t j = m; j-- > 0;)
                        T(i, j) = line_eq(&a, i, &b, j) ? T(i + 1, j + 1) + 1
                                  : T(i + 1, j) >= T(i, j + 1) ? T(i + 1, j) : T(i, j + 1);
        size_t k = 0, i = 0, j = 0;
        while (i < n || j < m) {
                if (i < n && j < m && line_eq(&a, i, &b, j)) {
                        ops[k] = OP_SAME, oi[k] = i++, oj[k++] = j++;
                } else if (i < n && (j == m || T(i + 1, j) >= T(i, j + 1))) {
                        ops[k] = OP_DEL, oi[k] = i++, oj[k++] = j; /* deletions first, as diff -u prints them */
                } else {
                        ops[k] = OP_ADD, oi[k] = i, oj[k++] = j++;
                }
        }
#undef T
        /* hunks: runs of changes with up to 3 lines of context around them */
        size_t p = 0;
        while (p < k) {
                while (p < k && ops[p] == OP_SAME)
                        p++;
                if (p >= k)
                        break;
                size_t start = p >= 3 ? p - 3 : 0, end = p;
                for (;;) {
                        while (end < k && ops[end] != OP_SAME)
                                end++;
                        size_t same = 0;
                        while (end + same < k && ops[end + same] == OP_SAME && same < 7)
                                same++;
                        if (end + same < k && same < 7) {
                                end += same;
                                continue;
                        }
                        end = end + (same < 3 ? same : 3);
                        break;
                }
                size_t a0 = oi[start], b0 = oj[start], ac = 0, bc = 0;
                for (size_t q = start; q < end; q++) {
                        ac += ops[q] != OP_ADD;
                        bc += ops[q] != OP_DEL;
                }
                fprintf(f, "    %s@@ -%zu,%zu +%zu,%zu @@%s\n", dim, ac ? a0 + 1 : a0, ac, bc ? b0 + 1 : b0, bc, rst);
                for (size_t q = start; q < end; q++) {
                        if (ops[q] == OP_SAME)
                                fprintf(f, "     %.*s\n", (int)a.len[oi[q]], a.v[oi[q]]);
                        else if (ops[q] == OP_DEL)
                                fprintf(f, "    %s-%.*s%s\n", red, (int)a.len[oi[q]], a.v[oi[q]], rst);
                        else
                                fprintf(f, "    %s+%.*s%s\n", green, (int)b.len[oj[q]], b.v[oj[q]], rst);
                }
                p = end;
        }
out:
        free(t);
        free(ops);
        free(oi);
        free(oj);
        free_lines(&a);
        free_lines(&b);
}

static char marker(const struct pv_action *a) {
        return (char)pv_action_change(a);
}

static void print_action(struct pv_ctx *ctx, const struct pv_action *a, bool apply_view) {
        FILE *f = ctx->out;
        char m = marker(a);
        const char *col = m == '+' ? PV_C_GREEN : m == '-' ? PV_C_RED : PV_C_YELLOW;
        const char *rst = pv_c(ctx, f, PV_C_RESET);
        fprintf(f, "  %s%c %s%s", pv_c(ctx, f, col), m, pv_action_kind_to_string(a->kind), rst);
        fprintf(f, " %s%s%s", pv_c(ctx, f, PV_C_BOLD), a->target ? a->target : "", rst);
        if (a->node && !pv_action_is_host(a->kind))
                fprintf(f, " on %s", a->node);
        if (a->vmid)
                fprintf(f, " (vmid %u)", a->vmid);
        if (apply_view && a->status != PV_ACT_PLANNED)
                fprintf(f, " [%s]", pv_action_status_to_string(a->status));
        fputc('\n', f);
        if (a->reason)
                fprintf(f, "      %s# %s%s\n", pv_c(ctx, f, PV_C_DIM), a->reason, rst);
        if (a->unsafe)
                fprintf(f, "      %s! unsafe change, accepted in the profile%s\n", pv_c(ctx, f, PV_C_RED), rst);
        if (a->blocked)
                fprintf(f, "      %sblocked: %s%s\n", pv_c(ctx, f, PV_C_RED), a->blocked, rst);
        if (a->error)
                fprintf(f, "      %sfailed: %s%s\n", pv_c(ctx, f, PV_C_RED), a->error, rst);
        if (apply_view)
                return; /* the result view: one line per action, its status and error; the plan showed the details */
        switch (a->kind) {
        case PV_ACT_WRITE_FILE:
        case PV_ACT_EDIT_FILE:
        case PV_ACT_REMOVE_FILE:
                print_diff(ctx, a->target ? a->target : "?", a->before, a->kind == PV_ACT_REMOVE_FILE ? NULL : a->after);
                break;
        case PV_ACT_INSTALL_FILE:
                /* binary content: its size and SHA-256, never the bytes */
                if (a->before)
                        fprintf(f, "      %s- %s%s\n", pv_c(ctx, f, PV_C_RED), a->before, rst);
                if (a->after)
                        fprintf(f, "      %s+ %s%s\n", pv_c(ctx, f, PV_C_GREEN), a->after, rst);
                break;
        case PV_ACT_RUN_COMMAND:
        case PV_ACT_REBIND_DEVICE:
        case PV_ACT_SET_SRIOV:
                if (a->after)
                        fprintf(f, "      $ %s\n", a->after);
                break;
        default:
                break;
        }
        for (size_t i = 0; i < a->n_keys; i++) {
                const struct pv_key_change *k = &a->keys[i];
                char km = !k->before ? '+' : !k->after ? '-' : '~';
                const char *kc = km == '+' ? PV_C_GREEN : km == '-' ? PV_C_RED : PV_C_YELLOW;
                fprintf(f, "      %s%c%s %s: ", pv_c(ctx, f, kc), km, rst, k->key);
                if (k->before && k->after)
                        fprintf(f, "%s → %s", k->before, k->after);
                else
                        fprintf(f, "%s", k->after ? k->after : k->before);
                if (k->pending_until_restart)
                        fprintf(f, "  %s(pending until the VM is restarted)%s", pv_c(ctx, f, PV_C_YELLOW), rst);
                fputc('\n', f);
        }
}

static bool same_node(const char *a, const char *b) {
        return a == b || (a && b && !strcmp(a, b));
}

/* Host actions, one section per node in the order the nodes first appear. */
static void print_host_sections(struct pv_ctx *ctx, const struct pv_plan *plan, bool apply_view) {
        FILE *f = ctx->out;
        for (size_t i = 0; i < plan->n; i++) {
                const struct pv_action *a = &plan->actions[i];
                if (!pv_action_is_host(a->kind))
                        continue;
                bool seen = false;
                for (size_t k = 0; k < i && !seen; k++)
                        seen = pv_action_is_host(plan->actions[k].kind) && same_node(plan->actions[k].node, a->node);
                if (seen)
                        continue;
                fprintf(f, "%sHost configuration%s%s%s:\n", pv_c(ctx, f, PV_C_BOLD), a->node ? " on " : "",
                        a->node ? a->node : "", pv_c(ctx, f, PV_C_RESET));
                for (size_t k = i; k < plan->n; k++)
                        if (pv_action_is_host(plan->actions[k].kind) && same_node(plan->actions[k].node, a->node))
                                print_action(ctx, &plan->actions[k], apply_view);
                fputc('\n', f);
        }
}

void pv_render_plan_text(struct pv_ctx *ctx, const struct pv_plan *plan, bool apply_view) {
        FILE *f = ctx->out;
        static const char *const groups[] = { "host", "mapping", "vm" };
        static const char *const titles[] = { "Host configuration", "PCI resource mappings", "Virtual machines" };
        print_host_sections(ctx, plan, apply_view);
        for (size_t g = 1; g < 3; g++) {
                bool any = false;
                for (size_t i = 0; i < plan->n; i++) {
                        const struct pv_action *a = &plan->actions[i];
                        if (strcmp(pv_action_group(a), groups[g]) != 0)
                                continue;
                        if (!any) {
                                fprintf(f, "%s%s%s:\n", pv_c(ctx, f, PV_C_BOLD), titles[g], pv_c(ctx, f, PV_C_RESET));
                                any = true;
                        }
                        print_action(ctx, a, apply_view);
                }
                if (any)
                        fputc('\n', f);
        }
        for (size_t i = 0; i < plan->n_drift; i++)
                fprintf(f, "%sdrift:%s %s\n", pv_c(ctx, f, PV_C_YELLOW), pv_c(ctx, f, PV_C_RESET), plan->drift[i]);
        for (size_t i = 0; i < plan->n_warnings; i++)
                fprintf(f, "%swarning:%s %s\n", pv_c(ctx, f, PV_C_YELLOW), pv_c(ctx, f, PV_C_RESET), plan->warnings[i]);
        for (size_t i = 0; i < plan->n_reboot_reasons; i++)
                fprintf(f, "%sreboot required:%s %s\n", pv_c(ctx, f, PV_C_RED), pv_c(ctx, f, PV_C_RESET),
                        plan->reboot_reasons[i]);
        struct pv_plan_counts c;
        pv_plan_counts(plan, &c);
        if (plan->n == 0 && plan->n_unread_nodes)
                fprintf(f, "No changes found, but %zu node%s could not be read: the plan is incomplete.\n",
                        plan->n_unread_nodes, plan->n_unread_nodes == 1 ? "" : "s");
        else if (plan->n == 0 && plan->n_drift)
                fprintf(f, "No changes to make, but %zu difference%s above that pvfio does not fix.\n", plan->n_drift,
                        plan->n_drift == 1 ? "" : "s");
        else if (plan->n == 0)
                fprintf(f, "No changes. The cluster matches the profile.\n");
        else if (apply_view)
                fprintf(f, "Applied: %zu done, %zu failed, %zu blocked.\n", c.done, c.failed, c.blocked);
        else
                fprintf(f, "Plan: %zu to add, %zu to change, %zu to remove%s%zu blocked%s.\n", c.add, c.change, c.del,
                        ", ", c.blocked, c.pending_restart ? ", PCI changes pending a VM restart" : "");
}
