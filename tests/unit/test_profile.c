/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the profile loader (provision/profile*.c): a full profile
 * into the typed model, every validation rule with a good and a bad case,
 * and the YAML limits (alias and depth bombs, size cap, documents, keys,
 * tags, encodings).
 *
 * Rule cases mark the expected position of the problem with "»" inside the
 * YAML text; the marker is removed before parsing and its line:col (1-based,
 * in characters) must be exactly where the diagnostic points.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pvfio/profile.h"

#define MARK "\xc2\xbb" /* » */
#define X64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Remove the marker; return the text and the marker's 1-based line:col (0:0 when absent). */
static char *unmark(const char *in, unsigned *line, unsigned *col) {
        char *out = strdup(in);
        assert_non_null(out);
        *line = *col = 0;
        char *m = strstr(out, MARK);
        if (!m)
                return out;
        unsigned l = 1, c = 1;
        for (const char *p = out; p < m; p++) {
                if (*p == '\n')
                        l++, c = 1;
                else if (((unsigned char)*p & 0xc0) != 0x80)
                        c++;
        }
        memmove(m, m + strlen(MARK), strlen(m + strlen(MARK)) + 1);
        *line = l;
        *col = c;
        assert_null(strstr(out, MARK));
        return out;
}

static void dump_diags(const struct pv_diags *d) {
        for (size_t i = 0; i < d->n; i++)
                print_message("    %u:%u %s [%s] %s\n", d->v[i].line, d->v[i].col, d->v[i].warning ? "warning" : "error",
                              d->v[i].key ? d->v[i].key : "-", d->v[i].message);
}

static int parse(const char *yaml, struct pv_profile **p, struct pv_diags *d) {
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_profile_parse_mem(yaml, strlen(yaml), "test.yaml", p, d, &e);
        if (r < 0 && r != -PV_EINVAL)
                print_message("    error: %s\n", pv_error_message(&e));
        /* the first problem is mirrored into err for callers that ignore diags */
        if (r == -PV_EINVAL) {
                assert_non_null(e.file);
                assert_string_equal(e.file, "test.yaml");
                assert_true(d->n_errors > 0);
        }
        pv_error_done(&e);
        return r;
}

/* Parse; expect no errors at all. Returns the profile (caller frees). */
static struct pv_profile *parse_ok(const char *yaml) {
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        int r = parse(yaml, &p, &d);
        if (r != 0 || d.n_errors) {
                print_message("  expected a valid profile:\n%s\n  got:\n", yaml);
                dump_diags(&d);
        }
        assert_int_equal(r, 0);
        assert_int_equal(d.n_errors, 0);
        assert_non_null(p);
        pv_diags_done(&d);
        return p;
}

static bool has_diag(const struct pv_diags *d, bool warning, unsigned line, unsigned col, const char *msg) {
        for (size_t i = 0; i < d->n; i++)
                if (d->v[i].warning == warning && d->v[i].line == line && d->v[i].col == col &&
                    strstr(d->v[i].message, msg))
                        return true;
        return false;
}

static bool has_msg(const struct pv_diags *d, const char *msg) {
        for (size_t i = 0; i < d->n; i++)
                if (strstr(d->v[i].message, msg))
                        return true;
        return false;
}

/* Parse the marked YAML; expect a diagnostic at the marker containing msg. Returns the diag count. */
static size_t expect_diag(const char *marked, bool warning, const char *msg) {
        unsigned line, col;
        char *yaml = unmark(marked, &line, &col);
        assert_true(line > 0);
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        int r = parse(yaml, &p, &d);
        bool ok = has_diag(&d, warning, line, col, msg);
        if (!ok || (!warning && r != -PV_EINVAL)) {
                print_message("  expected %s at %u:%u containing \"%s\" in:\n%s\n  got (r=%d):\n",
                              warning ? "warning" : "error", line, col, msg, yaml, r);
                dump_diags(&d);
        }
        assert_true(ok);
        if (!warning) {
                assert_int_equal(r, -PV_EINVAL);
                assert_null(p);
        }
        size_t n = d.n;
        pv_profile_free(p);
        pv_diags_done(&d);
        free(yaml);
        return n;
}

/* ------------------------------------------------------------------ pieces */

#define V "version: 1\n"
#define ROOTPW                                                                                              \
        "cluster:\n  api: https://pve1.example.com:8006\n  auth:\n    user: root@pam\n    password_env: PVFIO_PW\n"
#define TOKEN                                                                                                \
        "cluster:\n  api: https://pve1.example.com:8006\n  auth:\n    token: pvfio@pve!auto\n    secret_env: PVFIO_TOK\n"
#define VM "vms:\n  - name: vm1\n    node: pve1\n"
#define MAPRTX "mappings:\n  - id: rtx\n    map:\n      - node: pve1\n        path: 0000:01:00\n"
#define IGD_VM V ROOTPW "vms:\n  - name: igd\n    node: pve1\n    machine: i440fx\n    vga: none\n    pci:\n"

struct rule_case {
        const char *rule;
        const char *good;       /* must load without errors (and without this warning) */
        const char *bad;        /* marked position must carry msg */
        const char *msg;
        bool warning;
};

