/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dispatcher's preparation from the command-table flags (cmd/prepare.c):
 * the check hook comes first (a usage error before the profile is read), the
 * profile is loaded into ctx->env (with its bytes on request), an invalid one
 * ends the run before the command, --profile may be absent, --yes reaches
 * pv_cli_confirm, and ctx->env is released after the run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "commands.h"
#include "pvfio/profile.h"

/* What the fake commands saw. */
static struct {
        int checks, runs;
        bool had_profile, had_text, yes;
        size_t text_len;
        int check_rc;
} seen;

static int fake_check(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        (void)ctx, (void)cmd, (void)args;
        seen.checks++;
        return seen.check_rc;
}

static int fake_run(struct pv_ctx *ctx, const struct pv_cmd *cmd, struct pv_args *args) {
        (void)cmd, (void)args;
        seen.runs++;
        seen.had_profile = ctx->env.profile != NULL;
        seen.had_text = ctx->env.profile_text != NULL;
        seen.text_len = ctx->env.profile_len;
        seen.yes = ctx->env.yes;
        return 42;
}

static const struct pv_opt opts[] = {
        { "profile", 'p', PV_OPT_VALUE, "FILE", "profile", false },
        { "yes", 'y', PV_OPT_FLAG, NULL, "yes", false },
        { NULL, 0, 0, NULL, NULL, false },
};

static char *profile_path(const char *name) {
        const char *src = getenv("PVFIO_SOURCE_DIR");
        assert_non_null(src);
        size_t n = strlen(src) + strlen(name) + 32;
        char *p = malloc(n);
        snprintf(p, n, "%s/tests/unit/profiles/%s", src, name);
        return p;
}

/* Run cmd with argv (argv[0] = its name); stderr lands in *ret_err. */
static int run(const struct pv_cmd *cmd, int argc, char **argv, char **ret_err) {
        size_t len = 0;
        FILE *err = open_memstream(ret_err, &len);
        struct pv_ctx ctx = { .prog = "pvfio", .out = stdout, .err = err, .color_mode = PV_COLOR_NEVER };
        struct pv_args args;
        bool help = false;
        int check_rc = seen.check_rc;
        memset(&seen, 0, sizeof seen);
        seen.check_rc = check_rc;
        assert_int_equal(pv_cli_parse(&ctx, cmd, argc, argv, &args, &help), 0);
        int rc = pv_cli_run(&ctx, cmd, &args);
        free(args.pos);
        /* released after the run */
        assert_null(ctx.env.profile);
        assert_null(ctx.env.profile_text);
        assert_null(ctx.env.conn);
        fclose(err);
        return rc;
}

static const struct pv_cmd plan_like = {
        .name = "plan",
        .usage = "PROFILE",
        .opts = opts,
        .min_args = 1,
        .max_args = 1,
        .run = fake_run,
        .flags = PV_CMD_NEEDS_PROFILE | PV_CMD_KEEPS_PROFILE_TEXT | PV_CMD_CONFIRMS,
        .profile_report = PV_PROFILE_REPORT_PLAN,
        .check = fake_check,
};

static void test_profile_loaded_with_text(void **state) {
        (void)state;
        char *file = profile_path("valid.yaml"), *err = NULL;
        char *argv[] = { "plan", file, "--yes", NULL };
        seen.check_rc = 0;
        assert_int_equal(run(&plan_like, 3, argv, &err), 42);
        assert_int_equal(seen.checks, 1);
        assert_int_equal(seen.runs, 1);
        assert_true(seen.had_profile);
        assert_true(seen.had_text);
        assert_true(seen.text_len > 0);
        assert_true(seen.yes);
        assert_string_equal(err, "");
        free(err);
        free(file);
}

static void test_check_before_profile(void **state) {
        (void)state;
        char *err = NULL;
        char *argv[] = { "plan", "/nonexistent/profile.yaml", NULL };
        seen.check_rc = PV_EXIT_USAGE;
        assert_int_equal(run(&plan_like, 2, argv, &err), PV_EXIT_USAGE);
        assert_int_equal(seen.checks, 1);
        assert_int_equal(seen.runs, 0);
        assert_string_equal(err, ""); /* the profile was not read: nothing said about it */
        free(err);
        seen.check_rc = 0;
}

