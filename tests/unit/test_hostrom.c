/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A host section's `romfiles:` (issue 14): profile errors at FILE:LINE:COL, the install-file plan,
 * the binary-safe executor (ROM bytes with NULs), exact rollback, idempotence, the JSON plan's base64
 * payload and the OVMF/EFI warning judged by the profile's bytes. ROMs are synthetic (PCI Firmware
 * Specification layout, as tests/mkroot/mkrom.py builds them); no vendor firmware.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvfio/bytes.h"
#include "pvfio/extras.h"
#include "pvfio/hostplan.h"
#include "pvfio/hostrom.h"
#include "pvfio/planjson.h"
#include "pvfio/profile.h"

#include "rom_fixture.h"

/* ------------------------------------------------------------- helpers */

/* A legacy image, plus an EFI image when efi; each carries bytes that are not UTF-8 beside its NULs. */
static size_t rom_build(uint8_t *p, bool efi) {
        size_t n = rom_image(p, 0x10de, 0x2484, 0, !efi, 8);
        p[0x100] = 0xff, p[0x101] = 0xfe, p[0x102] = 0xc3;
        if (efi)
                n += rom_image(p + n, 0x10de, 0x2484, 3, true, 4);
        if (efi)
                p[8 * 512 + 0x100] = 0xff, p[8 * 512 + 0x101] = 0xfe, p[8 * 512 + 0x102] = 0xc3;
        return n;
}

struct dir {
        char path[64];
};

static void dir_make(struct dir *d) {
        strcpy(d->path, "/tmp/pvfio-hostrom-XXXXXX");
        assert_non_null(mkdtemp(d->path));
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
        (void)sb, (void)flag, (void)ftw;
        return remove(p);
}

static void dir_free(struct dir *d) {
        nftw(d->path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put_bytes(const char *dir, const char *rel, const void *data, size_t len, mode_t mode) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, rel);
        for (char *s = strchr(p + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                mkdir(p, 0755);
                *s = '/';
        }
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        fclose(f);
        assert_int_equal(chmod(p, mode), 0);
}

/* Whole content of a file (caller frees), NULL when absent. */
static uint8_t *get_bytes(const char *dir, const char *rel, size_t *len) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, rel);
        FILE *f = fopen(p, "rb");
        if (!f)
                return NULL;
        uint8_t *buf = malloc(8u << 20);
        *len = fread(buf, 1, 8u << 20, f);
        fclose(f);
        return buf;
}

/* Load the profile text written as DIR/profile.yaml (so sources resolve beside it). */
static struct pv_profile *load_in(const char *dir, const char *text, struct pv_diags *d, int expect) {
        put_bytes(dir, "profile.yaml", text, strlen(text), 0644);
        char p[512];
        snprintf(p, sizeof p, "%s/profile.yaml", dir);
        struct pv_profile *prof = NULL;
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_profile_load(p, &prof, d, &e);
        if (r != expect)
                for (size_t i = 0; i < d->n; i++)
                        fprintf(stderr, "%u:%u: %s\n", d->v[i].line, d->v[i].col, d->v[i].message);
        assert_int_equal(r, expect);
        pv_error_done(&e);
        return prof;
}

static const struct pv_diag *diag_with(const struct pv_diags *d, const char *needle) {
        for (size_t i = 0; i < d->n; i++)
                if (strstr(d->v[i].message, needle))
                        return &d->v[i];
        return NULL;
}

static void expect_diag(const struct pv_diags *d, const char *needle, bool warning, unsigned line, unsigned col) {
        const struct pv_diag *g = diag_with(d, needle);
        if (!g)
                fail_msg("no diagnostic with '%s'", needle);
        assert_int_equal(g->warning, warning);
        assert_int_equal(g->line, line);
        assert_int_equal(g->col, col);
}

#define HOST_ROM(entries) "version: 1\nhosts:\n  - nodes: [n1]\n    romfiles:\n" entries

/* ----------------------------------------------------------- profile */

