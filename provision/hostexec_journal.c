/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host executor, journal: the journal of pre-pvfio bytes and the owed refreshes.
 *
 * Journal (var/lib/pvfio/journal.json under the root), written atomically
 * BEFORE the first change of any file it lists:
 *   { "format_version": 1,
 *     "files": [ { "path": "etc/modprobe.d/pvfio.conf", "existed": false },
 *                { "path": "etc/kernel/cmdline", "existed": true, "content": "root=… boot=zfs\n",
 *                  "mode": 420, "uid": 0, "gid": 0,
 *                  "written": "root=… boot=zfs iommu=pt\n",      (what pvfio last left there; null = removed)
 *                  "owned_args": ["iommu=pt"] } ],                 (tokens pvfio added to a command line)
 *     "dirs": ["etc/modules-load.d", …],                           (directories pvfio created, outermost first)
 *     "undo": ["systemctl disable pve-nvidia-sriov@ALL.service"],  (commands rollback runs, last first;
 *                                                                   journalled before the command runs)
 *     "refresh_owed": ["update-initramfs -u -k all"],           (refresh commands whose inputs changed and
 *                                                                   that have not succeeded since: journalled
 *                                                                   before the files are written, cleared after
 *                                                                   the command succeeded; planned again)
 *     "rollback_started": true }                                   (a rollback began: refresh_owed is what
 *                                                                   its restores need)
 * Content that is not valid UTF-8 or holds NUL bytes is stored as "content_base64" / "written_base64".
 * What pvfio wrote with an install-file action (a ROM image) is journalled as its digest,
 * "written_sha256": only the previous bytes are needed to restore, and the journal stays small.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/hostfs.h"
#include "pvfio/hostlock.h"
#include "pvfio/hostplan.h"
#include "pvfio/strv_json.h"
#include "pvfio/bytes.h"
#include "pvfio/xalloc.h"

#include "hostexec_int.h"

/* -------------------------------------------------------------- journal */

void hx_journal_done(struct journal *j) {
        for (size_t i = 0; i < j->n; i++) {
                free(j->f[i].path);
                free(j->f[i].content);
                free(j->f[i].written);
                free(j->f[i].written_sha256);
                pv_strv_done(&j->f[i].owned);
        }
        free(j->f);
        pv_strv_done(&j->dirs);
        pv_strv_done(&j->undo);
        pv_strv_done(&j->owed);
        memset(j, 0, sizeof *j);
}

struct jfile *hx_journal_find(struct journal *j, const char *path) {
        for (size_t i = 0; i < j->n; i++)
                if (strcmp(j->f[i].path, path) == 0)
                        return &j->f[i];
        return NULL;
}

struct jfile *hx_journal_add(struct journal *j, const char *path, struct pv_error *err) {
        struct jfile *v = realloc(j->f, (j->n + 1) * sizeof *v);
        if (!v) {
                pv_error_set(err, PV_ENOMEM, "out of memory");
                return NULL;
        }
        j->f = v;
        struct jfile *f = &v[j->n];
        memset(f, 0, sizeof *f);
        f->mode = f->uid = f->gid = -1;
        f->path = strdup(path);
        if (!f->path) {
                pv_error_set(err, PV_ENOMEM, "out of memory");
                return NULL;
        }
        j->n++;
        return f;
}

static json_t *bytes_json(const char *s, size_t len, bool *ret_b64) {
        /* a NUL byte is valid UTF-8, but a journal with "\u0000" needs JSON_ALLOW_NUL to be read: base64 */
        json_t *v = memchr(s, '\0', len) ? NULL : json_stringn(s, len);
        *ret_b64 = false;
        if (v)
                return v;
        _cleanup_free_ char *e = pv_base64_encode(s, len);
        *ret_b64 = true;
        return json_string(e);
}

