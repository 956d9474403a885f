/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pvfio vm add: one VM from the command line, through the same engine as apply. */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "connect.h"
#include "lock.h"
#include "render.h"
#include "pvfio/xalloc.h"
#include "pvfio/apiexec.h"
#include "pvfio/buf.h"
#include "pvfio/vmplan.h"

static const struct pv_opt vm_add_opts[] = {
        { "profile", 'f', PV_OPT_VALUE, "FILE", "profile with the cluster, templates and mappings ($PVFIO_PROFILE)", false },
        { "node", 'n', PV_OPT_VALUE, "NODE", "node the VM lives on (required)", false },
        { "name", 0, PV_OPT_VALUE, "NAME", "VM name; the key for idempotency (required)", false },
        { "template", 't', PV_OPT_VALUE, "NAME", "template from the profile to start from", false },
        { "vmid", 0, PV_OPT_VALUE, "ID", "fixed vmid (default: allocated)", false },
        { "pci", 0, PV_OPT_VALUE, "SPEC", "PCI device, e.g. mapping=rtx3050,primary,pcie (repeatable)", true },
        { "memory", 'm', PV_OPT_VALUE, "SIZE", "memory, e.g. 16G or 16384 (MiB)", false },
        { "cores", 'c', PV_OPT_VALUE, "N", "CPU cores", false },
        { "sockets", 0, PV_OPT_VALUE, "N", "CPU sockets", false },
        { "tag", 0, PV_OPT_VALUE, "TAG", "extra VM tag (repeatable)", true },
        { "start", 0, PV_OPT_FLAG, NULL, "start the VM (state: running)", false },
        { "parallel", 'p', PV_OPT_VALUE, "N", "concurrent API requests", false },
        { "dry-run", 0, PV_OPT_FLAG, NULL, "show the plan on stderr, change nothing", false },
        PV_CLI_RETRY_OPT,
        PV_CLI_LOCK_OPTS,
        { NULL, 0, 0, NULL, NULL, false },
};

/* Append s as a YAML double-quoted scalar. */
static int yq(struct pv_buf *b, const char *s, struct pv_error *err) {
        int r = pv_buf_addch(b, '"', err);
        for (const unsigned char *p = (const unsigned char *)s; r >= 0 && *p; p++) {
                if (*p == '"' || *p == '\\')
                        r = pv_buf_addf(b, err, "\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        r = pv_buf_addf(b, err, "\\x%02x", *p);
                else
                        r = pv_buf_addch(b, (char)*p, err);
        }
        return r < 0 ? r : pv_buf_addch(b, '"', err);
}

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char)*s))
                        return false;
        return true;
}

static int bool_word(const char *v) {
        static const char *const t[] = { "1", "true", "yes", "on" }, *const f[] = { "0", "false", "no", "off" };
        for (size_t i = 0; i < 4; i++) {
                if (strcasecmp(v, t[i]) == 0)
                        return 1;
                if (strcasecmp(v, f[i]) == 0)
                        return 0;
        }
        return -1;
}