static void test_sha256_base64(void **state) {
        (void)state;
        char h[PV_SHA256_HEX];
        pv_sha256_hex("abc", 3, h);
        assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        pv_sha256_hex("", 0, h);
        assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        /* two blocks of padding (56..63 bytes) */
        pv_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h);
        assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        assert_true(pv_sha256_hex_valid(h));
        assert_false(pv_sha256_hex_valid("abc"));
        static const uint8_t bin[] = { 0, 0xff, 0x55, 0xaa, 0, 1, 2 };
        for (size_t n = 0; n <= sizeof bin; n++) {
                char *b = pv_base64_encode(bin, n);
                uint8_t *back = NULL;
                size_t len = 0;
                assert_int_equal(pv_base64_decode(b, strlen(b), &back, &len), 0);
                assert_int_equal(len, n);
                assert_memory_equal(back, bin, n);
                free(back);
                free(b);
        }
        uint8_t *x = NULL;
        size_t xl;
        assert_int_equal(pv_base64_decode("AB=C", 4, &x, &xl), -1);
        assert_int_equal(pv_base64_decode("ABC", 3, &x, &xl), -1);
        assert_int_equal(pv_base64_decode("A*==", 4, &x, &xl), -1);
}

static void test_profile_errors(void **state) {
        (void)state;
        struct dir d;
        dir_make(&d);
        static uint8_t rom[16 * 512];
        size_t n = rom_build(rom, false);
        put_bytes(d.path, "roms/gpu.rom", rom, n, 0644);
        put_bytes(d.path, "roms/cut.rom", rom, 8 * 512, 0644);
        rom[0x55] = 0; /* not marked last: a cut-off dump */
        put_bytes(d.path, "roms/cut.rom", rom, n, 0644);
        char junk[600];
        memset(junk, 'x', sizeof junk);
        put_bytes(d.path, "roms/junk.bin", junk, sizeof junk, 0644);
        char big[512];
        snprintf(big, sizeof big, "%s/roms/big.rom", d.path);
        int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, rom, n), (ssize_t)n);
        assert_int_equal(ftruncate(fd, PV_ROMFILE_MAX_BYTES + 1), 0);
        close(fd);
        struct pv_diags diags = { 0 };
        load_in(d.path,
                HOST_ROM("      - {name: a/b.rom, source: roms/gpu.rom}\n"         /* 5 */
                         "      - {name: 'a,b', source: roms/gpu.rom}\n"           /* 6 */
                         "      - {name: 'x;y', source: roms/gpu.rom}\n"           /* 7 */
                         "      - {name: .hidden, source: roms/gpu.rom}\n"         /* 8 */
                         "      - {name: missing.rom, source: roms/nope.rom}\n"    /* 9 */
                         "      - {name: junk.rom, source: roms/junk.bin}\n"       /* 10 */
                         "      - {name: big.rom, source: roms/big.rom}\n"         /* 11 */
                         "      - {name: dir.rom, source: roms}\n"                 /* 12 */
                         "      - {name: gpu.rom, source: roms/gpu.rom}\n"         /* 13 */
                         "      - {name: gpu.rom, source: roms/gpu.rom}\n"         /* 14 */
                         "      - {name: nosrc.rom}\n"                             /* 15 */
                         "      - {name: c.rom, source: roms/cut.rom, size: 1}\n"  /* 16 */
                         "      - just-a-string\n"),                               /* 17 */
                &diags, -PV_EINVAL);
        expect_diag(&diags, "got 'a/b.rom'", false, 5, 16);
        expect_diag(&diags, "got 'a,b'", false, 6, 16);
        expect_diag(&diags, "got 'x;y'", false, 7, 16);
        expect_diag(&diags, "got '.hidden'", false, 8, 16);
        expect_diag(&diags, "roms/nope.rom' cannot be read", false, 9, 37);
        expect_diag(&diags, "no 55 AA signature", false, 10, 34);
        expect_diag(&diags, "larger than 4 MiB", false, 11, 33);
        expect_diag(&diags, "roms' is not a regular file", false, 12, 33);
        expect_diag(&diags, "installs 'gpu.rom' a second time", false, 14, 9);
        expect_diag(&diags, "'hosts[0].romfiles[10]' needs 'source'", false, 15, 9);
        expect_diag(&diags, "unknown key 'size' in 'hosts[0].romfiles[11]'", false, 16, 45);
        expect_diag(&diags, "not marked as last", true, 16, 31);
        expect_diag(&diags, "must be a mapping {name: FILE, source: PATH}", false, 17, 9);
        assert_string_equal(diag_with(&diags, "got 'a/b.rom'")->key, "hosts[0].romfiles[0].name");
        pv_diags_done(&diags);
        dir_free(&d);
}