/* Every rule of docs/profile spec v1: a good and a bad case each. */
static const struct rule_case rules[] = {
        /* ----------------------------------------------------- document */
        { "version required", V, MARK "hosts: []\n", "missing required key 'version'", false },
        { "version is 1", V, "version: " MARK "2\n", "reads profile version 1 only", false },
        { "version is an integer", V, "version: " MARK "\"1\"\n", "must be the integer 1", false },
        { "unknown top-level key", V "vms: []\n", V MARK "vm: []\n", "unknown key 'vm' at the top level; did you mean 'vms'?",
          false },
        { "duplicate key", V "hosts: []\n", V "hosts: []\n" MARK "hosts: []\n", "duplicate key 'hosts' (first defined at line 2",
          false },
        { "non-string key", V, V MARK "[a, b]: 1\n", "mapping keys must be strings", false },
        { "core tags only", V "vms: !!seq []\n", V "vms: " MARK "!custom []\n", "unsupported YAML tag '!custom'", false },
        { "!!str on a list", V "vms: !!seq []\n", V "vms: " MARK "!!str []\n", "unsupported YAML tag '!!str'", false },
        { "one document", "---\n" V "...\n", V MARK "---\n" V, "found a second document", false },
        { "mapping at the root", V, MARK "- version: 1\n", "the profile must be a mapping", false },
        /* ------------------------------------------------------ cluster */
        { "cluster api https", V ROOTPW,
          V "cluster:\n  api: " MARK "http://pve1:8006\n  auth:\n    user: root@pam\n    password_env: P\n",
          "must use https:// (TLS is mandatory", false },
        { "cluster api without path", V ROOTPW,
          V "cluster:\n  api: " MARK "https://pve1:8006/api2/json\n  auth:\n    user: root@pam\n    password_env: P\n",
          "must not contain a path", false },
        { "cluster api port", V ROOTPW,
          V "cluster:\n  api: " MARK "https://pve1:99999\n  auth:\n    user: root@pam\n    password_env: P\n",
          "invalid port", false },
        { "cluster api required", V ROOTPW, V "cluster:\n  " MARK "auth:\n    user: root@pam\n    password_env: P\n",
          "'cluster' needs 'api'", false },
        { "cluster auth required", V ROOTPW, V "cluster:\n  " MARK "api: https://pve1\n", "'cluster' needs 'auth'", false },
        { "auth token or user", V TOKEN,
          V "cluster:\n  api: https://pve1\n  auth:\n    token: a@pve!t\n    " MARK "user: root@pam\n    secret_env: X\n",
          "has both 'token' and 'user'", false },
        { "auth needs token or user", V TOKEN, V "cluster:\n  api: https://pve1\n  auth:\n    " MARK "secret_env: X\n",
          "needs one of 'token' (API token) or 'user'", false },
        { "token format", V TOKEN,
          V "cluster:\n  api: https://pve1\n  auth:\n    token: " MARK "pvfio@pve\n    secret_env: X\n",
          "USER@REALM!TOKENID", false },
        { "user format", V ROOTPW, V "cluster:\n  api: https://pve1\n  auth:\n    user: " MARK "root\n    password_env: X\n",
          "USER@REALM", false },
        { "token needs a secret source", V TOKEN, V "cluster:\n  api: https://pve1\n  auth:\n    " MARK "token: a@pve!t\n",
          "needs one of 'secret_env' or 'secret_file'", false },
        { "one secret source", V TOKEN,
          V "cluster:\n  api: https://pve1\n  auth:\n    token: a@pve!t\n    secret_env: X\n    " MARK "secret_file: /f\n",
          "has both 'secret_env' and 'secret_file'", false },
        { "password source for user", V ROOTPW,
          V "cluster:\n  api: https://pve1\n  auth:\n    user: root@pam\n    password_env: X\n    " MARK "secret_env: Y\n",
          "'cluster.auth.secret_env' belongs to an API token", false },
        { "env var name", V ROOTPW,
          V "cluster:\n  api: https://pve1\n  auth:\n    user: root@pam\n    password_env: " MARK "1X\n",
          "environment variable name", false },
        { "inline secret", V TOKEN,
          V "cluster:\n  api: https://pve1\n  auth:\n    token: a@pve!t\n    secret_env: X\n    " MARK "secret: abc\n",
          "secrets must not be written in the profile; use secret_env or secret_file", false },
        { "inline password", V ROOTPW,
          V "cluster:\n  api: https://pve1\n  auth:\n    user: root@pam\n    password_file: /f\n    " MARK "password: x\n",
          "secrets must not be written in the profile; use password_env or password_file", false },
        { "token_secret anywhere", V VM, V VM "    " MARK "token_secret: abc\n",
          "'vms[0].token_secret' holds a secret: secrets must not be written", false },
        { "tls insecure warns", V ROOTPW "  tls:\n    insecure: false\n", V ROOTPW "  tls:\n    " MARK "insecure: true\n",
          "disables TLS certificate verification", true },
        { "tls fingerprint xor insecure", V ROOTPW "  tls:\n    fingerprint: " "'" "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff" "'\n    insecure: false\n",
          V ROOTPW "  tls:\n    fingerprint: 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\n    " MARK
                   "insecure: true\n",
          "contradicts 'fingerprint'", false },
        { "tls fingerprint sha-256", V ROOTPW "  tls:\n    ca_file: /etc/pve/pve-root-ca.pem\n",
          V ROOTPW "  tls:\n    fingerprint: " MARK "\"AB:CD\"\n", "SHA-256 fingerprint", false },
        { "parallel range", V ROOTPW "  parallel: 64\n", V ROOTPW "  parallel: " MARK "0\n", "must be from 1 to 64", false },
        { "timeout range", V ROOTPW "  timeout: 3600\n", V ROOTPW "  timeout: " MARK "3601\n", "must be from 1 to 3600",
          false },
        { "quoted integer", V ROOTPW "  timeout: 30\n", V ROOTPW "  timeout: " MARK "\"30\"\n", "write it without quotes",
          false },
        /* ------------------------------------------- defaults, templates */
        { "name not in defaults", V "defaults:\n  cores: 2\n", V "defaults:\n  " MARK "name: x\n",
          "'defaults.name' cannot be set in defaults", false },
        { "template not in defaults", V "defaults:\n  cores: 2\n", V "templates:\n  t: {}\ndefaults:\n  " MARK "template: t\n",
          "cannot be set in defaults", false },
        { "node not in templates", V "templates:\n  t:\n    cores: 2\n", V "templates:\n  t:\n    " MARK "node: pve1\n",
          "'templates.t.node' cannot be set in a template", false },
        { "vmid not in templates", V "templates:\n  t:\n    cores: 2\n", V "templates:\n  t:\n    " MARK "vmid: 100\n",
          "cannot be set in a template", false },
        { "template name", V "templates:\n  gpu-desktop_2: {}\n", V "templates:\n  " MARK "Gpu: {}\n",
          "template name 'Gpu' must start with a lower-case", false },
        { "template exists", V "templates:\n  gpu: {}\n" VM "    template: gpu\n",
          V "templates:\n  gpu: {}\n" VM "    template: " MARK "gpx\n", "names template 'gpx', which does not exist; did you mean 'gpu'?",
          false },
        { "template base exists", V "templates:\n  a: {}\n  b:\n    template: a\n",
          V "templates:\n  a: {}\n  b:\n    template: " MARK "c\n", "names template 'c', which does not exist", false },
        { "template cycle", V "templates:\n  a:\n    template: b\n  b: {}\n",
          V "templates:\n  a:\n    template: " MARK "b\n  b:\n    template: a\n", "closes a cycle", false },
        { "template self cycle", V "templates:\n  a: {}\n", V "templates:\n  a:\n    template: " MARK "a\n",
          "closes a cycle: template 'a' inherits from itself", false },
        { "template chain <= 8",
          V "templates:\n  t1: {template: t2}\n  t2: {template: t3}\n  t3: {template: t4}\n  t4: {template: t5}\n"
            "  t5: {template: t6}\n  t6: {template: t7}\n  t7: {template: t8}\n  t8: {}\n",
          V "templates:\n  t1: {template: t2}\n  t2: {template: t3}\n  t3: {template: t4}\n  t4: {template: t5}\n"
            "  t5: {template: t6}\n  t6: {template: t7}\n  t7: {template: t8}\n  t8: {template: " MARK "t9}\n  t9: {}\n",
          "makes the template chain from 't1' longer than 8 templates", false },
        { "bad value reported at the template", V "templates:\n  t:\n    cores: 4\n" VM "    template: t\n",
          V "templates:\n  t:\n    cores: " MARK "2000\n" VM "    template: t\n", "'templates.t.cores' must be from 1 to 1024",
          false },
        /* ------------------------------------------------------------ hosts */
        { "host nodes required", V "hosts:\n  - nodes: all\n", V "hosts:\n  - " MARK "iommu: on\n",
          "'hosts[0]' needs 'nodes'", false },
        { "host node names", V "hosts:\n  - nodes: [pve1, pve-2]\n", V "hosts:\n  - nodes: [pve1, " MARK "pve_2]\n",
          "must be a node name", false },
        { "host node name length",
          V "hosts:\n  - nodes: a23456789012345678901234567890123456789012345678901234567890123\n",
          V "hosts:\n  - nodes: " MARK "a234567890123456789012345678901234567890123456789012345678901234\n",
          "at most 63 characters", false },
        { "host all only alone", V "hosts:\n  - nodes: all\n", V "hosts:\n  - nodes: [pve1, " MARK "all]\n",
          "write 'nodes: all' on its own", false },
        { "iommu values", V "hosts:\n  - nodes: all\n    iommu: off\n", V "hosts:\n  - nodes: all\n    iommu: " MARK "maybe\n",
          "must be one of auto, on, off", false },
        { "binding values", V "hosts:\n  - nodes: all\n    binding: driver_override\n",
          V "hosts:\n  - nodes: all\n    binding: " MARK "driver-override\n", "did you mean 'driver_override'?", false },
        { "booleans are true/false", V "hosts:\n  - nodes: all\n    iommu_pt: false\n",
          V "hosts:\n  - nodes: all\n    iommu_pt: " MARK "no\n", "'no' is not a boolean in YAML 1.2", false },
        { "acs override needs allow_unsafe",
          V "hosts:\n  - nodes: all\n    allow_unsafe: true\n    kernel_args: [pcie_acs_override=downstream]\n",
          V "hosts:\n  - nodes: all\n    kernel_args: [initcall_blacklist=sysfb_init, " MARK "pcie_acs_override=downstream]\n",
          "needs 'allow_unsafe: true' on this host: the ACS override", false },
        { "unsafe interrupts need allow_unsafe",
          V "hosts:\n  - nodes: all\n    allow_unsafe: true\n    kernel_args:\n      - vfio_iommu_type1.allow_unsafe_interrupts=1\n",
          V "hosts:\n  - nodes: all\n    kernel_args:\n      - " MARK "vfio_iommu_type1.allow_unsafe_interrupts=1\n",
          "needs 'allow_unsafe: true'", false },
        { "kernel args without spaces", V "hosts:\n  - nodes: all\n    kernel_args: [quiet]\n",
          V "hosts:\n  - nodes: all\n    kernel_args: [" MARK "\"a b\"]\n", "kernel argument without spaces", false },
        /* issue 11 item 12: arguments that change what boots, and lengths */
        { "kernel args: no root=", V "hosts:\n  - nodes: all\n    kernel_args: [iommu=pt]\n",
          V "hosts:\n  - nodes: all\n    kernel_args: [iommu=pt, " MARK "root=/dev/sda1]\n",
          "kernel argument 'root=/dev/sda1' changes the root filesystem", false },
        { "kernel args: no init=", V "hosts:\n  - nodes: all\n    kernel_args: [initcall_blacklist=sysfb_init]\n",
          V "hosts:\n  - nodes: all\n    kernel_args:\n      - " MARK "init=/bin/sh\n", "changes the first process",
          false },
        { "kernel args: '-' is '_'", V "hosts:\n  - nodes: all\n    kernel_args: [systemd.show_status=1]\n",
          V "hosts:\n  - nodes: all\n    kernel_args: [" MARK "systemd.debug-shell=1]\n", "a root shell on tty9", false },
        { "kernel args: no rd.*", V "hosts:\n  - nodes: all\n    kernel_args: [rdrand=force]\n",
          V "hosts:\n  - nodes: all\n    kernel_args: [" MARK "rd.break]\n", "changes the initramfs (dracut options)",
          false },
        { "kernel args: no boot target", V "hosts:\n  - nodes: all\n    kernel_args: [systemd.show_status=1]\n",
          V "hosts:\n  - nodes: all\n    kernel_args: [" MARK "systemd.unit=rescue.target]\n", "changes the boot target",
          false },
        { "kernel args: one argument length",
          V "hosts:\n  - nodes: all\n    kernel_args: [video=" X64 X64 X64 "]\n",
          V "hosts:\n  - nodes: all\n    kernel_args: [" MARK "video=" X64 X64 X64 X64 "]\n", "the limit is 256", false },
        { "kernel args: total length",
          V "hosts:\n  - nodes: all\n    kernel_args: [a=" X64 X64 X64 ", b=" X64 X64 X64 ", c=" X64 X64 X64
            ", d=" X64 X64 X64 ", e=" X64 X64 X64 "]\n",
          V "hosts:\n  - nodes: all\n    kernel_args: [a=" X64 X64 X64 ", b=" X64 X64 X64 ", c=" X64 X64 X64
            ", d=" X64 X64 X64 ", e=" X64 X64 X64 ", " MARK "f=" X64 X64 X64 "]\n",
          "kernel_args add up to more than 1024 characters", false },
        { "vfio one selector kind", V "hosts:\n  - nodes: all\n    vfio:\n      - id: 10de:25a0\n",
          V "hosts:\n  - nodes: all\n    vfio:\n      - id: 10de:25a0\n        " MARK "address: 01:00.0\n",
          "has both 'id' and 'address'", false },
        { "vfio needs a selector", V "hosts:\n  - nodes: all\n    vfio:\n      - address: 01:00\n",
          V "hosts:\n  - nodes: all\n    vfio:\n      - " MARK "companions: true\n", "needs one of 'id', 'address' or 'match'",
          false },
        { "vendor:device ids", V "hosts:\n  - nodes: all\n    vfio:\n      - id: 10DE:25A0\n",
          V "hosts:\n  - nodes: all\n    vfio:\n      - id: " MARK "10de-25a0\n", "vendor:device ID of 4+4 hex digits", false },
        { "pci address syntax", V "hosts:\n  - nodes: all\n    vfio:\n      - address: 0000:0A:00.1\n",
          V "hosts:\n  - nodes: all\n    vfio:\n      - address: " MARK "01:00.8\n", "is not a PCI address: '01:00.8'",
          false },
        { "match needs a criterion", V "hosts:\n  - nodes: all\n    vfio:\n      - match: {name: RTX}\n",
          V "hosts:\n  - nodes: all\n    vfio:\n      - match: " MARK "{}\n", "needs at least one of 'vendor'", false },
        { "match class", V "hosts:\n  - nodes: all\n    vfio:\n      - match: {class: \"030000\"}\n",
          V "hosts:\n  - nodes: all\n    vfio:\n      - match: {class: " MARK "\"03\"}\n", "4 or 6 hex digits", false },
        { "softdeps auto or list", V "hosts:\n  - nodes: all\n    softdeps: [nvidia, snd_hda_intel]\n",
          V "hosts:\n  - nodes: all\n    softdeps: " MARK "nvidia\n", "must be 'auto' or a list of driver names", false },
        { "driver names", V "hosts:\n  - nodes: all\n    blacklist: [nouveau]\n",
          V "hosts:\n  - nodes: all\n    blacklist: [" MARK "nou/veau]\n", "a driver name", false },
        { "sriov pf with function", V "hosts:\n  - nodes: all\n    sriov:\n      - pf: 0000:03:00.0\n        vfs: 0\n",
          V "hosts:\n  - nodes: all\n    sriov:\n      - pf: " MARK "0000:03:00\n        vfs: 4\n", "needs a function", false },
        { "sriov vfs range", V "hosts:\n  - nodes: all\n    sriov:\n      - pf: 0000:03:00.0\n        vfs: 256\n",
          V "hosts:\n  - nodes: all\n    sriov:\n      - pf: 0000:03:00.0\n        vfs: " MARK "257\n", "must be from 0 to 256",
          false },
        { "vgpu values", V "hosts:\n  - nodes: all\n    vgpu: gvt-g\n", V "hosts:\n  - nodes: all\n    vgpu: " MARK "grid\n",
          "must be one of none, gvt-g, nvidia-sriov", false },
        { "nvidia-sriov with a 10de vfio selector",
          V "hosts:\n  - nodes: all\n    vgpu: nvidia-sriov\n    vfio:\n      - id: 1002:73bf\n",
          V "hosts:\n  - nodes: all\n    vgpu: nvidia-sriov\n    vfio:\n      - " MARK "id: 10de:2236\n",
          "keeps the NVIDIA host driver bound", true },
        { "host entry after all", V "hosts:\n  - nodes: pve1\n  - nodes: all\n",
          V "hosts:\n  - nodes: all\n  - " MARK "nodes: pve1\n", "never applies", true },
        { "node in two host entries", V "hosts:\n  - nodes: pve1\n  - nodes: pve2\n",
          V "hosts:\n  - nodes: pve1\n  - " MARK "nodes: [pve2, pve1]\n", "node 'pve1' is already configured by hosts[0]",
          true },
        { "unknown host key hint", V "hosts:\n  - nodes: all\n    disable_vga: true\n",
          V "hosts:\n  - nodes: all\n    " MARK "disable-vga: true\n", "unknown key 'disable-vga' in 'hosts[0]'; did you mean 'disable_vga'?",
          false },
        /* --------------------------------------------------------- mappings */
        { "mapping id required", V MAPRTX, V "mappings:\n  - " MARK "map:\n      - node: pve1\n        path: 01:00\n",
          "'mappings[0]' needs 'id'", false },
        { "mapping id syntax", V MAPRTX, V "mappings:\n  - id: " MARK "1gpu\n    map:\n      - node: pve1\n        path: 01:00\n",
          "an id of letters", false },
        { "mapping id unique", V MAPRTX "  - id: rtx2\n    map:\n      - node: pve2\n        path: 02:00\n",
          V MAPRTX "  - " MARK "id: rtx\n    map:\n      - node: pve2\n        path: 02:00\n",
          "duplicate mapping id 'rtx' (also mappings[0], line 3)", false },
        { "mapping map required", V MAPRTX, V "mappings:\n  - " MARK "id: rtx\n", "'mappings[0]' needs 'map'", false },
        { "mapping map not empty", V MAPRTX, V "mappings:\n  - id: rtx\n    map: " MARK "[]\n", "is empty", false },
        { "map entry node", V MAPRTX, V "mappings:\n  - id: rtx\n    map:\n      - " MARK "path: 01:00\n", "needs 'node'",
          false },
        { "map entry path", V "mappings:\n  - id: rtx\n    map:\n      - node: pve1\n        path: [0000:01:00.0, 01:00.1]\n",
          V "mappings:\n  - id: rtx\n    map:\n      - node: pve1\n        path: [0000:01:00.0, " MARK "zz]\n",
          "is not a PCI address: 'zz'", false },
        { "map entry path group", V "mappings:\n  - id: rtx\n    map:\n      - node: pve1\n        path: \"01:00.0;01:00.1\"\n",
          V "mappings:\n  - id: rtx\n    map:\n      - node: pve1\n        path: " MARK "\"01:00.0;\"\n",
          "has an empty element", false },
        { "map entry ids", V MAPRTX "        id: 10de:25a0\n        subsystem_id: 1028:0A61\n",
          V MAPRTX "        subsystem_id: " MARK "1028\n", "vendor:device ID", false },
        { "map entry iommu group", V MAPRTX "        iommu_group: 0\n", V MAPRTX "        iommu_group: " MARK "-1\n",
          "must be from 0", false },
        { "mapping key hint", V MAPRTX "    live_migration_capable: true\n", V MAPRTX "    " MARK "live-migration-capable: true\n",
          "did you mean 'live_migration_capable'?", false },
        /* -------------------------------------------------------------- VMs */
        { "vm name required", V VM, V "vms:\n  - " MARK "node: pve1\n", "'vms[0]' needs 'name'", false },
        { "vm node required", V VM, V "vms:\n  - " MARK "name: vm1\n", "'vms[0]' needs 'node'", false },
        { "vm name syntax", V "vms:\n  - name: web-1.example\n    node: pve1\n", V "vms:\n  - name: " MARK "-bad\n    node: pve1\n",
          "must be a VM name", false },
        { "vm names unique", V VM "  - name: vm2\n    node: pve1\n", V VM "  - " MARK "name: vm1\n    node: pve2\n",
          "duplicate VM name 'vm1' (also vms[0], line 3)", false },
        { "vm node name", V VM, V "vms:\n  - name: vm1\n    node: " MARK "\"pve 1\"\n", "must be a node name", false },
        { "vmid lower bound", V VM "    vmid: 100\n", V VM "    vmid: " MARK "99\n", "must be from 100 to 999999999", false },
        { "vmid upper bound", V VM "    vmid: 999999999\n", V VM "    vmid: " MARK "1000000000\n", "must be from 100 to 999999999",
          false },
        { "vmids unique", V VM "    vmid: 100\n  - name: vm2\n    node: pve1\n    vmid: 101\n",
          V VM "    vmid: 100\n  - name: vm2\n    node: pve1\n    " MARK "vmid: 100\n", "duplicate vmid 100 (also vms[0], line 5)",
          false },
        { "vm state", V VM "    state: absent\n", V VM "    state: " MARK "started\n",
          "must be one of present, running, stopped, absent", false },
        { "vm machine", V VM "    machine: i440fx\n", V VM "    machine: " MARK "pc\n", "must be one of q35, i440fx", false },
        { "machine version", V VM "    machine_version: 9.2\n", V VM "    machine_version: " MARK "\"9\"\n", "machine version",
          false },
        { "machine version pve", V VM "    machine_version: \"9.2+pve1\"\n", V VM "    machine_version: " MARK "9.2+pve\n",
          "machine version", false },
        { "bios values", V VM "    bios: seabios\n", V VM "    bios: " MARK "uefi\n", "must be one of seabios, ovmf", false },
        { "ovmf without efidisk", V VM "    bios: ovmf\n    efidisk: {storage: local-lvm}\n", V VM "    " MARK "bios: ovmf\n",
          "without 'efidisk'", true },
        { "efidisk storage", V VM "    bios: ovmf\n    efidisk: {storage: local-lvm, pre_enrolled_keys: false}\n",
          V VM "    bios: ovmf\n    efidisk: " MARK "{pre_enrolled_keys: false}\n", "'vms[0].efidisk' needs 'storage'", false },
        { "cpu flags", V VM "    cpu: {type: host, flags: [\"+pcid\", \"-md-clear\"], hidden: true}\n",
          V VM "    cpu: {type: host, flags: [" MARK "pcid]}\n", "CPU flag", false },
        { "cpu type", V VM "    cpu: x86-64-v2-AES\n", V VM "    cpu: " MARK "\"host cpu\"\n", "CPU type", false },
        { "cores range", V VM "    cores: 1024\n", V VM "    cores: " MARK "0\n", "must be from 1 to 1024", false },
        { "sockets range", V VM "    sockets: 16\n", V VM "    sockets: " MARK "17\n", "must be from 1 to 16", false },
        { "memory syntax", V VM "    memory: 16GiB\n", V VM "    memory: " MARK "16Q\n", "must be a size", false },
        { "memory minimum", V VM "    memory: 16\n", V VM "    memory: " MARK "8\n", "at least 16 MiB", false },
        { "memory whole MiB", V VM "    memory: 1.5G\n", V VM "    memory: " MARK "1.5K\n", "whole number of MiB", false },
        { "balloon <= memory", V VM "    memory: 4G\n    balloon: 4096\n", V VM "    memory: 4G\n    " MARK "balloon: 8G\n",
          "must not exceed 'memory' (4096 MiB)", false },
        { "hugepages", V VM "    hugepages: 2M\n", V VM "    hugepages: " MARK "4M\n", "must be one of 2M, 1G, any", false },
        { "scsihw", V VM "    scsihw: virtio-scsi-single\n", V VM "    scsihw: " MARK "virtio\n", "must be one of lsi", false },
        { "vga", V VM "    vga: serial0\n", V VM "    vga: " MARK "qxl2\n", "must be one of std", false },
        { "ostype", V VM "    ostype: win11\n", V VM "    ostype: " MARK "wn11\n", "did you mean 'win11'?", false },
        { "tags", V VM "    tags: [gpu, vdi_1]\n", V VM "    tags: [gpu, " MARK "-x]\n", "a tag", false },
        { "vm key hint", V VM "    cores: 2\n", V VM "    " MARK "cors: 2\n", "unknown key 'cors' in 'vms[0]'; did you mean 'cores'?",
          false },
        { "disk storage required", V VM "    disks:\n      - storage: local-lvm\n        size: 64G\n",
          V VM "    disks:\n      - " MARK "size: 64G\n", "'vms[0].disks[0]' needs 'storage'", false },
        { "disk size unit", V VM "    disks:\n      - storage: local-lvm\n        size: 512M\n",
          V VM "    disks:\n      - storage: local-lvm\n        size: " MARK "64\n", "needs a unit", false },
        { "disk index per bus", V VM "    disks:\n      - {bus: sata, index: 5, storage: local-lvm, size: 8G}\n",
          V VM "    disks:\n      - {bus: sata, index: " MARK "6, storage: local-lvm, size: 8G}\n", "must be from 0 to 5", false },
        { "disk index unique",
          V VM "    disks:\n      - {index: 0, storage: local-lvm, size: 8G}\n      - {bus: virtio, index: 0, storage: s1, size: 8G}\n",
          V VM "    disks:\n      - {index: 0, storage: local-lvm, size: 8G}\n      - {" MARK "index: 0, storage: s1, size: 8G}\n",
          "disk index 0 is used twice", false },
        { "storage id", V VM "    disks:\n      - {storage: ceph.pool-1, size: 8G}\n",
          V VM "    disks:\n      - {storage: " MARK "\"local lvm\", size: 8G}\n", "storage id", false },
        { "network bridge required", V VM "    networks:\n      - bridge: vmbr0\n",
          V VM "    networks:\n      - " MARK "model: virtio\n", "'vms[0].networks[0]' needs 'bridge'", false },
        { "network vlan", V VM "    networks:\n      - {bridge: vmbr0, vlan: 4094}\n",
          V VM "    networks:\n      - {bridge: vmbr0, vlan: " MARK "4095}\n", "must be from 1 to 4094", false },
        { "network mac", V VM "    networks:\n      - {bridge: vmbr0, macaddr: \"bc:24:11:aa:bb:cc\"}\n",
          V VM "    networks:\n      - {bridge: vmbr0, macaddr: " MARK "\"01:00:5E:00:00:01\"}\n", "unicast MAC", false },
        { "network model", V VM "    networks:\n      - {bridge: vmbr0, model: e1000e}\n",
          V VM "    networks:\n      - {bridge: vmbr0, model: " MARK "virtio-net}\n", "must be one of virtio", false },
        { "network index unique", V VM "    networks:\n      - {bridge: vmbr0, index: 1}\n      - {bridge: vmbr1, index: 2}\n",
          V VM "    networks:\n      - {bridge: vmbr0, index: 1}\n      - {bridge: vmbr1, " MARK "index: 1}\n",
          "network index 1 (net1) is used twice", false },
        /* -------------------------------------------------------------- PCI */
#define PCI16                                                                                                    \
        "      - mapping: rtx\n      - mapping: rtx\n      - mapping: rtx\n      - mapping: rtx\n"                   \
        "      - mapping: rtx\n      - mapping: rtx\n      - mapping: rtx\n      - mapping: rtx\n"                   \
        "      - mapping: rtx\n      - mapping: rtx\n      - mapping: rtx\n      - mapping: rtx\n"                   \
        "      - mapping: rtx\n      - mapping: rtx\n      - mapping: rtx\n      - mapping: rtx\n"
        { "at most 16 pci devices", V MAPRTX VM "    pci:\n" PCI16, V MAPRTX VM "    pci:\n" PCI16 "      - " MARK "mapping: rtx\n",
          "one PCI device too many: Proxmox allows at most 16", false },
        { "pci entry needs a kind", V MAPRTX VM "    pci:\n      - mapping: rtx\n        pcie: false\n",
          V MAPRTX VM "    pci:\n      - " MARK "pcie: true\n", "needs one of 'mapping', 'address' or 'vf_of'", false },
        { "raw and mapping on one entry", V ROOTPW MAPRTX VM "    pci:\n      - address: 0000:01:00\n",
          V ROOTPW MAPRTX VM "    pci:\n      - address: 0000:01:00\n        " MARK "mapping: rtx\n",
          "has both 'address' and 'mapping'", false },
        { "vf_of and mapping on one entry", V ROOTPW MAPRTX VM "    pci:\n      - vf_of: 0000:03:00.0\n",
          V ROOTPW MAPRTX VM "    pci:\n      - mapping: rtx\n        " MARK "vf_of: 0000:03:00.0\n",
          "has both 'mapping' and 'vf_of'", false },
        { "mapping exists", V MAPRTX VM "    pci:\n      - mapping: rtx\n", V MAPRTX VM "    pci:\n      - " MARK "mapping: rtz\n",
          "mapping 'rtz' does not exist; declare it under 'mappings' (did you mean 'rtx'?)", false },
        { "mapping has an entry for the node", V MAPRTX VM "    pci:\n      - mapping: rtx\n",
          V MAPRTX "  - id: other\n    map:\n      - node: pve2\n        path: 02:00\n" VM "    pci:\n      - " MARK "mapping: other\n",
          "mapping 'other' has no entry for node 'pve1'", false },
        { "pcie needs q35", V MAPRTX VM "    machine: q35\n    pci:\n      - mapping: rtx\n        pcie: true\n",
          V MAPRTX VM "    pci:\n      - mapping: rtx\n        " MARK "pcie: true\n",
          "needs 'machine: q35' (no machine is set, so Proxmox uses i440fx): Proxmox refuses to start the VM with 'q35 machine model is not enabled'",
          false },
        { "pcie needs q35 (i440fx)", V MAPRTX VM "    machine: q35\n    pci:\n      - mapping: rtx\n        pcie: true\n",
          V MAPRTX VM "    machine: i440fx\n    pci:\n      - mapping: rtx\n        " MARK "pcie: true\n",
          "q35 machine model is not enabled", false },
        { "pcie from a template, reported there",
          V MAPRTX "templates:\n  t:\n    pci:\n      - mapping: rtx\n        pcie: true\n" VM "    template: t\n    machine: q35\n",
          V MAPRTX "templates:\n  t:\n    pci:\n      - mapping: rtx\n        " MARK "pcie: true\n" VM "    template: t\n",
          "q35 machine model is not enabled", false },
        { "mdev needs one function", V ROOTPW VM "    pci:\n      - address: 0000:01:00.0\n        mdev: nvidia-1\n",
          V ROOTPW VM "    pci:\n      - address: 0000:01:00\n        " MARK "mdev: nvidia-1\n",
          "cannot use mediated device with multifunction device", false },
        { "mdev needs one device", V ROOTPW VM "    pci:\n      - address: \"0000:01:00.0;0000:01:00.1\"\n",
          V ROOTPW VM "    pci:\n      - address: \"0000:01:00.0;0000:01:00.1\"\n        " MARK "mdev: i915-GVTg_V5_4\n",
          "cannot use mediated device with multifunction device", false },
        { "mdev type syntax", V ROOTPW VM "    pci:\n      - address: 0000:00:02.0\n        mdev: i915-GVTg_V5_4\n",
          V ROOTPW VM "    pci:\n      - address: 0000:00:02.0\n        mdev: " MARK "nvidia.1\n", "mdev type", false },
#define MDEVMAP "mappings:\n  - id: vgpu\n    mdev: true\n    map:\n      - node: pve1\n        path: 0000:03:00.4\n"
        { "mdev needs an mdev mapping", V MDEVMAP VM "    pci:\n      - mapping: vgpu\n        mdev: nvidia-660\n",
          V MAPRTX VM "    pci:\n      - mapping: rtx\n        " MARK "mdev: nvidia-660\n",
          "'mdev' needs a mapping declared with 'mdev: true', but mapping 'rtx' is not", false },
        { "mdev on a mapping needs one function", V MDEVMAP VM "    pci:\n      - mapping: vgpu\n        mdev: nvidia-660\n",
          V "mappings:\n  - id: vgpu\n    mdev: true\n    map:\n      - {node: pve1, path: 0000:03:00}\n" VM
            "    pci:\n      - mapping: vgpu\n        " MARK "mdev: nvidia-660\n",
          "mapping 'vgpu' maps a multi-function device on node 'pve1'", false },
        { "iommu is a word", V "hosts:\n  - nodes: all\n    iommu: on\n", V "hosts:\n  - nodes: all\n    iommu: " MARK "true\n",
          "got the boolean true; write 'on'", false },
        { "string keys", V "templates:\n  \"3090\": {}\n", V "templates:\n  " MARK "3090: {}\n",
          "mapping keys must be strings, not an integer ('3090'); quote it", false },
        { "one primary GPU", V MAPRTX VM "    pci:\n      - mapping: rtx\n        primary: true\n      - mapping: rtx\n        primary: false\n",
          V MAPRTX VM "    pci:\n      - mapping: rtx\n        primary: true\n      - mapping: rtx\n        " MARK "primary: true\n",
          "'primary: true' (x-vga) on more than one device of this VM (first at line 12)", false },
        { "slot unique", V MAPRTX VM "    pci:\n      - {mapping: rtx, slot: 3}\n      - {mapping: rtx, slot: 4}\n",
          V MAPRTX VM "    pci:\n      - {mapping: rtx, slot: 3}\n      - {mapping: rtx, " MARK "slot: 3}\n",
          "hostpci slot 3 is used twice", false },
        { "slot range", V MAPRTX VM "    pci:\n      - {mapping: rtx, slot: 15}\n",
          V MAPRTX VM "    pci:\n      - {mapping: rtx, slot: " MARK "16}\n", "must be from 0 to 15", false },
        { "legacy igd address", IGD_VM "      - address: 0000:00:02.0\n        legacy_igd: true\n",
          IGD_VM "      - address: 0000:01:00.0\n        " MARK "legacy_igd: true\n",
          "legacy IGD must be the integrated GPU at XX:02.0", false },
        { "legacy igd i440fx",
          V ROOTPW "vms:\n  - name: igd\n    node: pve1\n    vga: none\n    pci:\n      - address: 0000:00:02.0\n        legacy_igd: true\n",
          V ROOTPW "vms:\n  - name: igd\n    node: pve1\n    machine: q35\n    vga: none\n    pci:\n      - address: 0000:00:02.0\n        " MARK
                   "legacy_igd: true\n",
          "legacy IGD needs machine i440fx", false },
        { "legacy igd vga none", IGD_VM "      - address: 0000:00:02.0\n        legacy_igd: true\n",
          V ROOTPW "vms:\n  - name: igd\n    node: pve1\n    pci:\n      - address: 0000:00:02.0\n        " MARK "legacy_igd: true\n",
          "legacy IGD needs 'vga: none'", false },
        { "legacy igd rombar", IGD_VM "      - address: 0000:00:02.0\n        legacy_igd: true\n        rombar: true\n",
          IGD_VM "      - address: 0000:00:02.0\n        " MARK "legacy_igd: true\n        rombar: false\n", "remove 'rombar: false'",
          false },
        { "legacy igd not primary", IGD_VM "      - address: 0000:00:02.0\n        legacy_igd: true\n        primary: false\n",
          IGD_VM "      - address: 0000:00:02.0\n        " MARK "legacy_igd: true\n        primary: true\n",
          "cannot be combined with 'primary'", false },
        { "legacy igd not mdev", IGD_VM "      - address: 0000:00:02.0\n        legacy_igd: true\n",
          IGD_VM "      - address: 0000:00:02.0\n        " MARK "legacy_igd: true\n        mdev: i915-GVTg_V5_4\n",
          "cannot be combined with 'mdev'", false },
        { "legacy igd one device", IGD_VM "      - address: 0000:00:02.0\n        legacy_igd: true\n",
          IGD_VM "      - address: [0000:00:02.0, 0000:00:1f.3]\n        " MARK "legacy_igd: true\n",
          "cannot pass several devices together", false },
        { "legacy igd only one",
          IGD_VM "      - address: 0000:00:02.0\n        legacy_igd: true\n      - address: 0000:01:00.0\n        legacy_igd: false\n",
          IGD_VM "      - address: 0000:00:02.0\n        legacy_igd: true\n      - address: 0001:00:02.0\n        " MARK "legacy_igd: true\n",
          "'legacy_igd: true' on more than one device of this VM (first at line 14)", false },
        { "legacy igd not a VF", IGD_VM "      - address: 0000:00:02.0\n        legacy_igd: true\n",
          IGD_VM "      - vf_of: 0000:00:02.0\n        " MARK "legacy_igd: true\n", "not an SR-IOV VF", false },
        { "legacy igd mapping without alternatives",
          V ROOTPW "mappings:\n  - id: igd\n    map:\n      - {node: pve1, path: 0000:00:02.0}\n"
            "vms:\n  - name: igd\n    node: pve1\n    machine: i440fx\n    vga: none\n    pci:\n      - mapping: igd\n        legacy_igd: true\n",
          V ROOTPW "mappings:\n  - id: igd\n    map:\n      - {node: pve1, path: 0000:00:02.0}\n      - {node: pve1, path: 0001:00:02.0}\n"
            "vms:\n  - name: igd\n    node: pve1\n    machine: i440fx\n    vga: none\n    pci:\n      - mapping: igd\n        " MARK
            "legacy_igd: true\n",
          "it has 2 alternative entries for node 'pve1'", false },
        { "romfile is a file name", V ROOTPW VM "    pci:\n      - address: 0000:01:00\n        romfile: vbios.rom\n",
          V ROOTPW VM "    pci:\n      - address: 0000:01:00\n        romfile: " MARK "/usr/share/kvm/vbios.rom\n",
          "without a path separator '/'", false },
        { "token with raw address", V TOKEN MAPRTX VM "    pci:\n      - mapping: rtx\n",
          V TOKEN VM "    pci:\n      - " MARK "address: 0000:01:00\n",
          "raw PCI device needs a root@pam password session: Proxmox accepts raw hostpciN only from root@pam (an API token, even "
          "root@pam!tok, is refused with 'only root can set",
          false },
        { "token with a VF", V ROOTPW VM "    pci:\n      - vf_of: 0000:03:00.0\n", V TOKEN VM "    pci:\n      - " MARK "vf_of: 0000:03:00.0\n",
          "raw PCI device needs a root@pam password session", false },
        { "token with romfile", V ROOTPW MAPRTX VM "    pci:\n      - mapping: rtx\n        romfile: x.rom\n",
          V TOKEN MAPRTX VM "    pci:\n      - mapping: rtx\n        " MARK "romfile: x.rom\n",
          "'romfile' needs a root@pam password session", false },
        { "token with hugepages", V ROOTPW VM "    hugepages: 1G\n", V TOKEN VM "    " MARK "hugepages: 1G\n",
          "'hugepages' needs a root@pam password session", false },
        { "non-root user with raw address", V ROOTPW VM "    pci:\n      - address: 0000:01:00\n",
          V "cluster:\n  api: https://pve1\n  auth:\n    user: admin@pve\n    password_env: P\n" VM "    pci:\n      - " MARK
            "address: 0000:01:00\n",
          "raw PCI device needs a root@pam password session", false },
        { "absent VM may keep raw devices", V TOKEN VM "    state: absent\n    pci:\n      - address: 0000:01:00\n",
          V TOKEN VM "    state: stopped\n    pci:\n      - " MARK "address: 0000:01:00\n", "raw PCI device needs a root@pam",
          false },
        { "id overrides", V MAPRTX VM "    pci:\n      - {mapping: rtx, vendor_id: 0x10DE, device_id: \"25a0\", sub_vendor_id: 1028}\n",
          V MAPRTX VM "    pci:\n      - {mapping: rtx, vendor_id: " MARK "0x10d}\n", "must be 4 hex digits", false },
        { "driver mode", V MAPRTX VM "    pci:\n      - {mapping: rtx, driver: keep}\n",
          V MAPRTX VM "    pci:\n      - {mapping: rtx, driver: " MARK "none}\n", "must be one of vfio, keep", false },
        { "x-vga hint", V MAPRTX VM "    pci:\n      - mapping: rtx\n        primary: true\n",
          V MAPRTX VM "    pci:\n      - mapping: rtx\n        " MARK "x-vga: true\n",
          "unknown key 'x-vga' in 'vms[0].pci[0]'; did you mean 'primary'?", false },
        { "legacy-igd hint", IGD_VM "      - address: 0000:00:02.0\n        legacy_igd: true\n",
          IGD_VM "      - address: 0000:00:02.0\n        " MARK "legacy-igd: true\n", "did you mean 'legacy_igd'?", false },
        { "vf_of needs a function", V ROOTPW VM "    pci:\n      - vf_of: 0000:03:00.0\n",
          V ROOTPW VM "    pci:\n      - vf_of: " MARK "0000:03:00\n", "needs a function", false },
        { "device assigned once", V ROOTPW VM "    pci:\n      - address: 0000:01:00.0\n      - address: 0000:01:00.1\n",
          V ROOTPW VM "    pci:\n      - address: 0000:01:00\n      - " MARK "address: 0000:01:00.1\n",
          "device '0000:01:00.1' is assigned more than once in this VM (also in pci[0])", false },
};