/* One --pci SPEC ("mapping=x,primary,pcie", "address=0000:01:00", or a bare address) as a YAML list item. */
static int pci_item(struct pv_ctx *ctx, const struct pv_cmd *cmd, const char *spec, struct pv_buf *b,
                    struct pv_error *err) {
        static const char *const bool_keys[] = { "pcie", "primary", "rombar", "legacy_igd", NULL };
        static const char *const str_keys[] = { "mapping", "address", "vf_of", "mdev", "romfile", "driver",
                                                "vendor_id", "device_id", "sub_vendor_id", "sub_device_id", NULL };
        char *copy = pv_xstrdup(spec);
        int r = pv_buf_adds(b, "    - ", err);
        bool first = true;
        char *save = NULL;
        for (char *item = strtok_r(copy, ",", &save); r >= 0 && item; item = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(item, '=');
                const char *key = item, *val = NULL;
                if (eq) {
                        *eq = '\0';
                        val = eq + 1;
                } else if (first && strchr(item, ':')) {
                        key = "address";
                        val = item;
                }
                if (strcmp(key, "x-vga") == 0)
                        key = "primary";
                else if (strcmp(key, "legacy-igd") == 0)
                        key = "legacy_igd";
                else if (strcmp(key, "vf-of") == 0)
                        key = "vf_of";
                bool is_bool = false, is_str = false;
                for (size_t i = 0; bool_keys[i]; i++)
                        is_bool = is_bool || strcmp(key, bool_keys[i]) == 0;
                for (size_t i = 0; str_keys[i]; i++)
                        is_str = is_str || strcmp(key, str_keys[i]) == 0;
                r = pv_buf_adds(b, first ? "" : "      ", err);
                first = false;
                if (r < 0)
                        break;
                if (is_bool) {
                        int v = val ? bool_word(val) : 1;
                        if (v < 0) {
                                pv_cli_usage_error(ctx, cmd, "--pci '%s': '%s' takes a boolean, not '%s'", spec, key, val);
                                free(copy);
                                return -PV_EINVAL;
                        }
                        r = pv_buf_addf(b, err, "%s: %s\n", key, v ? "true" : "false");
                } else if (strcmp(key, "slot") == 0 && val && all_digits(val) && strlen(val) < 4) {
                        r = pv_buf_addf(b, err, "slot: %s\n", val);
                } else if (is_str && val) {
                        r = pv_buf_addf(b, err, "%s: ", key);
                        if (r >= 0)
                                r = yq(b, val, err);
                        if (r >= 0)
                                r = pv_buf_addch(b, '\n', err);
                } else {
                        pv_cli_usage_error(ctx, cmd,
                                           "--pci '%s': unknown or incomplete item '%s' (use mapping=ID, address=ADDR, "
                                           "vf_of=PF, mdev=TYPE, slot=N, pcie, primary, rombar=0, romfile=F, legacy_igd, "
                                           "driver=keep, vendor_id=…)", spec, key);
                        free(copy);
                        return -PV_EINVAL;
                }
        }
        free(copy);
        return r;
}

/* The one-VM `vms:` document built from the options. Returns an exit code. */
static int vm_yaml(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *a, struct pv_buf *b) {
        struct pv_error err = PV_ERROR_INIT;
        const char *node = pv_args_value(a, "node"), *name = pv_args_value(a, "name");
        if (!node || !name)
                return pv_cli_usage_error(ctx, cmd, "--node and --name are required");
        int r = pv_buf_adds(b, "vms:\n  - name: ", &err);
        if (r >= 0)
                r = yq(b, name, &err);
        if (r >= 0)
                r = pv_buf_adds(b, "\n    node: ", &err);
        if (r >= 0)
                r = yq(b, node, &err);
        if (r >= 0)
                r = pv_buf_addch(b, '\n', &err);
        static const char *const scalars[] = { "template", "memory", NULL };
        for (size_t i = 0; r >= 0 && scalars[i]; i++) {
                const char *v = pv_args_value(a, scalars[i]);
                if (!v)
                        continue;
                r = pv_buf_addf(b, &err, "    %s: ", scalars[i]);
                if (r >= 0)
                        r = all_digits(v) && strcmp(scalars[i], "memory") == 0 ? pv_buf_adds(b, v, &err) : yq(b, v, &err);
                if (r >= 0)
                        r = pv_buf_addch(b, '\n', &err);
        }
        static const char *const numbers[] = { "vmid", "cores", "sockets", NULL };
        for (size_t i = 0; r >= 0 && numbers[i]; i++) {
                unsigned n = 0;
                if (!pv_args_value(a, numbers[i]))
                        continue;
                if (pv_args_uint(ctx, cmd, a, numbers[i], 1, 999999999, 0, &n) < 0)
                        return PV_EXIT_USAGE;
                r = pv_buf_addf(b, &err, "    %s: %u\n", numbers[i], n);
        }
        if (r >= 0 && pv_args_flag(a, "start"))
                r = pv_buf_adds(b, "    state: running\n", &err);
        unsigned n = 0;
        const char *const *tags = pv_args_values(a, "tag", &n);
        if (r >= 0 && n) {
                r = pv_buf_adds(b, "    tags: [", &err);
                for (unsigned i = 0; r >= 0 && i < n; i++) {
                        r = pv_buf_adds(b, i ? ", " : "", &err);
                        if (r >= 0)
                                r = yq(b, tags[i], &err);
                }
                if (r >= 0)
                        r = pv_buf_adds(b, "]\n", &err);
        }
        const char *const *pcis = pv_args_values(a, "pci", &n);
        if (r >= 0 && n)
                r = pv_buf_adds(b, "    pci:\n", &err);
        for (unsigned i = 0; r >= 0 && i < n; i++) {
                r = pci_item(ctx, cmd, pcis[i], b, &err);
                if (r == -PV_EINVAL)
                        return PV_EXIT_USAGE;
        }
        if (r < 0)
                return pv_report_error(ctx, &err);
        return PV_EXIT_OK;
}