/* A profile read from stdin (a remote node's copy): an unreadable source is the node's problem, not an error. */
static void test_profile_stdin_defers(void **state) {
        (void)state;
        static const char text[] = HOST_ROM("      - {name: gpu.rom, source: /nonexistent/pvfio/gpu.rom}\n");
        struct pv_profile *p = NULL;
        struct pv_diags diags = { 0 };
        assert_int_equal(pv_profile_parse_mem(text, strlen(text), "<stdin>", &p, &diags, NULL), 0);
        const struct pv_romfile *rf = pv_profile_romfile_for_node(p, "n1", "gpu.rom");
        assert_non_null(rf);
        assert_null(rf->data);
        assert_non_null(strstr(rf->problem, "the ROM source '/nonexistent/pvfio/gpu.rom' cannot be read"));
        assert_null(pv_profile_romfile_for_node(p, "n2", "gpu.rom"));
        /* the install is blocked on the node, with the reason */
        struct pv_plan plan = PV_PLAN_INIT;
        assert_int_equal(pv_host_roms_plan(p, "n1", NULL, &plan, NULL), 0);
        assert_int_equal(plan.n, 1);
        assert_non_null(strstr(plan.actions[0].blocked, "cannot be read: No such file or directory on node n1"));
        pv_plan_done(&plan);
        pv_profile_free(p);
        pv_diags_done(&diags);
}

/* ------------------------------------------------- plan, apply, rollback */

static int no_run(void *ud, const char *const argv[], struct pv_error *err) {
        (void)ud;
        return pv_error_set(err, PV_EIO, "unexpected command '%s'", argv[0]);
}

static void plan_roms(struct pv_host *h, const struct pv_profile *p, struct pv_plan *plan) {
        struct pv_host_roms cur;
        assert_int_equal(pv_host_roms_load(h, p, "n1", &cur, NULL), 0);
        assert_int_equal(pv_host_roms_plan(p, "n1", &cur, plan, NULL), 0);
        pv_host_roms_done(&cur);
}

/* One host ROM case: a profile folder with a synthetic ROM at `source`, and an empty node root. */
struct rom_case {
        struct dir d, root;
        uint8_t rom[16 * 512];
        size_t n;
        struct pv_diags diags;
        struct pv_profile *p;
        struct pv_host *h;
};

static void case_begin(struct rom_case *c, const char *source, bool efi) {
        memset(c, 0, sizeof *c);
        dir_make(&c->d);
        dir_make(&c->root);
        c->n = rom_build(c->rom, efi);
        put_bytes(c->d.path, source, c->rom, c->n, 0644);
}

/* Load the profile text and open the node root (after the case has put what the node holds). */
static void case_load(struct rom_case *c, const char *yaml) {
        c->p = load_in(c->d.path, yaml, &c->diags, 0);
        assert_int_equal(pv_host_open(c->root.path, NULL, &c->h, NULL), 0);
}

static void case_end(struct rom_case *c) {
        pv_host_close(c->h);
        pv_profile_free(c->p);
        pv_diags_done(&c->diags);
        dir_free(&c->d);
        dir_free(&c->root);
}