/* ------------------------------------------------------------ rule runner */

static void run_rule(void **state) {
        const struct rule_case *rc = *state;
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        int r = parse(rc->good, &p, &d);
        bool bad = r != 0 || d.n_errors || has_msg(&d, rc->msg);
        if (bad) {
                print_message("  good case of '%s' is not clean:\n%s\n  got (r=%d):\n", rc->rule, rc->good, r);
                dump_diags(&d);
        }
        assert_false(bad);
        pv_profile_free(p);
        pv_diags_done(&d);
        expect_diag(rc->bad, rc->warning, rc->msg);
}

/* ------------------------------------------------------------ full model */

static const char full_profile[] =
        "version: 1\n"
        "cluster:\n"
        "  name: homelab\n"
        "  api: HTTPS://PVE1.Example.com\n"
        "  auth:\n"
        "    user: root@pam\n"
        "    password_file: /etc/pvfio/root.pw\n"
        "  tls:\n"
        "    fingerprint: \"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00112233445566778899AABBCCDDEEFF\"\n"
        "  parallel: 4\n"
        "  timeout: 60\n"
        "defaults:\n"
        "  machine: q35\n"
        "  memory: 4G\n"
        "  tags: [fleet]\n"
        "templates:\n"
        "  base: &base\n"
        "    bios: ovmf\n"
        "    efidisk: { storage: local-lvm }\n"
        "    cores: 4\n"
        "    ostype: l26\n"
        "  gpu-desktop:\n"
        "    template: base\n"
        "    cores: 8\n"
        "    memory: 16G\n"
        "    pci:\n"
        "      - mapping: rtx\n"                                   /* line 27 */
        "        pcie: true\n"
        "        primary: true\n"
        "hosts:\n"
        "  - nodes: [pve1, pve2]\n"
        "    iommu: on\n"
        "    iommu_pt: false\n"
        "    kernel_args: [initcall_blacklist=sysfb_init, \"pcie_acs_override=downstream,multifunction\"]\n"
        "    allow_unsafe: true\n"
        "    binding: driver_override\n"
        "    vfio:\n"
        "      - id: 10DE:25A0\n"
        "      - address: 0A:00\n"
        "        companions: false\n"
        "      - match: { vendor: 10de, class: \"0300\", name: RTX }\n"
        "    softdeps: [nvidia, snd_hda_intel]\n"
        "    blacklist: [nouveau]\n"
        "    disable_vga: true\n"
        "    sriov:\n"
        "      - pf: 0000:03:00.0\n"
        "        vfs: 7\n"
        "    vgpu: gvt-g\n"
        "    accept_shared_groups: true\n"
        "  - nodes: all\n"
        "mappings:\n"
        "  - id: rtx\n"
        "    description: RTX 3050 on each node\n"
        "    mdev: true\n"
        "    live_migration_capable: true\n"
        "    map:\n"
        "      - node: pve1\n"
        "        path: 01:00\n"
        "        id: 10de:25a0\n"
        "        subsystem_id: 1028:0A61\n"
        "        iommu_group: 15\n"
        "        description: left slot\n"
        "      - node: pve2\n"
        "        path: \"0000:02:00.0;0000:02:00.1\"\n"
        "      - node: pve2\n"
        "        path: [0000:03:00.0, 0000:03:00.1]\n"
        "  - id: vgpu\n"
        "    mdev: true\n"
        "    map: [{node: pve2, path: 0000:04:00.4}, {node: pve2, path: 0000:04:00.5}]\n"
        "vms:\n"
        "  - name: ws1\n"                                           /* line 71 */
        "    node: pve1\n"
        "    vmid: 101\n"
        "    template: gpu-desktop\n"
        "    state: running\n"
        "    cores: 12\n"
        "    machine_version: \"9.2+pve1\"\n"
        "    cpu: { type: host, flags: [\"+pcid\", \"-md-clear\"], hidden: true }\n"
        "    sockets: 2\n"
        "    balloon: 2048\n"
        "    hugepages: 1G\n"
        "    numa: true\n"
        "    scsihw: virtio-scsi-single\n"
        "    disks:\n"
        "      - storage: local-lvm\n"
        "        size: 1.5T\n"
        "        options: \"ssd=1,discard=on\"\n"
        "      - bus: virtio\n"
        "        index: 3\n"
        "        storage: ceph.pool\n"
        "        size: 512M\n"
        "    networks:\n"
        "      - bridge: vmbr0\n"
        "        vlan: 20\n"
        "        firewall: true\n"
        "        macaddr: \"bc:24:11:aa:bb:cc\"\n"
        "        index: 1\n"
        "      - model: e1000\n"
        "        bridge: vmbr1\n"
        "    vga: none\n"
        "    tags: [gpu, vdi]\n"
        "    onboot: true\n"
        "  - name: ws2\n"
        "    node: pve2\n"
        "    <<: *base\n"
        "    cores: 2\n"
        "    pci:\n"
        "      - address: [0000:0A:00.0, 0b:00.1]\n"
        "        rombar: false\n"
        "        romfile: vbios.rom\n"
        "        driver: keep\n"
        "        vendor_id: 0x10DE\n"
        "        device_id: \"25a0\"\n"
        "        sub_vendor_id: 1028\n"
        "        sub_device_id: 0A61\n"
        "        slot: 3\n"
        "      - vf_of: 0000:03:00.0\n"
        "        mdev: nvidia-660\n"
        "      - mapping: vgpu\n"
        "        mdev: i915-GVTg_V5_4\n";

