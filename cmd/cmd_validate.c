/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pvfio validate PROFILE... */
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "pvfio/profile.h"

static const struct pv_opt validate_opts[] = {
        { "summary", 's', PV_OPT_FLAG, NULL, "after 'ok', print what the profile declares", false },
        { NULL, 0, 0, NULL, NULL, false },
};

static void print_diag(struct pv_ctx *ctx, const char *file, const struct pv_diag *d) {
        FILE *f = ctx->out;
        const char *color = pv_c(ctx, f, d->warning ? PV_C_YELLOW : PV_C_RED);
        fprintf(f, "%s:%u:%u: %s%s:%s %s\n", file, d->line, d->col, color, d->warning ? "warning" : "error",
                pv_c(ctx, f, PV_C_RESET), d->message);
}

static json_t *diag_json(const char *file, const struct pv_diag *d) {
        return json_pack("{s:s, s:i, s:i, s:s, s:s?, s:s}", "file", file, "line", (json_int_t)d->line, "col",
                         (json_int_t)d->col, "severity", d->warning ? "warning" : "error", "key", d->key,
                         "message", d->message);
}

static void print_summary(struct pv_ctx *ctx, const struct pv_profile *p) {
        FILE *f = ctx->out;
        const char *b = pv_c(ctx, f, PV_C_BOLD), *r = pv_c(ctx, f, PV_C_RESET);
        if (p->cluster.present)
                fprintf(f, "  %scluster%s %s (%s)\n", b, r, p->cluster.api_url ? p->cluster.api_url : "-",
                        p->cluster.auth == PV_AUTH_TOKEN ? "API token"
                        : p->cluster.auth == PV_AUTH_PASSWORD ? "password login" : "no auth");
        for (size_t i = 0; i < p->n_hosts; i++) {
                const struct pv_host_spec *h = &p->hosts[i];
                fprintf(f, "  %shost%s ", b, r);
                if (h->all_nodes)
                        fprintf(f, "all nodes");
                for (size_t k = 0; k < h->nodes.n; k++)
                        fprintf(f, "%s%s", k ? "," : "", h->nodes.v[k]);
                fprintf(f, ": %zu vfio device selector(s), binding %s", h->n_vfio, pv_binding_to_string(h->binding));
                if (h->n_sriov)
                        fprintf(f, ", %zu SR-IOV PF(s)", h->n_sriov);
                if (h->vgpu != PV_VGPU_NONE)
                        fprintf(f, ", vGPU %s", pv_vgpu_kind_to_string(h->vgpu));
                fputc('\n', f);
        }
        for (size_t i = 0; i < p->n_mappings; i++) {
                const struct pv_mapping *m = &p->mappings[i];
                fprintf(f, "  %smapping%s %s: %zu path(s)%s\n", b, r, m->id, m->n_map, m->mdev ? ", mdev" : "");
        }
        for (size_t i = 0; i < p->n_usb_mappings; i++) {
                const struct pv_usb_mapping *m = &p->usb_mappings[i];
                fprintf(f, "  %susb mapping%s %s: %zu node entr%s\n", b, r, m->id, m->n_map, m->n_map == 1 ? "y" : "ies");
        }
        for (size_t i = 0; i < p->n_vms; i++) {
                const struct pv_vm *v = &p->vms[i];
                fprintf(f, "  %svm%s %s on %s", b, r, v->name, v->node);
                if (v->vmid)
                        fprintf(f, " (vmid %u)", v->vmid);
                fprintf(f, ": %s, %zu PCI device(s)\n", pv_vm_state_to_string(v->state), v->n_pci);
        }
}

static int run_validate(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        (void)cmd;
        bool summary = pv_args_flag(args, "summary");
        int rc = PV_EXIT_OK;
        json_t *list = ctx->json ? json_array() : NULL;
        for (int i = 0; i < args->npos; i++) {
                const char *file = args->pos[i];
                /* the dispatcher's loader, reporting nothing: validate prints every problem itself */
                struct pv_cli_profile_req req = { .file = file, .report = PV_PROFILE_REPORT_NONE };
                struct pv_cli_profile l;
                int r = pv_cli_profile_load(ctx, &req, &l) == PV_EXIT_OK ? 0 : -1;
                const struct pv_profile *p = l.profile;
                const struct pv_diags diags = l.diags;
                const struct pv_error err = l.err;
                const char *shown = strcmp(file, "-") == 0 ? "<stdin>" : file;
                if (ctx->json) {
                        json_t *problems = json_array();
                        for (size_t k = 0; k < diags.n; k++)
                                json_array_append_new(problems, diag_json(shown, &diags.v[k]));
                        if (r < 0 && diags.n_errors == 0) {
                                json_t *e = pv_error_to_json(&err);
                                json_object_set_new(e, "severity", json_string("error"));
                                if (!err.file)
                                        json_object_set_new(e, "file", json_string(shown));
                                json_array_append_new(problems, e);
                        }
                        json_array_append_new(list, json_pack("{s:s, s:b, s:o}", "file", shown, "valid", r == 0,
                                                              "problems", problems));
                } else {
                        for (size_t k = 0; k < diags.n; k++)
                                if (!ctx->quiet || !diags.v[k].warning)
                                        print_diag(ctx, shown, &diags.v[k]);
                        if (r < 0 && diags.n_errors == 0) {
                                if (!err.file)
                                        fprintf(ctx->out, "%s: %serror:%s %s\n", shown, pv_c(ctx, ctx->out, PV_C_RED),
                                                pv_c(ctx, ctx->out, PV_C_RESET), pv_error_message(&err));
                                else
                                        pv_report_error(ctx, &err);
                        }
                        if (r == 0 && !ctx->quiet) {
                                fprintf(ctx->out, "%s: %sok%s\n", shown, pv_c(ctx, ctx->out, PV_C_GREEN),
                                        pv_c(ctx, ctx->out, PV_C_RESET));
                                if (summary)
                                        print_summary(ctx, p);
                        }
                }
                if (r < 0)
                        rc = PV_EXIT_ERROR;
                pv_cli_profile_done(&l);
        }
        if (list)
                pv_print_json(ctx, list);
        return rc;
}

const struct pv_cmd pv_cmd_validate = {
        .name = "validate",
        .summary = "check profiles and report every problem as FILE:LINE:COL",
        .usage = "PROFILE...",
        .description = "Parses each profile (\"-\" reads standard input), checks every rule of the\n"
                       "profile format and prints 'ok' or every problem found, gcc-style, so editors\n"
                       "can jump to it. Exit status 0 when all profiles are valid, 1 otherwise.",
        .opts = validate_opts,
        .min_args = 1,
        .max_args = -1,
        .run = run_validate,
        .json = true,
};