static void test_apply_rollback_idempotent(void **state) {
        (void)state;
        static struct rom_case c;
        case_begin(&c, "roms/gpu.rom", true);
        const uint8_t *rom = c.rom;
        const size_t n = c.n;
        const struct dir root = c.root;
        put_bytes(c.d.path, "roms/new.rom", rom, n / 2 + 512, 0644);
        /* what the node has before: someone's own ROM file (binary, not UTF-8, with NULs), mode 0600 */
        static const uint8_t old[] = { 0x55, 0xaa, 0, 0, 0xff, 0xfe, 0, 0x80, 'o', 'l', 'd', 0 };
        put_bytes(root.path, "usr/share/kvm/gpu.rom", old, sizeof old, 0600);
        case_load(&c, HOST_ROM("      - {name: gpu.rom, source: roms/gpu.rom}\n"
                               "      - {name: new.rom, source: roms/new.rom}\n"));
        struct pv_host *h = c.h;
        const struct pv_profile *p = c.p;
        struct pv_plan plan = PV_PLAN_INIT;
        plan_roms(h, p, &plan);
        assert_int_equal(plan.n, 2);
        const struct pv_action *a = &plan.actions[0];
        assert_int_equal(a->kind, PV_ACT_INSTALL_FILE);
        assert_string_equal(a->target, "usr/share/kvm/gpu.rom");
        assert_string_equal(a->key, "file:usr/share/kvm/gpu.rom");
        char sha_old[PV_SHA256_HEX], sha_new[PV_SHA256_HEX];
        pv_sha256_hex(old, sizeof old, sha_old);
        pv_sha256_hex(rom, n, sha_new);
        char want[128];
        snprintf(want, sizeof want, "12 bytes, sha256 %s", sha_old);
        assert_string_equal(a->before, want);
        snprintf(want, sizeof want, "%zu bytes, sha256 %s", n, sha_new);
        assert_string_equal(a->after, want);
        assert_int_equal(pv_action_file(a)->len, n);
        assert_memory_equal(pv_action_file(a)->data, rom, n);
        assert_string_equal(pv_action_file(a)->before_sha256, sha_old);
        assert_null(plan.actions[1].before); /* new.rom: a new file */

        /* apply: the bytes, NULs and all */
        struct pv_runner runner = { no_run, NULL };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_host_apply(h, &plan, &runner, &e), 0);
        for (size_t i = 0; i < plan.n; i++) {
                if (plan.actions[i].error)
                        fprintf(stderr, "%s\n", plan.actions[i].error);
                assert_int_equal(plan.actions[i].status, PV_ACT_DONE);
        }
        size_t len = 0;
        uint8_t *got = get_bytes(root.path, "usr/share/kvm/gpu.rom", &len);
        assert_int_equal(len, n);
        assert_memory_equal(got, rom, n);
        free(got);
        got = get_bytes(root.path, "usr/share/kvm/new.rom", &len);
        assert_int_equal(len, n / 2 + 512);
        free(got);
        struct stat st;
        char path[512];
        snprintf(path, sizeof path, "%s/usr/share/kvm/gpu.rom", root.path);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600); /* the existing file's mode is kept */
        /* the journal holds the previous bytes (base64) and the digest of what was written, not the ROM */
        size_t jl = 0;
        char *j = (char *)get_bytes(root.path, PV_HOSTPLAN_JOURNAL, &jl);
        j[jl] = '\0';
        char *old64 = pv_base64_encode(old, sizeof old);
        assert_non_null(strstr(j, old64));
        assert_non_null(strstr(j, sha_new));
        assert_non_null(strstr(j, "\"written_sha256\""));
        assert_true(jl < 4096);
        free(old64);
        free(j);
        pv_plan_done(&plan);

        /* a second plan finds nothing to do */
        plan = (struct pv_plan)PV_PLAN_INIT;
        plan_roms(h, p, &plan);
        assert_int_equal(plan.n, 0);
        pv_plan_done(&plan);

        /* rollback: the old bytes and mode exactly, the new file removed */
        struct pv_rollback_report rep;
        assert_int_equal(pv_host_rollback(h, &runner, &rep, &e), 0);
        assert_int_equal(rep.failed.n, 0);
        assert_int_equal(rep.warnings.n, 0);
        got = get_bytes(root.path, "usr/share/kvm/gpu.rom", &len);
        assert_int_equal(len, sizeof old);
        assert_memory_equal(got, old, sizeof old);
        free(got);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_null(get_bytes(root.path, "usr/share/kvm/new.rom", &len));
        assert_null(get_bytes(root.path, PV_HOSTPLAN_JOURNAL, &len));
        pv_rollback_report_done(&rep);
        case_end(&c);
}