static void test_invalid_profile_stops(void **state) {
        (void)state;
        char *file = profile_path("invalid.yaml"), *err = NULL;
        char *argv[] = { "plan", file, NULL };
        assert_int_equal(run(&plan_like, 2, argv, &err), PV_EXIT_ERROR);
        assert_int_equal(seen.runs, 0);
        assert_non_null(strstr(err, "invalid.yaml:"));
        assert_non_null(strstr(err, "pvfio: the profile '"));
        assert_non_null(strstr(err, "' is not valid ("));
        free(err);
        free(file);
}

static void test_unreadable_profile(void **state) {
        (void)state;
        char *err = NULL;
        char *argv[] = { "plan", "/nonexistent/profile.yaml", NULL };
        assert_int_equal(run(&plan_like, 2, argv, &err), PV_EXIT_ERROR);
        assert_int_equal(seen.runs, 0);
        assert_non_null(strstr(err, "pvfio: error: cannot read the profile"));
        free(err);
}

static const struct pv_cmd host_like = {
        .name = "plan",
        .usage = "PROFILE",
        .opts = opts,
        .min_args = 1,
        .max_args = 1,
        .run = fake_run,
        .flags = PV_CMD_NEEDS_PROFILE,
        .profile_report = PV_PROFILE_REPORT_HOST,
        .parent = "host",
};

static void test_host_wording(void **state) {
        (void)state;
        char *file = profile_path("warning.yaml"), *err = NULL;
        char *argv[] = { "plan", file, NULL };
        assert_int_equal(run(&host_like, 2, argv, &err), 42);
        assert_true(seen.had_profile);
        assert_false(seen.had_text);      /* not asked for */
        assert_false(seen.yes);           /* not a confirming command */
        assert_string_equal(err, "");     /* host plan: warnings only when the profile fails */
        free(err);
        free(file);
        file = profile_path("invalid.yaml");
        argv[1] = file;
        assert_int_equal(run(&host_like, 2, argv, &err), PV_EXIT_ERROR);
        assert_non_null(strstr(err, "is not a valid profile ('pvfio validate' shows every problem)"));
        free(err);
        free(file);
}

static const struct pv_cmd option_like = {
        .name = "get",
        .opts = opts,
        .max_args = -1,
        .run = fake_run,
        .flags = PV_CMD_NEEDS_PROFILE | PV_CMD_PROFILE_OPTION,
        .profile_report = PV_PROFILE_REPORT_TERSE,
        .parent = "api",
};

static void test_profile_option(void **state) {
        (void)state;
        char *err = NULL;
        char *none[] = { "get", "/nodes", NULL };
        assert_int_equal(run(&option_like, 2, none, &err), 42);
        assert_false(seen.had_profile); /* --profile absent: nothing loaded, the command still runs */
        free(err);
        char *file = profile_path("invalid.yaml");
        char *bad[] = { "get", "/nodes", "--profile", file, NULL };
        assert_int_equal(run(&option_like, 4, bad, &err), PV_EXIT_ERROR);
        assert_int_equal(seen.runs, 0);
        /* terse: no diagnostics, one error line (the first problem, then where to see all of them) */
        assert_non_null(strchr(err, '\n'));
        assert_string_equal(strchr(err, '\n'), "\n");
        assert_non_null(strstr(err, "invalid.yaml:6:5: error: "));
        assert_non_null(strstr(err, "run 'pvfio validate "));
        free(err);
        free(file);
}

static void test_validate_style_returns_diags(void **state) {
        (void)state;
        char *file = profile_path("invalid.yaml");
        struct pv_ctx ctx = { .prog = "pvfio", .out = stdout, .err = stderr, .color_mode = PV_COLOR_NEVER };
        struct pv_cli_profile_req req = { .file = file, .report = PV_PROFILE_REPORT_NONE };
        struct pv_cli_profile l;
        assert_int_equal(pv_cli_profile_load(&ctx, &req, &l), PV_EXIT_ERROR);
        assert_null(l.profile);
        assert_true(l.diags.n_errors > 0); /* handed to the caller, not printed */
        pv_cli_profile_done(&l);
        free(file);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_profile_loaded_with_text),
                cmocka_unit_test(test_check_before_profile),
                cmocka_unit_test(test_invalid_profile_stops),
                cmocka_unit_test(test_unreadable_profile),
                cmocka_unit_test(test_host_wording),
                cmocka_unit_test(test_profile_option),
                cmocka_unit_test(test_validate_style_returns_diags),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