int hx_journal_save(const struct pv_host *h, const struct journal *j, struct pv_error *err) {
        json_t *root = json_object(), *files = json_array(), *dirs = NULL, *undo = NULL, *owed = NULL;
        int bad = !root || !files;
        for (size_t i = 0; !bad && i < j->n; i++) {
                const struct jfile *f = &j->f[i];
                json_t *o = json_object();
                bad = !o || json_array_append_new(files, o) < 0;
                if (bad)
                        break;
                bad |= json_object_set_new(o, "path", json_string(f->path)) < 0;
                bad |= json_object_set_new(o, "existed", json_boolean(f->existed)) < 0;
                if (f->existed) {
                        bool is64;
                        json_t *c = bytes_json(f->content ? f->content : "", f->len, &is64);
                        bad |= !c || json_object_set_new(o, is64 ? "content_base64" : "content", c) < 0;
                        bad |= json_object_set_new(o, "mode", json_integer(f->mode)) < 0;
                        bad |= json_object_set_new(o, "uid", json_integer(f->uid)) < 0;
                        bad |= json_object_set_new(o, "gid", json_integer(f->gid)) < 0;
                }
                if (f->has_written) {
                        if (f->written_present && f->written_sha256) {
                                bad |= json_object_set_new(o, "written_sha256", json_string(f->written_sha256)) < 0;
                        } else if (f->written_present) {
                                bool is64;
                                json_t *c = bytes_json(f->written ? f->written : "", f->written_len, &is64);
                                bad |= !c || json_object_set_new(o, is64 ? "written_base64" : "written", c) < 0;
                        } else {
                                bad |= json_object_set_new(o, "written", json_null()) < 0;
                        }
                }
                if (f->owned.n) {
                        json_t *a = pv_strv_to_json(&f->owned);
                        bad |= !a || json_object_set_new(o, "owned_args", a) < 0;
                }
        }
        bad = bad || !(dirs = pv_strv_to_json(&j->dirs)) || !(undo = pv_strv_to_json(&j->undo)) ||
              !(owed = pv_strv_to_json(&j->owed));
        if (!bad) {
                bad |= json_object_set_new(root, "format_version", json_integer(1)) < 0;
                bad |= json_object_set_new(root, "files", files) < 0;
                files = NULL;
                bad |= json_object_set_new(root, "dirs", dirs) < 0;
                dirs = NULL;
                bad |= json_object_set_new(root, "undo", undo) < 0;
                undo = NULL;
                bad |= json_object_set_new(root, "refresh_owed", owed) < 0;
                owed = NULL;
                if (j->rolling_back)
                        bad |= json_object_set_new(root, "rollback_started", json_true()) < 0;
        }
        char *text = bad ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        json_decref(files);
        json_decref(dirs);
        json_decref(undo);
        json_decref(owed);
        if (!text)
                return pv_error_set(err, PV_ENOMEM, "out of memory");
        size_t len = strlen(text);
        text[len] = '\0';
        struct pv_buf b = PV_BUF_INIT;
        int r = pv_buf_add(&b, text, len, err);
        if (r == 0)
                r = pv_buf_addch(&b, '\n', err);
        free(text);
        if (r == 0)
                r = hx_write_atomic(h, PV_HOSTPLAN_JOURNAL, b.buf, b.len, 0600, -1, -1, -1, NULL, err);
        pv_buf_release(&b);
        if (r < 0)
                return pv_error_wrap(err, "cannot write the journal");
        return 0;
}

static int json_bytes(json_t *o, const char *key, const char *key64, char **ret, size_t *ret_len, bool *ret_present) {
        json_t *v = json_object_get(o, key);
        *ret = NULL;
        *ret_len = 0;
        *ret_present = false;
        if (v && json_is_string(v)) {
                size_t n = json_string_length(v);
                char *s = malloc(n + 1);
                if (!s)
                        return -1;
                memcpy(s, json_string_value(v), n);
                s[n] = '\0';
                *ret = s;
                *ret_len = n;
                *ret_present = true;
                return 0;
        }
        v = json_object_get(o, key64);
        if (v && json_is_string(v)) {
                uint8_t *bytes = NULL;
                if (pv_base64_decode(json_string_value(v), json_string_length(v), &bytes, ret_len) < 0)
                        return -1;
                *ret = (char *)bytes;
                *ret_present = true;
        }
        return 0;
}

int hx_journal_load(const struct pv_host *h, struct journal *j, struct pv_error *err) {
        memset(j, 0, sizeof *j);
        bool present;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = hx_read_rel_cap(h, PV_HOSTPLAN_JOURNAL, JOURNAL_MAX_BYTES, &present, &text, &len, NULL, err);
        if (r < 0)
                return r;
        if (!present)
                return 0;
        json_error_t je;
        json_t *root = json_loadb(text, len, JSON_ALLOW_NUL, &je); /* "\u0000" in journals of pvfio before base64 for NULs */
        const char *why = NULL;
        if (!root)
                why = je.text;
        else if (!json_is_object(root) || json_integer_value(json_object_get(root, "format_version")) != 1)
                why = "unknown format";
        json_t *files = root ? json_object_get(root, "files") : NULL;
        if (!why && !json_is_array(files))
                why = "no 'files' list";
        size_t i;
        json_t *o;
        if (!why) {
                json_array_foreach(files, i, o) {
                        const char *path = json_string_value(json_object_get(o, "path"));
                        if (!path || strstr(path, "..") || path[0] == '/') {
                                why = "bad path";
                                break;
                        }
                        struct jfile *f = hx_journal_add(j, path, err);
                        if (!f) {
                                json_decref(root);
                                hx_journal_done(j);
                                return -PV_ENOMEM;
                        }
                        f->existed = json_is_true(json_object_get(o, "existed"));
                        bool p;
                        if (f->existed) {
                                if (json_bytes(o, "content", "content_base64", &f->content, &f->len, &p) < 0 || !p) {
                                        why = "bad content";
                                        break;
                                }
                                f->mode = (long)json_integer_value(json_object_get(o, "mode"));
                                f->uid = (long)json_integer_value(json_object_get(o, "uid"));
                                f->gid = (long)json_integer_value(json_object_get(o, "gid"));
                        }
                        const char *wsha = json_string_value(json_object_get(o, "written_sha256"));
                        if (wsha) {
                                if (!pv_sha256_hex_valid(wsha)) {
                                        why = "bad written_sha256";
                                        break;
                                }
                                f->has_written = f->written_present = true;
                                f->written_sha256 = pv_xstrdup(wsha);
                        } else if (json_object_get(o, "written") || json_object_get(o, "written_base64")) {
                                f->has_written = true;
                                if (json_bytes(o, "written", "written_base64", &f->written, &f->written_len,
                                               &f->written_present) < 0) {
                                        why = "bad written content";
                                        break;
                                }
                        }
                        if (pv_strv_from_json(json_object_get(o, "owned_args"), &f->owned, NULL) < 0) {
                                why = "bad owned_args";
                                break;
                        }
                }
        }
        if (!why && (pv_strv_from_json(json_object_get(root, "dirs"), &j->dirs, NULL) < 0 ||
                     pv_strv_from_json(json_object_get(root, "undo"), &j->undo, NULL) < 0 ||
                     pv_strv_from_json(json_object_get(root, "refresh_owed"), &j->owed, NULL) < 0))
                why = "bad dirs or undo list";
        for (size_t k = 0; !why && k < j->dirs.n; k++)
                if (strstr(j->dirs.v[k], "..") || j->dirs.v[k][0] == '/')
                        why = "bad directory";
        j->rolling_back = root && json_is_true(json_object_get(root, "rollback_started"));
        json_decref(root);
        if (why) {
                hx_journal_done(j);
                return pv_error_set(err, PV_EINVAL,
                                    "journal '%s' under '%s' is unreadable (%s); restore or remove it before applying",
                                    PV_HOSTPLAN_JOURNAL, hx_root_name(h), why);
        }
        j->loaded = true;
        return 0;
}