/* A ROM QEMU's package ships (dpkg's lists say so) is never replaced: the action is blocked with the
 * package named; the same name with the same bytes plans nothing. */
static void test_package_owned_rom_blocked(void **state) {
        (void)state;
        static struct rom_case c;
        case_begin(&c, "roms/efi-virtio.rom", true);
        const struct dir root = c.root;
        static const uint8_t qemu_own[] = { 0x55, 0xaa, 1, 0, 'q', 'e', 'm', 'u' };
        put_bytes(root.path, "usr/share/kvm/efi-virtio.rom", qemu_own, sizeof qemu_own, 0644);
        static const char list[] = "/.\n/usr\n/usr/share/kvm\n/usr/share/kvm/efi-e1000.rom\n"
                                   "/usr/share/kvm/efi-virtio.rom\n";
        put_bytes(root.path, "var/lib/dpkg/info/pve-qemu-kvm.list", (const uint8_t *)list, sizeof list - 1, 0644);
        static const char other[] = "/usr/share/kvm/efi-virtio.rom.bak\n";
        put_bytes(root.path, "var/lib/dpkg/info/aaa.list", (const uint8_t *)other, sizeof other - 1, 0644);
        case_load(&c, HOST_ROM("      - {name: efi-virtio.rom, source: roms/efi-virtio.rom}\n"));
        struct pv_host *h = c.h;
        const struct pv_profile *p = c.p;
        struct pv_plan plan = PV_PLAN_INIT;
        plan_roms(h, p, &plan);
        assert_int_equal(plan.n, 1);
        assert_non_null(plan.actions[0].blocked);
        assert_non_null(strstr(plan.actions[0].blocked, "belongs to the Debian package pve-qemu-kvm"));
        pv_plan_done(&plan);
        /* a name no package ships is planned as before */
        put_bytes(root.path, "var/lib/dpkg/info/pve-qemu-kvm.list", (const uint8_t *)"/usr/share/kvm/x.rom\n", 21, 0644);
        plan = (struct pv_plan)PV_PLAN_INIT;
        plan_roms(h, p, &plan);
        assert_int_equal(plan.n, 1);
        assert_null(plan.actions[0].blocked);
        pv_plan_done(&plan);
        case_end(&c);
}