static void test_full_model(void **state) {
        (void)state;
        struct pv_profile *p = parse_ok(full_profile);

        assert_string_equal(p->file, "test.yaml");
        assert_int_equal(p->version, 1);
        /* cluster */
        const struct pv_cluster *cl = &p->cluster;
        assert_true(cl->present);
        assert_string_equal(cl->name, "homelab");
        assert_string_equal(cl->api_url, "https://pve1.example.com:8006");
        assert_int_equal(cl->api_url_loc.line, 4);
        assert_int_equal(cl->api_url_loc.col, 8);
        assert_ptr_equal(cl->api_url_loc.file, p->file);
        assert_int_equal(cl->auth, PV_AUTH_PASSWORD);
        assert_string_equal(cl->user, "root@pam");
        assert_null(cl->token_id);
        assert_null(cl->secret.env);
        assert_string_equal(cl->secret.file, "/etc/pvfio/root.pw");
        assert_string_equal(cl->tls_fingerprint,
                            "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF");
        assert_false(cl->tls_insecure);
        assert_int_equal(cl->parallel, 4);
        assert_int_equal(cl->timeout_s, 60);

        /* hosts */
        assert_int_equal(p->n_hosts, 2);
        const struct pv_host_spec *h = &p->hosts[0];
        assert_int_equal(h->nodes.n, 2);
        assert_string_equal(h->nodes.v[0], "pve1");
        assert_string_equal(h->nodes.v[1], "pve2");
        assert_false(h->all_nodes);
        assert_int_equal(h->iommu, PV_ON);
        assert_false(h->iommu_pt);
        assert_int_equal(h->kernel_args.n, 2);
        assert_string_equal(h->kernel_args.v[1], "pcie_acs_override=downstream,multifunction");
        assert_int_equal(h->kernel_arg_locs[1].line, 34);
        assert_true(h->allow_unsafe);
        assert_int_equal(h->binding, PV_BIND_DRIVER_OVERRIDE);
        assert_int_equal(h->n_vfio, 3);
        assert_int_equal(h->vfio[0].kind, PV_DEVSEL_ID);
        assert_int_equal(h->vfio[0].id.vendor, 0x10de);
        assert_int_equal(h->vfio[0].id.device, 0x25a0);
        assert_true(h->vfio[0].companions);
        assert_int_equal(h->vfio[1].kind, PV_DEVSEL_ADDR);
        assert_int_equal(h->vfio[1].addr.domain, 0);
        assert_int_equal(h->vfio[1].addr.bus, 0x0a);
        assert_int_equal(h->vfio[1].addr.dev, 0);
        assert_int_equal(h->vfio[1].addr.func, PV_PCI_FUNC_ALL);
        assert_false(h->vfio[1].companions);
        assert_int_equal(h->vfio[1].loc.line, 39);
        assert_int_equal(h->vfio[2].kind, PV_DEVSEL_MATCH);
        assert_true(h->vfio[2].has_vendor);
        assert_false(h->vfio[2].has_device);
        assert_int_equal(h->vfio[2].vendor, 0x10de);
        assert_true(h->vfio[2].has_class);
        assert_int_equal(h->vfio[2].class_code, 0x0300);
        assert_int_equal(h->vfio[2].class_bits, 16);
        assert_string_equal(h->vfio[2].name_contains, "RTX");
        assert_false(h->softdeps_auto);
        assert_int_equal(h->softdeps.n, 2);
        assert_string_equal(h->softdeps.v[1], "snd_hda_intel");
        assert_string_equal(h->blacklist.v[0], "nouveau");
        assert_true(h->disable_vga);
        assert_int_equal(h->n_sriov, 1);
        assert_int_equal(h->sriov[0].pf.bus, 3);
        assert_int_equal(h->sriov[0].pf.func, 0);
        assert_int_equal(h->sriov[0].numvfs, 7);
        assert_int_equal(h->vgpu, PV_VGPU_GVTG);
        assert_true(h->accept_shared_groups);
        const struct pv_host_spec *all = &p->hosts[1];
        assert_true(all->all_nodes);
        assert_int_equal(all->iommu, PV_AUTO);
        assert_true(all->iommu_pt);
        assert_true(all->softdeps_auto);
        assert_int_equal(all->binding, PV_BIND_IDS);
        assert_int_equal(all->vgpu, PV_VGPU_NONE);
        assert_ptr_equal(pv_profile_host_for_node(p, "pve2"), &p->hosts[0]);
        assert_ptr_equal(pv_profile_host_for_node(p, "pve9"), &p->hosts[1]);

        /* mappings */
        assert_int_equal(p->n_mappings, 2);
        assert_ptr_equal(pv_profile_find_mapping(p, "vgpu"), &p->mappings[1]);
        assert_int_equal(p->mappings[1].n_map, 2);
        const struct pv_mapping *m = pv_profile_find_mapping(p, "rtx");
        assert_ptr_equal(m, &p->mappings[0]);
        assert_null(pv_profile_find_mapping(p, "nope"));
        assert_string_equal(m->description, "RTX 3050 on each node");
        assert_true(m->mdev);
        assert_true(m->live_migration_capable);
        assert_int_equal(m->n_map, 3);
        assert_string_equal(m->map[0].node, "pve1");
        assert_int_equal(m->map[0].n_paths, 1);
        char a[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(&m->map[0].paths[0], a);
        assert_string_equal(a, "0000:01:00");
        assert_true(m->map[0].has_id);
        assert_int_equal(m->map[0].id.device, 0x25a0);
        assert_true(m->map[0].has_subsystem_id);
        assert_int_equal(m->map[0].subsystem_id.vendor, 0x1028);
        assert_int_equal(m->map[0].subsystem_id.device, 0x0a61);
        assert_true(m->map[0].has_iommugroup);
        assert_int_equal(m->map[0].iommugroup, 15);
        assert_string_equal(m->map[0].description, "left slot");
        assert_int_equal(m->map[1].n_paths, 2);
        pv_pci_addr_format(&m->map[1].paths[1], a);
        assert_string_equal(a, "0000:02:00.1");
        assert_false(m->map[1].has_id);
        assert_int_equal(m->map[2].n_paths, 2);
        pv_pci_addr_format(&m->map[2].paths[0], a);
        assert_string_equal(a, "0000:03:00.0");

        /* vms: defaults < base < gpu-desktop < VM */
        assert_int_equal(p->n_vms, 2);
        const struct pv_vm *v = pv_profile_find_vm(p, "ws1");
        assert_ptr_equal(v, &p->vms[0]);
        assert_null(pv_profile_find_vm(p, "ws3"));
        assert_string_equal(v->node, "pve1");
        assert_int_equal(v->vmid, 101);
        assert_int_equal(v->vmid_loc.line, 73);
        assert_int_equal(v->name_loc.line, 71);
        assert_int_equal(v->name_loc.col, 11);
        assert_int_equal(v->loc.line, 71);
        assert_int_equal(v->loc.col, 5);
        assert_string_equal(v->template_name, "gpu-desktop");
        assert_int_equal(v->state, PV_STATE_RUNNING);
        assert_int_equal(v->machine, PV_MACHINE_Q35);          /* defaults */
        assert_string_equal(v->machine_version, "9.2+pve1");
        assert_int_equal(v->bios, PV_BIOS_OVMF);               /* base */
        assert_string_equal(v->efidisk_storage, "local-lvm");  /* base */
        assert_true(v->efidisk_pre_enrolled_keys);
        assert_string_equal(v->ostype, "l26");                 /* base */
        assert_int_equal(v->cores, 12);                        /* VM over gpu-desktop over base */
        assert_int_equal(v->memory_mib, 16384);                /* gpu-desktop over defaults */
        assert_int_equal(v->sockets, 2);
        assert_int_equal(v->balloon_mib, 2048);
        assert_string_equal(v->hugepages, "1024");
        assert_int_equal(v->numa, 1);
        assert_string_equal(v->scsihw, "virtio-scsi-single");
        assert_string_equal(v->cpu_type, "host");
        assert_int_equal(v->cpu_flags.n, 2);
        assert_string_equal(v->cpu_flags.v[1], "-md-clear");
        assert_true(v->cpu_hidden);
        assert_string_equal(v->vga, "none");
        assert_int_equal(v->onboot, 1);
        assert_int_equal(v->tags.n, 2);                        /* VM list replaces the defaults' list */
        assert_string_equal(v->tags.v[0], "gpu");
        assert_int_equal(v->n_disks, 2);
        assert_int_equal(v->disks[0].bus, PV_BUS_SCSI);
        assert_int_equal(v->disks[0].index, -1);
        assert_true(v->disks[0].size_bytes == 1536ull * 1024 * 1024 * 1024);
        assert_string_equal(v->disks[0].options, "ssd=1,discard=on");
        assert_int_equal(v->disks[1].bus, PV_BUS_VIRTIO);
        assert_int_equal(v->disks[1].index, 3);
        assert_string_equal(v->disks[1].storage, "ceph.pool");
        assert_true(v->disks[1].size_bytes == 512ull * 1024 * 1024);
        assert_int_equal(v->n_nets, 2);
        assert_string_equal(v->nets[0].model, "virtio");
        assert_string_equal(v->nets[0].bridge, "vmbr0");
        assert_int_equal(v->nets[0].vlan, 20);
        assert_int_equal(v->nets[0].firewall, 1);
        assert_string_equal(v->nets[0].macaddr, "BC:24:11:AA:BB:CC");
        assert_int_equal(v->nets[0].index, 1);
        assert_string_equal(v->nets[1].model, "e1000");
        assert_int_equal(v->nets[1].vlan, -1);
        assert_int_equal(v->nets[1].firewall, -1);
        assert_null(v->nets[1].macaddr);
        /* pci inherited from the template keeps the template's position */
        assert_int_equal(v->n_pci, 1);
        assert_int_equal(v->pci[0].kind, PV_PCIDEV_MAPPING);
        assert_string_equal(v->pci[0].mapping, "rtx");
        assert_int_equal(v->pci[0].pcie, 1);
        assert_int_equal(v->pci[0].primary, 1);
        assert_int_equal(v->pci[0].rombar, -1);
        assert_int_equal(v->pci[0].legacy_igd, -1);
        assert_int_equal(v->pci[0].slot, -1);
        assert_int_equal(v->pci[0].driver, PV_DRIVER_DEFAULT);
        assert_int_equal(v->pci[0].loc.line, 27);
        assert_int_equal(v->pci[0].loc.col, 9);

        /* ws2: defaults < `<<: *base` merge key < its own keys */
        v = &p->vms[1];
        assert_null(v->template_name);
        assert_int_equal(v->vmid, 0);
        assert_int_equal(v->state, PV_STATE_PRESENT);
        assert_int_equal(v->bios, PV_BIOS_OVMF);
        assert_string_equal(v->efidisk_storage, "local-lvm");
        assert_int_equal(v->cores, 2);
        assert_int_equal(v->memory_mib, 4096);
        assert_int_equal(v->balloon_mib, -1);
        assert_int_equal(v->numa, -1);
        assert_int_equal(v->onboot, -1);
        assert_null(v->hugepages);
        assert_int_equal(v->tags.n, 1);
        assert_string_equal(v->tags.v[0], "fleet");
        assert_int_equal(v->n_pci, 3);
        const struct pv_pcidev *d = &v->pci[0];
        assert_int_equal(d->kind, PV_PCIDEV_RAW);
        assert_int_equal(d->n_addrs, 2);
        pv_pci_addr_format(&d->addrs[0], a);
        assert_string_equal(a, "0000:0a:00.0"); /* upper case accepted, normalised */
        pv_pci_addr_format(&d->addrs[1], a);
        assert_string_equal(a, "0000:0b:00.1");
        assert_int_equal(d->rombar, 0);
        assert_string_equal(d->romfile, "vbios.rom");
        assert_int_equal(d->driver, PV_DRIVER_KEEP);
        assert_true(d->has_vendor_id && d->has_device_id && d->has_sub_vendor_id && d->has_sub_device_id);
        assert_int_equal(d->vendor_id, 0x10de);
        assert_int_equal(d->device_id, 0x25a0);
        assert_int_equal(d->sub_vendor_id, 0x1028);
        assert_int_equal(d->sub_device_id, 0x0a61);
        assert_int_equal(d->slot, 3);
        assert_null(d->mdev);
        d = &v->pci[1];
        assert_int_equal(d->kind, PV_PCIDEV_VF_POOL);
        pv_pci_addr_format(&d->vf_pf, a);
        assert_string_equal(a, "0000:03:00.0");
        assert_string_equal(d->mdev, "nvidia-660");
        d = &v->pci[2];
        assert_int_equal(d->kind, PV_PCIDEV_MAPPING);
        assert_string_equal(d->mapping, "vgpu");
        assert_string_equal(d->mdev, "i915-GVTg_V5_4");
        pv_profile_free(p);
}

static void test_merge_precedence(void **state) {
        (void)state;
        struct pv_profile *p = parse_ok(V "templates:\n"
                                          "  small: &small\n"
                                          "    cores: 2\n"
                                          "    memory: 2G\n"
                                          "    sockets: 1\n"
                                          "  big: &big\n"
                                          "    cores: 16\n"
                                          "    memory: 64G\n"
                                          "    numa: true\n"
                                          "  mixed:\n"
                                          "    <<: [*small, *big]\n" /* earlier source wins */
                                          "    sockets: 2\n"         /* written key wins over merged */
                                          "defaults:\n"
                                          "  onboot: true\n"
                                          "  cores: 1\n"
                                          "vms:\n"
                                          "  - name: a\n"
                                          "    node: pve1\n"
                                          "    template: mixed\n"
                                          "  - name: b\n"
                                          "    node: pve1\n"
                                          "    template: mixed\n"
                                          "    onboot: false\n"
                                          "    cores: 4\n"
                                          "  - name: c\n"
                                          "    node: pve1\n"
                                          "    cores: 3\n");
        assert_int_equal(p->n_vms, 3);
        const struct pv_vm *a = &p->vms[0], *b = &p->vms[1], *c = &p->vms[2];
        assert_int_equal(a->cores, 2);
        assert_int_equal(a->memory_mib, 2048);
        assert_int_equal(a->numa, 1);
        assert_int_equal(a->sockets, 2);
        assert_int_equal(a->onboot, 1);
        assert_int_equal(b->cores, 4);
        assert_int_equal(b->onboot, 0);
        assert_int_equal(b->sockets, 2);
        assert_int_equal(c->cores, 3);
        assert_int_equal(c->onboot, 1);
        assert_int_equal(c->memory_mib, 0);
        assert_int_equal(c->sockets, 0);
        assert_null(c->template_name);
        pv_profile_free(p);
}

/* A bad value in a template used by three VMs is reported once, at the template. */
static void test_template_error_once(void **state) {
        (void)state;
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        const char *y = V "templates:\n  t:\n    cores: 0\n    bogus: 1\n"
                          "vms:\n  - {name: a, node: n1, template: t}\n  - {name: b, node: n1, template: t}\n"
                          "  - {name: c, node: n1, template: t}\n";
        assert_int_equal(parse(y, &p, &d), -PV_EINVAL);
        if (d.n_errors != 2)
                dump_diags(&d);
        assert_int_equal(d.n_errors, 2);
        assert_true(has_diag(&d, false, 4, 12, "'templates.t.cores' must be from 1 to 1024"));
        assert_true(has_diag(&d, false, 5, 5, "unknown key 'bogus' in 'templates.t'"));
        assert_string_equal(d.v[0].key, "templates.t.cores");
        pv_diags_done(&d);
}

/* Every problem is collected, sorted by position, each with its key path. */
static void test_all_problems(void **state) {
        (void)state;
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        const char *y = "version: 1\n"
                        "vms:\n"
                        "  - name: a\n"
                        "    node: n_1\n"
                        "    vmid: 5\n"
                        "    cores: 0\n"
                        "    pci:\n"
                        "      - mapping: nope\n"
                        "        mdev: a/b\n"
                        "bogus: 1\n";
        assert_int_equal(parse(y, &p, &d), -PV_EINVAL);
        if (d.n_errors != 6)
                dump_diags(&d);
        assert_int_equal(d.n_errors, 6);
        assert_int_equal(d.n, 6);
        for (size_t i = 1; i < d.n; i++)
                assert_true(d.v[i - 1].line < d.v[i].line ||
                            (d.v[i - 1].line == d.v[i].line && d.v[i - 1].col <= d.v[i].col));
        assert_string_equal(d.v[0].key, "vms[0].node");
        assert_string_equal(d.v[1].key, "vms[0].vmid");
        assert_string_equal(d.v[2].key, "vms[0].cores");
        assert_string_equal(d.v[3].key, "vms[0].pci[0].mapping");
        assert_string_equal(d.v[4].key, "vms[0].pci[0].mdev");
        assert_string_equal(d.v[5].key, "bogus");
        pv_diags_done(&d);
}

/* Without a diags list the first problem still arrives through err, with its position. */
static void test_error_without_diags(void **state) {
        (void)state;
        struct pv_profile *p = NULL;
        struct pv_error e = PV_ERROR_INIT;
        const char *y = "version: 1\nvms:\n  - {name: a, node: b, vmid: 1}\n  - {name: a, node: b}\n";
        assert_int_equal(pv_profile_parse_mem(y, strlen(y), "p.yaml", &p, NULL, &e), -PV_EINVAL);
        assert_null(p);
        assert_int_equal(e.code, PV_EINVAL);
        assert_string_equal(e.file, "p.yaml");
        assert_int_equal(e.line, 3);
        assert_int_equal(e.col, 30);
        assert_non_null(strstr(e.message, "must be from 100 to 999999999"));
        assert_non_null(strstr(e.message, "and 1 more problem;"));
        pv_error_done(&e);
}

static void test_warnings_keep_valid(void **state) {
        (void)state;
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        const char *y = V ROOTPW "  tls:\n    insecure: true\n";
        assert_int_equal(parse(y, &p, &d), 0);
        assert_non_null(p);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.n_errors, 0);
        assert_true(d.v[0].warning);
        assert_string_equal(d.v[0].key, "cluster.tls.insecure");
        assert_true(p->cluster.tls_insecure);
        pv_profile_free(p);
        pv_diags_done(&d);
}

