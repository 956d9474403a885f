/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the host executor (provision/hostexec*.c only): the journal model and the
 * helpers the pieces share.
 *
 *   hostexec.c           plain files (confined reads, atomic writes), commands, apply
 *   hostexec_inputs.c    the planner's inputs from the host, the node name
 *   hostexec_journal.c   base64, the journal (load, save, record), owed refreshes
 *   hostexec_rollback.c  rollback
 */
#ifndef PVFIO_HOSTEXEC_INT_H
#define PVFIO_HOSTEXEC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "pvfio/bytes.h"
#include "pvfio/hostplan.h"

#define JOURNAL_MAX_BYTES (64u * 1024 * 1024) /* previous bytes of every file, ROM images (≤ 4 MiB each) included */
#define FILE_MAX_BYTES (4u * 1024 * 1024)

struct jfile {
        char *path;
        bool existed;
        char *content;
        size_t len;
        long mode, uid, gid;
        bool has_written;        /* pvfio has written/removed it */
        bool written_present;
        char *written;
        size_t written_len;
        char *written_sha256;    /* install-file: the digest of what pvfio wrote, instead of `written` */
        struct pv_strv owned;
};

struct journal {
        bool loaded;             /* read from disk */
        struct jfile *f;
        size_t n;
        struct pv_strv dirs;
        struct pv_strv undo;
        struct pv_strv owed;     /* refresh commands owed */
        bool rolling_back;       /* a rollback started: `owed` is what its restores need */
};

/* The refresh commands in the order they run (defined in hostexec_journal.c). */
struct refresh_step {
        unsigned flag;
        const char *cmd;
};
#define PV_REFRESH_STEPS 3
extern const struct refresh_step hx_refresh_steps[PV_REFRESH_STEPS];

/* hostexec.c */
const char *hx_root_name(const struct pv_host *h);
int hx_read_rel(const struct pv_host *h, const char *path, bool *ret_present, char **ret, size_t *ret_len,
             struct stat *ret_st, struct pv_error *err);
/* read_rel with another cap than FILE_MAX_BYTES (the journal's). */
int hx_read_rel_cap(const struct pv_host *h, const char *path, size_t cap, bool *ret_present, char **ret,
                 size_t *ret_len, struct stat *ret_st, struct pv_error *err);
int hx_at_parent(const struct pv_host *h, const char *path, int (*op)(int dfd, const char *base, void *ud),
              void *ud);
int hx_op_rmdir(int dfd, const char *base, void *ud);
int hx_write_atomic(const struct pv_host *h, const char *path, const void *data, size_t len, unsigned new_mode,
                 long force_mode, long force_uid, long force_gid, struct pv_strv *created,
                 struct pv_error *err);
int hx_remove_rel(const struct pv_host *h, const char *path, struct pv_error *err);
int hx_run_line(const struct pv_runner *runner, const char *line, struct pv_error *err);
bool hx_same_bytes(bool a_present, const char *a, size_t alen, const char *b);
/* The file (present, cur, len) has the SHA-256 `sha` (NULL: the file must be absent). */
bool hx_same_digest(bool present, const char *cur, size_t len, const char *sha);

/* hostexec_journal.c */
void hx_journal_done(struct journal *j);
struct jfile *hx_journal_find(struct journal *j, const char *path);
struct jfile *hx_journal_add(struct journal *j, const char *path, struct pv_error *err);
int hx_journal_save(const struct pv_host *h, const struct journal *j, struct pv_error *err);
int hx_journal_load(const struct pv_host *h, struct journal *j, struct pv_error *err);
bool hx_is_file_action(enum pv_action_kind k);
const char *hx_file_action_path(const struct pv_action *a);
unsigned hx_refresh_flags(const struct pv_strv *cmds);
bool hx_is_refresh_command(const char *line);
int hx_owe(struct pv_strv *owed, unsigned flags, bool *dirty, struct pv_error *err);
bool hx_strv_remove(struct pv_strv *v, const char *s);
int hx_temp_dirs(const struct journal *j, const struct pv_plan *plan, struct pv_strv *out, struct pv_error *err);

#endif