/* The file changed between plan and apply: refused; a file changed after pvfio wrote it: rollback warns. */
static void test_conflict_and_changed_since(void **state) {
        (void)state;
        static struct rom_case c;
        case_begin(&c, "gpu.rom", false);
        const struct dir root = c.root;
        case_load(&c, HOST_ROM("      - {name: gpu.rom, source: gpu.rom}\n"));
        struct pv_host *h = c.h;
        const struct pv_profile *p = c.p;
        struct pv_plan plan = PV_PLAN_INIT;
        plan_roms(h, p, &plan);
        assert_int_equal(plan.n, 1);
        put_bytes(root.path, "usr/share/kvm/gpu.rom", "\0x", 2, 0644);
        struct pv_runner runner = { no_run, NULL };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_host_apply(h, &plan, &runner, &e), 0);
        assert_int_equal(plan.actions[0].status, PV_ACT_FAILED);
        assert_non_null(strstr(plan.actions[0].error, "changed since the plan was made"));
        pv_plan_done(&plan);
        /* plan again, apply, then someone edits the file: rollback says so and restores anyway */
        plan = (struct pv_plan)PV_PLAN_INIT;
        plan_roms(h, p, &plan);
        assert_int_equal(plan.n, 1);
        assert_non_null(plan.actions[0].before);
        if (pv_host_apply(h, &plan, &runner, &e) < 0)
                fail_msg("%s", pv_error_message(&e));
        assert_int_equal(plan.actions[0].status, PV_ACT_DONE);
        pv_plan_done(&plan);
        put_bytes(root.path, "usr/share/kvm/gpu.rom", "edited", 6, 0644);
        struct pv_rollback_report rep;
        assert_int_equal(pv_host_rollback(h, &runner, &rep, &e), 0);
        assert_int_equal(rep.warnings.n, 1);
        assert_non_null(strstr(rep.warnings.v[0], "changed since pvfio wrote it"));
        size_t len = 0;
        uint8_t *got = get_bytes(root.path, "usr/share/kvm/gpu.rom", &len);
        assert_int_equal(len, 2);
        assert_memory_equal(got, "\0x", 2);
        free(got);
        pv_rollback_report_done(&rep);
        case_end(&c);
}

/* ------------------------------------------------------------- JSON */

static void test_json_roundtrip(void **state) {
        (void)state;
        static uint8_t rom[16 * 512];
        size_t n = rom_build(rom, true);
        char sha_before[PV_SHA256_HEX];
        pv_sha256_hex("old", 3, sha_before);
        struct pv_plan plan = PV_PLAN_INIT;
        struct pv_action a = { .kind = PV_ACT_INSTALL_FILE, .target = strdup("usr/share/kvm/gpu.rom"),
                               .node = strdup("n1"), .reason = strdup("test"),
                               .before = pv_bytes_summary(3, sha_before), .after = strdup("x") };
        int idx = pv_plan_add(&plan, &a, NULL);
        assert_int_equal(idx, 0);
        assert_int_equal(pv_action_set_file_bytes(&plan.actions[0], "usr/share/kvm/gpu.rom", 0644, rom, n, sha_before,
                                                  NULL),
                         0);
        json_t *doc = pv_plan_to_json(&plan);
        char *text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        /* binary never appears as text: base64 only */
        assert_non_null(strstr(text, "\"data_base64\""));
        assert_null(strstr(text, "\\u0000"));
        json_t *back_doc = NULL;
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_plan_json_parse(text, strlen(text), &back_doc, &e), 0);
        struct pv_plan back;
        assert_int_equal(pv_plan_from_json(back_doc, &back, &e), 0);
        json_decref(back_doc);
        assert_int_equal(back.n, 1);
        const struct pv_file_payload *f = pv_action_file(&back.actions[0]);
        assert_int_equal(back.actions[0].kind, PV_ACT_INSTALL_FILE);
        assert_non_null(f);
        assert_int_equal(f->len, n);
        assert_memory_equal(f->data, rom, n);
        assert_string_equal(f->before_sha256, sha_before);
        assert_string_equal(f->sha256, pv_action_file(&plan.actions[0])->sha256);
        assert_string_equal(back.actions[0].key, "file:usr/share/kvm/gpu.rom");
        pv_plan_done(&back);

        /* damaged in transit: one base64 character changed → refused */
        char *p = strstr(text, "\"data_base64\":\"") + strlen("\"data_base64\":\"");
        *p = *p == 'A' ? 'B' : 'A';
        assert_int_equal(pv_plan_json_parse(text, strlen(text), &back_doc, &e), 0);
        assert_true(pv_plan_from_json(back_doc, &back, &e) < 0);
        assert_non_null(strstr(pv_error_message(&e), "do not match their size and sha256"));
        pv_error_done(&e);
        json_decref(back_doc);
        free(text);

        /* a format_version 2 plan of a write-file action (no bytes) still reads */
        static const char v2[] =
                "{\"format_version\": 2, \"actions\": [{\"kind\": \"write-file\", \"target\": \"etc/x\", \"after\": \"a\\n\","
                " \"key\": \"file:etc/x\", \"payload\": {\"path\": \"etc/x\", \"mode\": 420}}]}";
        assert_int_equal(pv_plan_json_parse(v2, strlen(v2), &back_doc, &e), 0);
        assert_int_equal(pv_plan_from_json(back_doc, &back, &e), 0);
        assert_null(pv_action_file(&back.actions[0])->data);
        pv_plan_done(&back);
        json_decref(back_doc);
        /* install-file without its bytes is refused */
        static const char nobytes[] =
                "{\"format_version\": 2, \"actions\": [{\"kind\": \"install-file\", \"target\": \"usr/share/kvm/a\","
                " \"key\": \"file:usr/share/kvm/a\", \"payload\": {\"path\": \"usr/share/kvm/a\", \"mode\": 420}}]}";
        assert_int_equal(pv_plan_json_parse(nobytes, strlen(nobytes), &back_doc, &e), 0);
        assert_true(pv_plan_from_json(back_doc, &back, &e) < 0);
        assert_non_null(strstr(pv_error_message(&e), "install-file needs data_base64"));
        pv_error_done(&e);
        json_decref(back_doc);
        pv_plan_done(&plan);
}