/* --------------------------------------------------------------- limits */

static void test_alias_bomb(void **state) {
        (void)state;
        const char *y = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                        "f: &f [*e, " MARK "*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                        "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                        "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
        /* e weighs 111111 nodes: the second *e in f crosses 200000 */
        size_t n = expect_diag(y, false, "expands to more than 200000 nodes through alias '*e'; refusing it (alias bomb?)");
        assert_int_equal(n, 1);
        /* the same structure below the cap loads (and fails only on its unknown keys) */
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        assert_int_equal(parse("version: 1\nx: &a [y, y]\nz: [*a, *a]\n", &p, &d), -PV_EINVAL);
        assert_int_equal(d.n_errors, 2);
        assert_false(has_msg(&d, "alias bomb"));
        pv_diags_done(&d);
}

static void test_merge_key_bomb(void **state) {
        (void)state;
        /* merge keys copy pairs: the weight of the merged sources counts as well */
        char *y = strdup("a0: &a0 {k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8, k9: 9}\n");
        assert_non_null(y);
        for (int i = 1; i < 20; i++) {
                char *n = NULL;
                assert_true(asprintf(&n, "%sa%d: &a%d {<<: [*a%d, *a%d], x%d: 1}\n", y, i, i, i - 1, i - 1, i) > 0);
                free(y);
                y = n;
        }
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        assert_int_equal(parse(y, &p, &d), -PV_EINVAL);
        assert_true(has_msg(&d, "alias bomb"));
        pv_diags_done(&d);
        free(y);
}