static uint32_t vmid_of(const struct pv_plan *plan, const struct pv_observed *obs, const char *name) {
        for (size_t i = 0; i < plan->n; i++)
                if (plan->actions[i].kind == PV_ACT_CREATE_VM && plan->actions[i].vmid)
                        return plan->actions[i].vmid;
        for (size_t i = 0; i < obs->n_vms; i++)
                if (obs->vms[i].name && strcmp(obs->vms[i].name, name) == 0)
                        return obs->vms[i].vmid;
        return 0;
}

/*
 * Before the profile is read: the options, and the one-VM `vms` document they make, which the
 * dispatcher's loader puts in place of the profile's (ctx->env.vms_yaml). Returns an exit code.
 */
static int check_vm_add(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        const char *file = pv_args_value(args, "profile");
        if (!file)
                file = getenv("PVFIO_PROFILE");
        if (!file)
                return pv_cli_usage_error(ctx, cmd, "give --profile FILE (or set PVFIO_PROFILE): it names the cluster");
        unsigned parallel = 0;
        if (pv_args_uint(ctx, cmd, args, "parallel", 1, PV_API_MAX_PARALLEL, 0, &parallel) < 0 ||
            pv_cli_parse_retry(ctx, cmd, args) < 0)
                return PV_EXIT_USAGE;
        struct pv_apply_lock lock;
        if (pv_cli_lock_parse(ctx, cmd, args, &lock) < 0)
                return PV_EXIT_USAGE;
        _cleanup_buf_ struct pv_buf yaml = PV_BUF_INIT_CAP(64 * 1024);
        int rc = vm_yaml(ctx, cmd, args, &yaml);
        if (rc != PV_EXIT_OK)
                return rc;
        struct pv_error err = PV_ERROR_INIT;
        if (pv_buf_detach(&yaml, &ctx->env.vms_yaml, &ctx->env.vms_len, &err) < 0) {
                rc = pv_report_error(ctx, &err);
                pv_error_done(&err);
                return rc;
        }
        ctx->env.profile_file = file;
        ctx->env.parallel = parallel;
        return PV_EXIT_OK;
}