/* ------------------------------------------------------ OVMF warning */

/* A VM's romfile the profile installs on its node: the warning follows the profile's bytes, not the node's file. */
static void test_ovmf_warning_uses_profile_bytes(void **state) {
        (void)state;
        for (int efi = 0; efi < 2; efi++) {
                static struct rom_case c;
                case_begin(&c, "gpu.rom", efi);
                /* the node's current file says the opposite */
                static uint8_t other[16 * 512];
                size_t on = rom_build(other, !efi);
                put_bytes(c.root.path, "usr/share/kvm/gpu.rom", other, on, 0644);
                case_load(&c, HOST_ROM("      - {name: gpu.rom, source: gpu.rom}\n"
                                       "vms:\n"
                                       "  - {name: uefi, node: n1, bios: ovmf, pci: [{address: 0000:02:00.0, "
                                       "romfile: gpu.rom}]}\n"));
                struct pv_host *h = c.h;
                const struct pv_profile *p = c.p;
                struct pv_host_dev dev = { 0 };
                assert_int_equal(pv_pci_addr_parse("0000:02:00.0", &dev.addr, NULL), 0);
                strcpy(dev.name, "0000:02:00.0");
                dev.class_code = 0x030000;
                dev.numa_node = -1;
                struct pv_host_state s = { .devs = &dev, .n_devs = 1 };
                struct pv_host_extras x;
                assert_int_equal(pv_host_extras_load(h, p, "n1", &s, &x, NULL), 0);
                assert_int_equal(x.devs[0].rom_efi, efi);
                struct pv_plan plan = PV_PLAN_INIT;
                assert_int_equal(pv_host_extras_plan(p, "n1", &s, &x, &plan, NULL), 0);
                assert_int_equal(plan.n_warnings, efi ? 0 : 1);
                if (!efi)
                        assert_non_null(strstr(plan.warnings[0], "its romfile 'gpu.rom' for GPU 0000:02:00.0"));
                /* and the install itself is in the host extras' plan */
                assert_int_equal(plan.n, 1);
                assert_int_equal(plan.actions[0].kind, PV_ACT_INSTALL_FILE);
                pv_plan_done(&plan);
                pv_host_extras_done(&x);
                case_end(&c);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sha256_base64),
                cmocka_unit_test(test_profile_errors),
                cmocka_unit_test(test_profile_stdin_defers),
                cmocka_unit_test(test_apply_rollback_idempotent),
                cmocka_unit_test(test_package_owned_rom_blocked),
                cmocka_unit_test(test_conflict_and_changed_since),
                cmocka_unit_test(test_json_roundtrip),
                cmocka_unit_test(test_ovmf_warning_uses_profile_bytes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