static void test_depth_bomb(void **state) {
        (void)state;
        char y[200];
        /* the root mapping is level 1: 31 nested lists below it are fine, 32 are one too many */
        int n = snprintf(y, sizeof(y), "version: 1\nx: ");
        for (int i = 0; i < 31; i++)
                y[n++] = '[';
        for (int i = 0; i < 31; i++)
                y[n++] = ']';
        y[n++] = '\n';
        y[n] = '\0';
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        assert_int_equal(parse(y, &p, &d), -PV_EINVAL);
        assert_false(has_msg(&d, "nests deeper"));
        assert_true(has_msg(&d, "unknown key 'x'"));
        pv_diags_done(&d);
        n = snprintf(y, sizeof(y), "version: 1\nx: ");
        for (int i = 0; i < 31; i++)
                y[n++] = '[';
        memcpy(y + n, MARK "[]", strlen(MARK "[]"));
        n += (int)strlen(MARK "[]");
        for (int i = 0; i < 31; i++)
                y[n++] = ']';
        y[n] = '\0';
        assert_int_equal(expect_diag(y, false, "the profile nests deeper than 32 levels"), 1);
        /* deep through an alias: a 20-level list used 20 levels down */
        char *z = NULL;
        assert_true(asprintf(&z, "a: &a [[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]\n"
                                 "b: [[[[[[[[[[[[[[[[[[[" MARK "*a]]]]]]]]]]]]]]]]]]]\n") > 0);
        assert_int_equal(expect_diag(z, false, "nests deeper than 32 levels through alias '*a'"), 1);
        free(z);
        /* 1 MiB of '[' stops early, cleanly */
        size_t big = PV_PROFILE_MAX_BYTES;
        char *w = malloc(big);
        assert_non_null(w);
        memset(w, '[', big);
        assert_int_equal(pv_profile_parse_mem(w, big, "deep", &p, &d, NULL), -PV_EINVAL);
        assert_true(has_diag(&d, false, 1, 33, "nests deeper than 32 levels"));
        pv_diags_done(&d);
        free(w);
}

