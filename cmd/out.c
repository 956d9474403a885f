/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rendering helpers shared by the commands: errors, warnings, JSON, colour. */
#include "cli.h"

#include <unistd.h>

#include <stdarg.h>
#include <string.h>

const char *pv_c(const struct pv_ctx *ctx, FILE *stream, const char *what) {
        bool on = stream == ctx->err ? ctx->color_err : ctx->color_out;
        if (!on)
                return "";
        if (strcmp(what, PV_C_RED) == 0) return "\033[31m";
        if (strcmp(what, PV_C_GREEN) == 0) return "\033[32m";
        if (strcmp(what, PV_C_YELLOW) == 0) return "\033[33m";
        if (strcmp(what, PV_C_BLUE) == 0) return "\033[34m";
        if (strcmp(what, PV_C_BOLD) == 0) return "\033[1m";
        if (strcmp(what, PV_C_DIM) == 0) return "\033[2m";
        return "\033[0m";
}

int pv_report_error(struct pv_ctx *ctx, const struct pv_error *err) {
        FILE *f = ctx->err;
        const char *red = pv_c(ctx, f, PV_C_RED), *rst = pv_c(ctx, f, PV_C_RESET);
        if (err->file)
                fprintf(f, "%s:%u:%u: %serror:%s %s\n", err->file, err->line, err->col, red, rst,
                        pv_error_message(err));
        else
                fprintf(f, "%s: %serror:%s %s\n", ctx->prog, red, rst, pv_error_message(err));
        return PV_EXIT_ERROR;
}

void pv_warn(struct pv_ctx *ctx, const char *fmt, ...) {
        FILE *f = ctx->err;
        va_list ap;
        va_start(ap, fmt);
        fprintf(f, "%s: %swarning:%s ", ctx->prog, pv_c(ctx, f, PV_C_YELLOW), pv_c(ctx, f, PV_C_RESET));
        vfprintf(f, fmt, ap);
        fputc('\n', f);
        va_end(ap);
}

static void events_warn(void *userdata, const char *message) {
        pv_warn(userdata, "%s", message);
}

static void events_progress(void *userdata, const char *message) {
        struct pv_ctx *ctx = userdata;
        if (ctx->json || ctx->quiet)
                return;
        fprintf(ctx->err, "%s\n", message);
        fflush(ctx->err);
}

static bool events_confirm(void *userdata, const char *question) {
        struct pv_ctx *ctx = userdata;
        if (!isatty(STDIN_FILENO))
                return false;
        fprintf(ctx->err, "%s [y/N] ", question);
        fflush(ctx->err);
        char line[16] = { 0 };
        return fgets(line, sizeof line, stdin) && (line[0] == 'y' || line[0] == 'Y');
}

const struct pv_engine_events *pv_cli_events(struct pv_ctx *ctx) {
        ctx->events = (struct pv_engine_events){ .log = &ctx->log,
                                                 .warn = events_warn,
                                                 .progress = events_progress,
                                                 .confirm = events_confirm,
                                                 .userdata = ctx };
        return &ctx->events;
}

int pv_print_json(struct pv_ctx *ctx, json_t *doc) {
        if (!doc) {
                fprintf(ctx->err, "%s: error: out of memory\n", ctx->prog);
                return PV_EXIT_ERROR;
        }
        int r = json_dumpf(doc, ctx->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', ctx->out);
        json_decref(doc);
        return r < 0 ? PV_EXIT_ERROR : PV_EXIT_OK;
}

json_t *pv_error_to_json(const struct pv_error *err) {
        json_t *o = json_object();
        if (!o)
                return NULL;
        json_object_set_new(o, "code", json_string(pv_code_name(err->code)));
        json_object_set_new(o, "message", json_string(pv_error_message(err)));
        if (err->file) {
                json_object_set_new(o, "file", json_string(err->file));
                json_object_set_new(o, "line", json_integer(err->line));
                json_object_set_new(o, "col", json_integer(err->col));
        }
        if (err->http_status)
                json_object_set_new(o, "http_status", json_integer(err->http_status));
        return o;
}