/* -------------------------------------------------- owed refreshes */

bool hx_is_file_action(enum pv_action_kind k) {
        return k == PV_ACT_WRITE_FILE || k == PV_ACT_EDIT_FILE || k == PV_ACT_REMOVE_FILE || k == PV_ACT_INSTALL_FILE;
}

/* The root-relative path of a file action: its file payload's, NULL for other actions or without one. */
const char *hx_file_action_path(const struct pv_action *a) {
        const struct pv_file_payload *f = hx_is_file_action(a->kind) ? pv_action_file(a) : NULL;
        return f ? f->path : NULL;
}

const struct refresh_step hx_refresh_steps[PV_REFRESH_STEPS] = { { PV_REFRESH_INITRAMFS, PV_CMD_UPDATE_INITRAMFS },
                      { PV_REFRESH_GRUB, PV_CMD_UPDATE_GRUB },
                      { PV_REFRESH_PBT, PV_CMD_PBT_REFRESH } };

unsigned hx_refresh_flags(const struct pv_strv *cmds) {
        unsigned f = 0;
        for (size_t i = 0; i < PV_ELEMENTSOF(hx_refresh_steps); i++)
                if (pv_strv_contains(cmds, hx_refresh_steps[i].cmd))
                        f |= hx_refresh_steps[i].flag;
        return f;
}

bool hx_is_refresh_command(const char *line) {
        for (size_t i = 0; line && i < PV_ELEMENTSOF(hx_refresh_steps); i++)
                if (strcmp(line, hx_refresh_steps[i].cmd) == 0)
                        return true;
        return false;
}

/* Add the refresh commands of `flags` to the owed list (in refresh order); *dirty when one was added. */
int hx_owe(struct pv_strv *owed, unsigned flags, bool *dirty, struct pv_error *err) {
        for (size_t i = 0; i < PV_ELEMENTSOF(hx_refresh_steps); i++) {
                if (!(flags & hx_refresh_steps[i].flag) || pv_strv_contains(owed, hx_refresh_steps[i].cmd))
                        continue;
                int r = pv_strv_push(owed, hx_refresh_steps[i].cmd, err);
                if (r < 0)
                        return r;
                *dirty = true;
        }
        return 0;
}

bool hx_strv_remove(struct pv_strv *v, const char *s) {
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->v[i], s) == 0) {
                        free(v->v[i]);
                        memmove(&v->v[i], &v->v[i + 1], (v->n - i) * sizeof(char *));
                        v->n--;
                        return true;
                }
        return false;
}

/* The directories whose stale temporary files a run cleans: those of every journalled or planned file. */
int hx_temp_dirs(const struct journal *j, const struct pv_plan *plan, struct pv_strv *out, struct pv_error *err) {
        int r = 0;
        size_t nplan = plan ? plan->n : 0;
        for (size_t i = 0; r == 0 && i < j->n + nplan + 1; i++) {
                const char *path = i < j->n ? j->f[i].path
                                   : i < j->n + nplan ? hx_file_action_path(&plan->actions[i - j->n])
                                                      : PV_HOSTPLAN_JOURNAL;
                if (i >= j->n && i < j->n + nplan && !hx_is_file_action(plan->actions[i - j->n].kind))
                        continue;
                if (!path)
                        continue;
                const char *slash = strrchr(path, '/');
                _cleanup_free_ char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
                if (!dir)
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                if (!pv_strv_contains(out, dir))
                        r = pv_strv_push(out, dir, err);
        }
        return r;
}