static void test_size_cap(void **state) {
        (void)state;
        size_t n = PV_PROFILE_MAX_BYTES + 1;
        char *y = malloc(n + 1);
        assert_non_null(y);
        memset(y, ' ', n);
        memcpy(y, "version: 1\n#", 12);
        y[n] = '\0';
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        struct pv_error e = PV_ERROR_INIT;
        assert_int_equal(pv_profile_parse_mem(y, n, "big.yaml", &p, &d, &e), -PV_ETOOBIG);
        assert_null(p);
        assert_int_equal(d.n, 0);
        assert_non_null(strstr(pv_error_message(&e), "more than the limit of 1048576 bytes"));
        pv_error_done(&e);
        /* exactly at the cap is fine */
        assert_int_equal(pv_profile_parse_mem(y, n - 1, "big.yaml", &p, &d, &e), 0);
        pv_profile_free(p);
        p = NULL;
        pv_diags_done(&d);
        /* the same through a file: one byte over fails while reading */
        char path[] = "/tmp/pvfio-test-profile-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, y, n), (ssize_t)n);
        close(fd);
        assert_int_equal(pv_profile_load(path, &p, &d, &e), -PV_ETOOBIG);
        assert_null(p);
        assert_non_null(strstr(pv_error_message(&e), "exceeds the limit"));
        pv_error_done(&e);
        assert_int_equal(truncate(path, (off_t)(n - 1)), 0);
        assert_int_equal(pv_profile_load(path, &p, &d, &e), 0);
        assert_string_equal(p->file, path);
        pv_profile_free(p);
        unlink(path);
        free(y);
        /* a missing file */
        p = NULL;
        assert_int_equal(pv_profile_load("/nonexistent/pvfio.yaml", &p, &d, &e), -PV_EIO);
        assert_non_null(strstr(pv_error_message(&e), "cannot open '/nonexistent/pvfio.yaml'"));
        assert_null(p);
        pv_error_done(&e);
}

static void test_load_stdin(void **state) {
        (void)state;
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        const char *y = "version: 1\nvms:\n  - {name: a, node: pve1, vmid: 7}\n";
        assert_int_equal(write(pfd[1], y, strlen(y)), (ssize_t)strlen(y));
        close(pfd[1]);
        int saved = dup(STDIN_FILENO);
        assert_true(saved >= 0);
        assert_int_equal(dup2(pfd[0], STDIN_FILENO), STDIN_FILENO);
        close(pfd[0]);
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_profile_load("-", &p, &d, &e);
        assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
        close(saved);
        assert_int_equal(r, -PV_EINVAL);
        assert_true(has_diag(&d, false, 3, 33, "must be from 100"));
        assert_string_equal(e.file, "<stdin>");
        pv_error_done(&e);
        pv_diags_done(&d);
}