static int run_vm_add(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        struct pv_apply_lock lock;
        if (pv_cli_lock_parse(ctx, cmd, args, &lock) < 0)   /* checked already (check_vm_add) */
                return PV_EXIT_USAGE;
        struct pv_error err = PV_ERROR_INIT;
        /* loaded with the options' VM and connected by the dispatcher (PV_CMD_NEEDS_PROFILE | PV_CMD_NEEDS_API) */
        const struct pv_profile *p = ctx->env.profile;
        struct pv_cli_conn *conn = ctx->env.conn;
        struct pv_observed obs;
        memset(&obs, 0, sizeof obs);
        struct pv_plan plan = PV_PLAN_INIT;
        struct pv_vm_plan_opts vo = { .skip_mappings = true };
        int rc = pv_cli_plan_cluster(ctx, p, &vo, conn, &obs, &plan, pv_args_flag(args, "dry-run") ? NULL : &lock);
        if (rc != PV_EXIT_OK)
                goto out;
        for (size_t i = 0; i < plan.n; i++)
                if (plan.actions[i].blocked) {
                        fprintf(ctx->err, "%s: error: %s: %s\n", ctx->prog, plan.actions[i].target,
                                plan.actions[i].blocked);
                        rc = PV_EXIT_ERROR;
                }
        if (rc != PV_EXIT_OK || pv_args_flag(args, "dry-run")) {
                if (pv_args_flag(args, "dry-run")) {
                        struct pv_ctx to_err = *ctx;
                        to_err.out = ctx->err;
                        pv_render_plan_text(&to_err, &plan, false);
                        rc = plan.n ? PV_EXIT_CHANGES : PV_EXIT_OK;
                }
                goto out;
        }
        struct pv_api_exec_result res = { 0 };
        if (plan.n && pv_api_execute(conn->api, &plan, NULL, &res, &err) < 0) {
                rc = pv_report_error(ctx, &err);
                goto out;
        }
        for (size_t i = 0; i < plan.n; i++)
                if (plan.actions[i].status == PV_ACT_FAILED)
                        fprintf(ctx->err, "%s: error: %s %s: %s\n", ctx->prog, pv_action_kind_to_string(plan.actions[i].kind),
                                plan.actions[i].target, plan.actions[i].error);
        const char *name = pv_args_value(args, "name");
        uint32_t vmid = vmid_of(&plan, &obs, name);
        if (ctx->json) {
                json_t *doc = json_pack("{s:s, s:s, s:o, s:b, s:o}", "name", name, "node", pv_args_value(args, "node"),
                                        "vmid", vmid ? json_integer(vmid) : json_null(), "changed", plan.n > 0,
                                        "plan", pv_plan_to_json(&plan));
                pv_print_json(ctx, doc);
        } else if (vmid) {
                fprintf(ctx->out, "%u\n", vmid);
        }
        rc = res.failed || res.skipped ? PV_EXIT_PARTIAL : PV_EXIT_OK;
out:
        pv_apply_lock_release(pv_cli_events(ctx), &lock);
        pv_plan_done(&plan);
        pv_observed_done(&obs);
        pv_error_done(&err);
        return rc;
}

static const struct pv_cmd pv_cmd_vm_add = {
        .name = "add",
        .summary = "create or update one VM from options (for scripts); prints its vmid",
        .usage = "--node NODE --name NAME [--template T] [--pci SPEC]...",
        .description = "Builds a one-VM desired state from the options, on top of the profile's\n"
                       "templates, defaults, mappings and cluster section, and runs the same engine\n"
                       "as 'pvfio apply' for that VM only (no host section, mappings untouched).\n"
                       "Idempotent by name: a second identical call changes nothing and prints the\n"
                       "same vmid. Standard output carries only the vmid (or the JSON document).\n"
                       "Example: pvfio vm add --node pve1 --name gpu-ws-2 --template gpu-desktop \\\n"
                       "           --pci mapping=rtx3050,primary --memory 16G --profile cluster.yaml",
        .opts = vm_add_opts,
        .min_args = 0,
        .max_args = 0,
        .run = run_vm_add,
        .json = true,
        .parent = "vm",
        .flags = PV_CMD_NEEDS_PROFILE | PV_CMD_NEEDS_API,
        .profile_report = PV_PROFILE_REPORT_KEYS,
        .check = check_vm_add,
};

static const struct pv_cmd *const vm_subcmds[] = {
        &pv_cmd_vm_add,
        NULL,
};

const struct pv_cmd pv_cmd_vm = {
        .name = "vm",
        .summary = "single-VM operations for scripts",
        .subcmds = vm_subcmds,
        .max_args = -1,
};