static void test_yaml_errors(void **state) {
        (void)state;
        /* libyaml's problem_mark becomes the position */
        expect_diag("version: 1\nvms:\n  - name: a\n   " MARK "node: b\n", false, "invalid YAML: did not find expected '-' indicator");
        expect_diag("version: 1\nvms: [a, b\n" MARK, false, "invalid YAML: did not find expected ',' or ']'");
        expect_diag("version: 1\nx: " MARK "*nope\n", false, "unknown alias '*nope'");
        expect_diag("version: 1\nx: &a [1, " MARK "*a]\n", false, "refers to a node that contains it");
        expect_diag("version: 1\nx: " MARK "\"a\\0b\"\n", false, "may not contain a NUL character");
        expect_diag("version: 1\nx: " MARK "!!int abc\n", false, "'abc' is not a valid !!int");
        expect_diag("version: 1\n" MARK "~: 1\n", false, "empty mapping key");
        expect_diag(MARK "", false, "the profile is empty");
        expect_diag("version: 1\n<<: " MARK "5\n", false, "a '<<' merge value must be a mapping");
        expect_diag("version: 1\na: {<<: {}, " MARK "<<: {}}\n", false, "duplicate key '<<'");
        /* merged keys never clash with written ones; written duplicates do */
        struct pv_profile *p = parse_ok("version: 1\ntemplates:\n  a: &a {cores: 1}\n  b: {<<: *a, cores: 2}\n");
        pv_profile_free(p);
        expect_diag("version: 1\ntemplates:\n  b: {cores: 1, " MARK "cores: 2}\n", false,
                    "duplicate key 'cores' (first defined at line 3, column 7)");
}

/* Problems found while reading YAML carry the key path of where they are. */
static void test_yaml_key_paths(void **state) {
        (void)state;
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        const char *y = "version: 1\n"
                        "templates:\n"
                        "  b: {cores: 1, cores: 2}\n"
                        "vms:\n"
                        "  - name: a\n"
                        "    node: b\n"
                        "    8: x\n"
                        "    tags: [a, !foo b]\n";
        assert_int_equal(parse(y, &p, &d), -PV_EINVAL);
        if (d.n != 3)
                dump_diags(&d);
        assert_int_equal(d.n, 3);
        assert_string_equal(d.v[0].key, "templates.b.cores");
        assert_int_equal(d.v[0].line, 3);
        assert_int_equal(d.v[0].col, 17);
        assert_string_equal(d.v[1].key, "vms[0]");
        assert_int_equal(d.v[1].line, 7);
        assert_string_equal(d.v[2].key, "vms[0].tags[1]");
        assert_non_null(strstr(d.v[2].message, "unsupported YAML tag '!foo'"));
        pv_diags_done(&d);
}

static void test_encodings(void **state) {
        (void)state;
        /* invalid UTF-8: the offset becomes line:col */
        expect_diag("version: 1\nx: " MARK "\xff\xfe\n", false, "invalid YAML input: invalid leading UTF-8 octet");
        expect_diag("version: 1\nx: a" MARK "\x01\n", false, "control characters are not allowed");
        /* binary garbage of every kind: a clean error, never a crash or a leak */
        unsigned seed = 12345;
        char buf[512];
        for (int round = 0; round < 2000; round++) {
                size_t n = (size_t)(round % 500) + 1;
                for (size_t i = 0; i < n; i++) {
                        seed = seed * 1103515245u + 12345u;
                        buf[i] = (char)(seed >> 16);
                }
                struct pv_profile *p = NULL;
                struct pv_diags d = { 0 };
                struct pv_error e = PV_ERROR_INIT;
                int r = pv_profile_parse_mem(buf, n, "bin", &p, &d, &e);
                assert_true(r == -PV_EINVAL);
                assert_true(d.n_errors > 0);
                for (size_t i = 0; i < d.n; i++) {
                        assert_non_null(d.v[i].message);
                        assert_true(d.v[i].line >= 1);
                }
                pv_diags_done(&d);
                pv_error_done(&e);
        }
        /* UTF-8 text with multi-byte characters counts columns in characters */
        expect_diag("version: 1\nvms:\n  - {name: a, node: b, tags: [\xc3\xa9t\xc3\xa9, " MARK "\"a b\"]}\n", false, "a tag");
}

static void test_too_many_problems(void **state) {
        (void)state;
        char *y = strdup("version: 1\nvms:\n");
        for (int i = 0; i < 1200; i++) {
                char *n = NULL;
                assert_true(asprintf(&n, "%s  - {name: v%d, node: n, vmid: 1}\n", y, i) > 0);
                free(y);
                y = n;
        }
        struct pv_profile *p = NULL;
        struct pv_diags d = { 0 };
        assert_int_equal(parse(y, &p, &d), -PV_EINVAL);
        assert_int_equal(d.n, 1001);
        assert_true(has_msg(&d, "too many problems (more than 1000)"));
        pv_diags_done(&d);
        free(y);
}

static void test_description_cap(void **state) {
        (void)state;
        char *desc = malloc(4098);
        assert_non_null(desc);
        memset(desc, 'd', 4097);
        desc[4097] = '\0';
        char *y = NULL;
        assert_true(asprintf(&y, V "mappings:\n  - id: rtx\n    description: " MARK "%s\n    map:\n      - {node: a, path: 01:00}\n",
                             desc) > 0);
        expect_diag(y, false, "a description of at most 4096 characters");
        free(y);
        desc[4096] = '\0';
        assert_true(asprintf(&y, V "mappings:\n  - id: rtx\n    description: %s\n    map:\n      - {node: a, path: 01:00}\n",
                             desc) > 0);
        struct pv_profile *p = parse_ok(y);
        assert_int_equal(strlen(p->mappings[0].description), 4096);
        pv_profile_free(p);
        free(y);
        free(desc);
}

static void test_auth_and_url(void **state) {
        (void)state;
        struct pv_profile *p = parse_ok(V "cluster:\n  api: https://[fd00::1]/\n  auth:\n"
                                          "    token: root@pam!pvfio-1\n    secret_file: /etc/pvfio/token\n");
        assert_string_equal(p->cluster.api_url, "https://[fd00::1]:8006");
        assert_int_equal(p->cluster.auth, PV_AUTH_TOKEN);
        assert_string_equal(p->cluster.token_id, "root@pam!pvfio-1");
        assert_null(p->cluster.user);
        assert_string_equal(p->cluster.secret.file, "/etc/pvfio/token");
        assert_int_equal(p->cluster.secret.loc.line, 6);
        assert_int_equal(p->cluster.parallel, 0);
        assert_int_equal(p->cluster.timeout_s, 0);
        pv_profile_free(p);
        p = parse_ok(V "cluster:\n  api: https://pve.example.com:443\n  auth: {user: root@pam, password_env: PW}\n");
        assert_string_equal(p->cluster.api_url, "https://pve.example.com:443");
        assert_string_equal(p->cluster.secret.env, "PW");
        pv_profile_free(p);
        p = parse_ok(V);
        assert_false(p->cluster.present);
        assert_int_equal(p->cluster.auth, PV_AUTH_NONE);
        pv_profile_free(p);
        expect_diag(V "cluster:\n  api: " MARK "https://user@pve1\n  auth: {user: root@pam, password_env: PW}\n", false,
                    "must not contain user information");
        expect_diag(V "cluster:\n  api: " MARK "ftp://pve1\n  auth: {user: root@pam, password_env: PW}\n", false,
                    "must be an https:// URL");
}

static void test_enums_and_lookups(void **state) {
        (void)state;
        assert_string_equal(pv_vm_state_to_string(PV_STATE_ABSENT), "absent");
        assert_null(pv_vm_state_to_string((enum pv_vm_state)42));
        assert_int_equal(pv_vm_state_from_string("running"), PV_STATE_RUNNING);
        assert_int_equal(pv_vm_state_from_string("started"), -1);
        assert_int_equal(pv_vm_state_from_string(NULL), -1);
        assert_string_equal(pv_machine_to_string(PV_MACHINE_Q35), "q35");
        assert_string_equal(pv_machine_to_string(PV_MACHINE_I440FX), "i440fx");
        assert_null(pv_machine_to_string(PV_MACHINE_UNSET));
        assert_string_equal(pv_bios_to_string(PV_BIOS_OVMF), "ovmf");
        assert_string_equal(pv_bios_to_string(PV_BIOS_SEABIOS), "seabios");
        assert_null(pv_bios_to_string((enum pv_bios)9));
        assert_string_equal(pv_binding_to_string(PV_BIND_DRIVER_OVERRIDE), "driver_override");
        assert_string_equal(pv_binding_to_string(PV_BIND_IDS), "ids");
        assert_string_equal(pv_vgpu_kind_to_string(PV_VGPU_NVIDIA_SRIOV), "nvidia-sriov");
        assert_string_equal(pv_vgpu_kind_to_string(PV_VGPU_GVTG), "gvt-g");
        assert_null(pv_vgpu_kind_to_string((enum pv_vgpu_kind)7));
        assert_null(pv_profile_find_vm(NULL, "a"));
        assert_null(pv_profile_host_for_node(NULL, "a"));
        pv_profile_free(NULL);
        pv_diags_done(NULL);
        /* in YAML 1.2 on/off are the strings iommu wants */
        struct pv_profile *p = parse_ok(V "hosts:\n  - {nodes: pve1, iommu: on}\n  - {nodes: pve2, iommu: off}\n");
        assert_int_equal(p->hosts[0].iommu, PV_ON);
        assert_int_equal(p->hosts[1].iommu, PV_OFF);
        assert_null(pv_profile_host_for_node(p, "pve3"));
        pv_profile_free(p);
}

int main(void) {
        static const struct CMUnitTest fixed[] = {
                cmocka_unit_test(test_full_model),
                cmocka_unit_test(test_merge_precedence),
                cmocka_unit_test(test_template_error_once),
                cmocka_unit_test(test_all_problems),
                cmocka_unit_test(test_error_without_diags),
                cmocka_unit_test(test_warnings_keep_valid),
                cmocka_unit_test(test_alias_bomb),
                cmocka_unit_test(test_merge_key_bomb),
                cmocka_unit_test(test_depth_bomb),
                cmocka_unit_test(test_size_cap),
                cmocka_unit_test(test_load_stdin),
                cmocka_unit_test(test_yaml_errors),
                cmocka_unit_test(test_yaml_key_paths),
                cmocka_unit_test(test_encodings),
                cmocka_unit_test(test_too_many_problems),
                cmocka_unit_test(test_description_cap),
                cmocka_unit_test(test_auth_and_url),
                cmocka_unit_test(test_enums_and_lookups),
        };
        size_t nr = sizeof(rules) / sizeof(rules[0]), nf = sizeof(fixed) / sizeof(fixed[0]);
        struct CMUnitTest *all = calloc(nr + nf, sizeof(*all));
        if (!all)
                return 1;
        memcpy(all, fixed, sizeof(fixed));
        for (size_t i = 0; i < nr; i++)
                all[nf + i] = (struct CMUnitTest){ .name = rules[i].rule, .test_func = run_rule,
                                                   .initial_state = (void *)&rules[i] };
        int r = _cmocka_run_group_tests("profile", all, nr + nf, NULL, NULL);
        free(all);
        return r;
}
