/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Host sections over SSH: cluster.ssh parsing, the ssh argv, the plan JSON decoder,
 * the process runner and how a remote answer is interpreted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "cli.h"
#include "hosts.h"
#include "render_nodes.h"
#include "proc.h"
#include "remote.h"
#include "render.h"
#include "pvfio/hostplan.h"
#include "pvfio/hostrom.h"
#include "pvfio/plan.h"
#include "pvfio/planjson.h"
#include "pvfio/profile.h"

/* ------------------------------------------------------------ helpers */

static struct pv_profile *parse(const char *yaml, struct pv_diags *diags) {
        struct pv_profile *p = NULL;
        struct pv_error err = PV_ERROR_INIT;
        int r = pv_profile_parse_mem(yaml, strlen(yaml), "t.yaml", &p, diags, &err);
        pv_error_done(&err);
        return r == 0 ? p : NULL;
}

static bool has_diag(const struct pv_diags *d, unsigned line, const char *needle, bool warning) {
        for (size_t i = 0; i < d->n; i++)
                if (d->v[i].line == line && d->v[i].warning == warning && strstr(d->v[i].message, needle))
                        return true;
        return false;
}

static char *joined(char **argv) {
        size_t n = 1;
        for (size_t i = 0; argv[i]; i++)
                n += strlen(argv[i]) + 1;
        char *s = calloc(1, n);
        for (size_t i = 0; argv[i]; i++) {
                if (i)
                        strcat(s, "|");
                strcat(s, argv[i]);
        }
        return s;
}

#define HEAD "version: 1\ncluster:\n  api: https://pve1:8006\n  auth:\n    token: root@pam!t1\n    secret_env: S\n"

/* ------------------------------------------------------------ profile */

static void test_profile_ssh(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = parse(HEAD "  ssh:\n"
                                          "    command: /usr/bin/ssh\n"
                                          "    user: admin\n"
                                          "    port: 2222\n"
                                          "    options: [ConnectTimeout=3, \"ProxyJump=jump host\"]\n"
                                          "    identity_file: /etc/pvfio/id_ed25519\n"
                                          "    known_hosts: /etc/pve/priv/known_hosts\n"
                                          "    pvfio: sudo -n /usr/bin/pvfio\n"
                                          "    timeout: 120\n"
                                          "    parallel: 3\n"
                                          "    nodes:\n"
                                          "      pve2: {host: 10.0.0.2, port: 2200}\n"
                                          "      pve3: {host: \"fd00::3\", user: root, pvfio: /opt/pvfio}\n",
                                     &d);
        assert_non_null(p);
        const struct pv_ssh_config *s = &p->cluster.ssh;
        assert_true(s->present);
        assert_string_equal(s->command, "/usr/bin/ssh");
        assert_string_equal(s->user, "admin");
        assert_int_equal(s->port, 2222);
        assert_int_equal(s->options.n, 2);
        assert_string_equal(s->options.v[1], "ProxyJump=jump host");
        assert_string_equal(s->identity_file, "/etc/pvfio/id_ed25519");
        assert_string_equal(s->known_hosts, "/etc/pve/priv/known_hosts");
        assert_string_equal(s->pvfio, "sudo -n /usr/bin/pvfio");
        assert_int_equal(s->timeout_s, 120);
        assert_int_equal(s->parallel, 3);
        assert_int_equal(s->n_nodes, 2);
        const struct pv_ssh_node *n2 = pv_profile_ssh_node(p, "pve2");
        assert_non_null(n2);
        assert_string_equal(n2->host, "10.0.0.2");
        assert_int_equal(n2->port, 2200);
        assert_null(n2->user);
        assert_int_equal(n2->loc.line, 18);
        assert_string_equal(pv_profile_ssh_node(p, "pve3")->host, "fd00::3");
        assert_null(pv_profile_ssh_node(p, "pve9"));
        pv_profile_free(p);
        pv_diags_done(&d);
}

static void test_profile_ssh_errors(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = parse(HEAD "  ssh:\n"                                              /* 7 */
                                          "    command: ssh -F cfg\n"                             /* 8 */
                                          "    user: -oProxyCommand=x\n"                          /* 9 */
                                          "    port: 70000\n"                                     /* 10 */
                                          "    options: [BatchMode=no]\n"                         /* 11 */
                                          "    pvfio: \"pvfio; rm -rf /\"\n"                      /* 12 */
                                          "    user_name: x\n"                                    /* 13 */
                                          "    nodes:\n"                                          /* 14 */
                                          "      pve2: {host: \"-oProxyCommand=evil\", prt: 1}\n" /* 15 */
                                          "      bad_node: {}\n",                                 /* 16 */
                                     &d);
        assert_null(p);
        assert_true(has_diag(&d, 8, "'cluster.ssh.command' must be a program name or path without arguments", false));
        assert_true(has_diag(&d, 9, "'cluster.ssh.user' must be a login name", false));
        assert_true(has_diag(&d, 10, "'cluster.ssh.port' must be from 1 to 65535", false));
        assert_true(has_diag(&d, 11, "cannot turn BatchMode off", false));
        assert_true(has_diag(&d, 12, "'cluster.ssh.pvfio' must be a command", false));
        assert_true(has_diag(&d, 13, "unknown key 'user_name' in 'cluster.ssh'", false));
        assert_true(has_diag(&d, 15, "'cluster.ssh.nodes.pve2.host' must be a host name or IP address", false));
        assert_true(has_diag(&d, 15, "unknown key 'prt' in 'cluster.ssh.nodes.pve2'; did you mean 'port'?", false));
        assert_true(has_diag(&d, 16, "'cluster.ssh.nodes.bad_node' is not a node name", false));
        pv_diags_done(&d);

        memset(&d, 0, sizeof d);
        p = parse(HEAD "  ssh:\n    options: [StrictHostKeyChecking=accept-new]\n", &d);
        assert_non_null(p); /* a warning, not an error */
        assert_true(has_diag(&d, 8, "weakens host key checking", true));
        pv_profile_free(p);
        pv_diags_done(&d);
}

/* ------------------------------------------------------------ argv */

static void test_argv_defaults(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = parse(HEAD, &d);
        assert_non_null(p);
        char **argv = NULL;
        struct pv_remote_opts o = { .op = PV_REMOTE_PLAN };
        assert_int_equal(pv_remote_argv(p, "pve2", &o, &argv, NULL), 0);
        char *s = joined(argv);
        assert_string_equal(s, "ssh|-o|BatchMode=yes|-o|StrictHostKeyChecking=yes|-o|ConnectTimeout=10|-l|root|-T|--|"
                               "pve2|pvfio|host|plan|--json|--node|pve2|-");
        free(s);
        pv_argv_free(argv);
        /* a node whose romfiles need images: stdin is a profile bundle */
        o.profile_bundle = true;
        assert_int_equal(pv_remote_argv(p, "pve2", &o, &argv, NULL), 0);
        s = joined(argv);
        assert_string_equal(s, "ssh|-o|BatchMode=yes|-o|StrictHostKeyChecking=yes|-o|ConnectTimeout=10|-l|root|-T|--|"
                               "pve2|pvfio|host|plan|--json|--node|pve2|--profile-bundle|-");
        free(s);
        pv_argv_free(argv);
        pv_profile_free(p);
        pv_diags_done(&d);
}

static void test_argv_configured(void **state) {
        (void)state;
        struct pv_diags d = { 0 };
        struct pv_profile *p = parse(HEAD "  ssh:\n    user: admin\n    port: 2222\n"
                                          "    options: [StrictHostKeyChecking=accept-new, ConnectTimeout=3]\n"
                                          "    identity_file: /k/id\n    known_hosts: /k/known hosts\n"
                                          "    pvfio: sudo -n pvfio\n"
                                          "    nodes: {pve3: {host: 127.0.0.1, port: 40022, user: u3, identity_file: /k/id3,"
                                          " pvfio: /w/pve3/pvfio}}\n",
                                     &d);
        assert_non_null(p);
        char **argv = NULL;
        struct pv_remote_opts o = { .op = PV_REMOTE_APPLY, .rebind = true };
        assert_int_equal(pv_remote_argv(p, "pve2", &o, &argv, NULL), 0);
        char *s = joined(argv);
        /* the profile's options first (ssh keeps the first value), each its own argv element */
        assert_string_equal(s, "ssh|-o|StrictHostKeyChecking=accept-new|-o|ConnectTimeout=3|-o|BatchMode=yes|-o|"
                               "StrictHostKeyChecking=yes|-o|ConnectTimeout=10|-o|UserKnownHostsFile=/k/known hosts|"
                               "-i|/k/id|-o|IdentitiesOnly=yes|-p|2222|-l|admin|-T|--|pve2|sudo|-n|pvfio|host|apply|"
                               "--json|--node|pve2|--yes|--rebind|-");
        free(s);
        pv_argv_free(argv);
        assert_int_equal(pv_remote_argv(p, "pve3", &o, &argv, NULL), 0);
        s = joined(argv);
        assert_non_null(strstr(s, "|-i|/k/id3|"));
        assert_non_null(strstr(s, "|-p|40022|-l|u3|-T|--|127.0.0.1|/w/pve3/pvfio|host|apply|"));
        free(s);
        pv_argv_free(argv);
        pv_profile_free(p);
        pv_diags_done(&d);
}

static void test_argv_refuses_shell_words(void **state) {
        (void)state;
        /* values the parser would refuse, set directly: the builder checks again */
        struct pv_profile p;
        memset(&p, 0, sizeof p);
        struct pv_ssh_node n = { .node = "pve2", .host = "-oProxyCommand=touch /tmp/x" };
        p.cluster.ssh.nodes = &n;
        p.cluster.ssh.n_nodes = 1;
        char **argv = NULL;
        struct pv_error err = PV_ERROR_INIT;
        struct pv_remote_opts o = { .op = PV_REMOTE_PLAN };
        assert_int_equal(pv_remote_argv(&p, "pve2", &o, &argv, &err), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&err), "refusing to connect"));
        pv_error_done(&err);
        n.host = NULL;
        n.pvfio = "pvfio;reboot";
        assert_int_equal(pv_remote_argv(&p, "pve2", &o, &argv, &err), -PV_EINVAL);
        assert_non_null(strstr(pv_error_message(&err), "refusing to pass the remote command"));
        pv_error_done(&err);
        n.pvfio = NULL;
        assert_int_equal(pv_remote_argv(&p, "pve2$(id)", &o, &argv, &err), -PV_EINVAL);
        pv_error_done(&err);
        assert_null(argv);
}

/* ------------------------------------------------------------ plan JSON */

static void add(struct pv_plan *p, enum pv_action_kind k, const char *target, const char *before, const char *after,
                int depends_on, enum pv_action_status st) {
        struct pv_action a = { .kind = k, .depends_on = depends_on, .status = st };
        a.target = strdup(target);
        a.node = strdup("pve2");
        a.reason = strdup("because");
        a.before = before ? strdup(before) : NULL;
        a.after = after ? strdup(after) : NULL;
        assert_true(pv_plan_add(p, &a, NULL) >= 0);
}

static void test_planjson_roundtrip(void **state) {
        (void)state;
        struct pv_plan p = PV_PLAN_INIT;
        add(&p, PV_ACT_WRITE_FILE, "etc/modprobe.d/pvfio.conf", NULL, "options vfio-pci ids=10de:2230\n", 0,
            PV_ACT_DONE);
        add(&p, PV_ACT_EDIT_FILE, "etc/kernel/cmdline", "root=ZFS=rpool\n", "root=ZFS=rpool iommu=pt\n", 0,
            PV_ACT_PLANNED);
        assert_int_equal(pv_plan_add_key(&p, 1, strdup("iommu"), NULL, strdup("iommu=pt"), false, NULL), 0);
        add(&p, PV_ACT_RUN_COMMAND, "update-initramfs", NULL, "update-initramfs -u -k all", 1, PV_ACT_FAILED);
        p.actions[2].error = strdup("'update-initramfs' exited with status 1");
        add(&p, PV_ACT_REBIND_DEVICE, "0000:01:00.0", NULL, NULL, 0, PV_ACT_BLOCKED);
        p.actions[3].blocked = strdup("in use by the host ('nvidia'); reboot instead");
        struct pv_action vm = { .kind = PV_ACT_UPDATE_VM, .vmid = 4242, .pending_until_restart = true,
                                .unsafe = true };
        vm.target = strdup("vm a");
        assert_true(pv_plan_add(&p, &vm, NULL) >= 0);
        assert_int_equal(pv_plan_add_key(&p, 4, strdup("hostpci0"), strdup("a"), strdup("b"), true, NULL), 0);
        pv_plan_add_reboot_reason(&p, strdup("pve2: kernel arguments not active yet"), NULL);
        pv_plan_add_warning(&p, strdup("pve2: heads up"), NULL);
        pv_plan_add_drift(&p, strdup("disk size differs"), NULL);

        json_t *doc = pv_plan_to_json(&p);
        char *text = json_dumps(doc, 0);
        json_t *parsed = NULL;
        assert_int_equal(pv_plan_json_parse(text, strlen(text), &parsed, NULL), 0);
        struct pv_plan_doc_info info;
        assert_int_equal(pv_plan_doc_header(parsed, &info, NULL), 0);
        assert_int_equal(info.format_version, PV_PLAN_FORMAT_VERSION);
        assert_null(info.pvfio_version);
        pv_plan_doc_info_done(&info);
        struct pv_plan back;
        assert_int_equal(pv_plan_from_json(parsed, &back, NULL), 0);
        assert_int_equal(back.n, 5);
        assert_int_equal(back.actions[2].depends_on, 1);
        assert_int_equal(back.actions[2].status, PV_ACT_FAILED);
        assert_int_equal(back.actions[4].vmid, 4242);
        assert_true(back.actions[4].keys[0].pending_until_restart);
        assert_string_equal(back.reboot_reasons[0], "pve2: kernel arguments not active yet");
        json_t *again = pv_plan_to_json(&back);
        assert_true(json_equal(doc, again)); /* everything the document carries survives */
        json_decref(again);
        json_decref(parsed);
        json_decref(doc);
        free(text);
        pv_plan_done(&back);
        pv_plan_done(&p);
}

static int decode_text(const char *text, struct pv_error *err) {
        json_t *doc = NULL;
        int r = pv_plan_json_parse(text, strlen(text), &doc, err);
        if (r < 0)
                return r;
        struct pv_plan p;
        r = pv_plan_from_json(doc, &p, err);
        if (r == 0)
                pv_plan_done(&p);
        json_decref(doc);
        return r;
}

static void test_planjson_rejects(void **state) {
        (void)state;
        static const struct {
                const char *text, *msg;
        } bad[] = {
                { "[1]", "not a JSON object" },
                { "{\"actions\": 3}", "actions: not a list" },
                { "{}", "actions: missing" },
                { "{\"actions\": [{\"kind\": \"format-disk\"}]}", "actions[0].kind: unknown action kind 'format-disk'" },
                { "{\"actions\": [{\"target\": \"x\"}]}", "actions[0].kind: missing" },
                { "{\"actions\": [{\"kind\": \"write-file\", \"status\": \"maybe\"}]}", "unknown status 'maybe'" },
                { "{\"actions\": [{\"kind\": \"write-file\", \"depends_on\": 0}]}", "actions[0].depends_on" },
                { "{\"actions\": [{\"kind\": \"write-file\"}, {\"kind\": \"run-command\", \"depends_on\": 5}]}",
                  "actions[1].depends_on" },
                { "{\"actions\": [{\"kind\": \"write-file\", \"target\": 7}]}", "actions[0].target: not a string" },
                { "{\"actions\": [{\"kind\": \"write-file\", \"needs_reboot\": \"yes\"}]}", "not a boolean" },
                { "{\"actions\": [{\"kind\": \"update-vm\", \"vmid\": -1}]}", "actions[0].vmid" },
                { "{\"actions\": [{\"kind\": \"update-vm\", \"keys\": [{\"before\": \"a\"}]}]}", "keys[0].key: missing" },
                { "{\"actions\": [], \"warnings\": [1]}", "warnings[0]: not a string" },
                { "{\"actions\": [], \"a\": 1, \"a\": 2}", "not a JSON document" },
                { "{\"actions\": [{\"kind\": \"write-file\", \"target\": \"a\\u0000b\"}]}", "NUL" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct pv_error err = PV_ERROR_INIT;
                assert_true(decode_text(bad[i].text, &err) < 0);
                if (!strstr(pv_error_message(&err), bad[i].msg))
                        fail_msg("%s: got '%s', want '%s'", bad[i].text, pv_error_message(&err), bad[i].msg);
                pv_error_done(&err);
        }
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(decode_text("{\"actions\": [], \"future_key\": {\"x\": 1}}", &err), 0);
        json_t *doc = json_pack("{s:s}", "format_version", "1");
        struct pv_plan_doc_info info;
        assert_true(pv_plan_doc_header(doc, &info, &err) < 0);
        pv_error_done(&err);
        json_decref(doc);
        assert_int_equal(pv_action_kind_from_string("set-sriov"), PV_ACT_SET_SRIOV);
        assert_int_equal(pv_action_status_from_string("skipped"), PV_ACT_SKIPPED);
        assert_int_equal(pv_action_kind_from_string(NULL), -1);
}

/* ------------------------------------------------------------ processes */

static void test_proc_io_and_status(void **state) {
        (void)state;
        size_t big = 1024 * 1024 + 7; /* more than any pipe buffer: input and output must interleave */
        char *in = malloc(big);
        for (size_t i = 0; i < big; i++)
                in[i] = (char)('a' + i % 26);
        char *a1[] = { "sh", "-c", "cat; echo oops >&2; exit 3", NULL };
        char *a2[] = { "pvfio-no-such-program-here", NULL };
        char *a3[] = { "sh", "-c", "exec sleep 30", NULL };
        char *a4[] = { "sh", "-c", "kill -9 $$", NULL };
        struct pv_proc p[4];
        memset(p, 0, sizeof p);
        p[0].argv = a1, p[0].input = in, p[0].input_len = big;
        p[1].argv = a2;
        p[2].argv = a3, p[2].timeout_ms = 200;
        p[3].argv = a4;
        struct pv_proc *v[] = { &p[0], &p[1], &p[2], &p[3] };
        assert_int_equal(pv_proc_run_all(v, 4, 0, NULL), 0);
        assert_true(pv_proc_exited_with(&p[0], 3));
        assert_int_equal(p[0].out.len, big);
        assert_memory_equal(p[0].out.buf, in, big);
        assert_string_equal(p[0].err.buf, "oops\n");
        assert_false(p[1].spawned);
        char *why = pv_proc_describe(&p[1]);
        assert_non_null(strstr(why, "could not be started"));
        free(why);
        assert_true(p[2].timed_out);
        why = pv_proc_describe(&p[2]);
        assert_string_equal(why, "timed out after 1 s");
        free(why);
        why = pv_proc_describe(&p[3]);
        assert_string_equal(why, "was killed by signal 9");
        free(why);
        for (int i = 0; i < 4; i++)
                pv_proc_done(&p[i]);
        free(in);
}

static void test_proc_parallel_bound(void **state) {
        (void)state;
        char path[] = "/tmp/pvfio-test-proc-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        char *cmd = NULL;
        assert_true(asprintf(&cmd, "echo + >> %s; sleep 0.1; echo - >> %s", path, path) > 0);
        char *argv[] = { "sh", "-c", cmd, NULL };
        struct pv_proc p[5];
        struct pv_proc *v[5];
        memset(p, 0, sizeof p);
        for (int i = 0; i < 5; i++) {
                p[i].argv = argv;
                v[i] = &p[i];
        }
        assert_int_equal(pv_proc_run_all(v, 5, 2, NULL), 0);
        FILE *f = fopen(path, "r");
        int live = 0, most = 0, starts = 0;
        char line[8];
        while (fgets(line, sizeof line, f)) {
                live += line[0] == '+' ? 1 : -1;
                starts += line[0] == '+';
                most = live > most ? live : most;
        }
        fclose(f);
        unlink(path);
        assert_int_equal(starts, 5);
        assert_true(most <= 2);
        for (int i = 0; i < 5; i++) {
                assert_true(pv_proc_exited_with(&p[i], 0));
                pv_proc_done(&p[i]);
        }
        free(cmd);
}

/* ------------------------------------------------------------ answers that carry ROM images */

/* A 4 MiB legacy PCI option ROM (one image, marked last) that differs by `tag`. */
static void big_rom(const char *path, uint8_t tag) {
        const size_t n = PV_ROMFILE_MAX_BYTES;
        uint8_t *p = calloc(1, n);
        assert_non_null(p);
        p[0] = 0x55, p[1] = 0xaa, p[0x18] = 0x40;
        memcpy(p + 0x40, "PCIR", 4);
        p[0x44] = 0xde, p[0x45] = 0x10, p[0x46] = 0x84, p[0x47] = 0x24;
        p[0x50] = (uint8_t)((n / 512) & 0xff), p[0x51] = (uint8_t)((n / 512) >> 8);
        p[0x55] = 0x80;
        for (size_t i = 0x100; i < n; i++)
                p[i] = (uint8_t)(i * 31 + tag);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(p, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
        free(p);
}

/* A node's answer to a profile bundle is its plan as JSON, and that holds every install-file's bytes as
 * base64: the controller must read an answer that large (a bundle of 16 MiB of images makes one of
 * about 21 MiB, past the usual 16 MiB stdout cap, and the node was killed as "sent more output"). */
static void test_remote_answer_cap_fits_rom_images(void **state) {
        (void)state;
        char dir[] = "/tmp/pvfio-ssh-rom-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char paths[4][128], yaml[2048];
        int off = snprintf(yaml, sizeof yaml, HEAD "hosts:\n  - nodes: [pve3]\n    romfiles:\n");
        for (int i = 0; i < 4; i++) {
                snprintf(paths[i], sizeof paths[i], "%s/gpu%d.rom", dir, i);
                big_rom(paths[i], (uint8_t)i);
                off += snprintf(yaml + off, sizeof yaml - (size_t)off, "      - {name: gpu%d.rom, source: %s}\n", i,
                                paths[i]);
        }
        struct pv_diags d = { 0 };
        struct pv_profile *p = parse(yaml, &d);
        assert_non_null(p);
        struct pv_remote r;
        struct pv_remote_opts o = { .op = PV_REMOTE_PLAN };
        struct pv_error err = PV_ERROR_INIT;
        assert_int_equal(pv_remote_prepare(&r, p, "pve3", &o, yaml, strlen(yaml), 0, &err), 0);
        assert_non_null(r.bundle);
        /* what the node answers when none of the images is there yet */
        struct pv_plan plan = PV_PLAN_INIT;
        assert_int_equal(pv_host_roms_plan(p, "pve3", NULL, &plan, &err), 0);
        assert_int_equal(plan.n, 4);
        json_t *doc = pv_plan_to_json(&plan);
        char *answer = json_dumps(doc, JSON_COMPACT);
        assert_non_null(answer);
        size_t cap = r.proc.out_cap ? r.proc.out_cap : PV_PROC_OUT_CAP;
        assert_true(strlen(answer) > PV_PROC_OUT_CAP); /* the case the cap must allow for */
        assert_true(strlen(answer) + 64 * 1024 <= cap);
        free(answer);
        json_decref(doc);
        pv_plan_done(&plan);
        pv_remote_done(&r);
        pv_error_done(&err);
        pv_profile_free(p);
        pv_diags_done(&d);
        for (int i = 0; i < 4; i++)
                unlink(paths[i]);
        rmdir(dir);
}

/* ------------------------------------------------------------ remote answers */

static char *argv_ssh[] = { "ssh", NULL };

static void remote_with(struct pv_remote *r, int code, const char *out, const char *err) {
        memset(r, 0, sizeof *r);
        r->node = strdup("pve3");
        r->host = strdup("10.0.0.3");
        r->proc.spawned = true;
        r->proc.status = code << 8; /* exited with `code` */
        r->proc.out = (struct pv_buf)PV_BUF_INIT;
        r->proc.err = (struct pv_buf)PV_BUF_INIT;
        pv_buf_adds(&r->proc.out, out, NULL);
        pv_buf_adds(&r->proc.err, err, NULL);
}

static void done(struct pv_remote *r) {
        r->argv = NULL; /* not owned in these tests */
        pv_remote_done(r);
}

static const char *HOSTDOC =
        "{\"format_version\": 1, \"pvfio_version\": \"0.1.0\", \"node\": \"pve3\", \"host_section\": true,"
        " \"actions\": [{\"kind\": \"write-file\", \"target\": \"etc/modprobe.d/pvfio.conf\", \"node\": \"pve3\","
        " \"after\": \"x\\n\", \"status\": \"planned\"}, {\"kind\": \"run-command\", \"target\": \"update-initramfs\","
        " \"after\": \"update-initramfs -u -k all\", \"depends_on\": 0}],"
        " \"reboot_reasons\": [\"pve3: kernel arguments not active yet\"], \"warnings\": [\"look\"]}";

static void test_remote_answers(void **state) {
        (void)state;
        struct pv_remote r;
        remote_with(&r, 2, HOSTDOC, "pvfio: warning: something odd\n");
        pv_remote_collect(&r, PV_REMOTE_PLAN);
        assert_true(r.ok);
        assert_int_equal(r.plan.n, 2);
        assert_string_equal(r.plan.actions[1].node, "pve3"); /* filled in */
        assert_int_equal(r.plan.actions[1].depends_on, 1);
        assert_string_equal(r.plan.reboot_reasons[0], "pve3: kernel arguments not active yet");
        assert_string_equal(r.plan.warnings[0], "pve3: look");
        assert_string_equal(r.remote_warnings.v[0], "something odd");
        assert_string_equal(r.info.pvfio_version, "0.1.0");
        done(&r);

        remote_with(&r, 3, HOSTDOC, "");
        pv_remote_collect(&r, PV_REMOTE_PLAN); /* 3 is not an answer of 'host plan' */
        assert_false(r.ok);
        done(&r);

        remote_with(&r, 255, "", "ssh: connect to host 10.0.0.3 port 22: Connection refused\r\n");
        r.argv = argv_ssh;
        pv_remote_collect(&r, PV_REMOTE_PLAN);
        assert_false(r.ok);
        assert_string_equal(r.error, "node 'pve3': cannot reach '10.0.0.3' over SSH: ssh: connect to host 10.0.0.3 "
                                     "port 22: Connection refused");
        done(&r);

        remote_with(&r, 2, "{\"format_version\": 7, \"pvfio_version\": \"2.0.0\", \"actions\": []}", "");
        pv_remote_collect(&r, PV_REMOTE_PLAN);
        assert_false(r.ok);
        assert_string_equal(r.error, "node 'pve3': remote pvfio 2.0.0 speaks plan format 7, this pvfio speaks 2: "
                                     "install pvfio " PVFIO_VERSION " on pve3");
        done(&r);

        remote_with(&r, 0, "{\"actions\": []}", "");
        pv_remote_collect(&r, PV_REMOTE_PLAN);
        assert_non_null(strstr(r.error, "speaks no plan format"));
        done(&r);

        remote_with(&r, 2, "{\"format_version\": 1, \"actions\": [{\"kind\": \"delete-vm\", \"target\": \"vm x\"}]}",
                    "");
        pv_remote_collect(&r, PV_REMOTE_PLAN);
        assert_false(r.ok);
        assert_non_null(strstr(r.error, "refusing the remote answer: its plan holds a cluster action ('delete-vm')"));
        done(&r);

        remote_with(&r, 2, "{\"format_version\": 1, \"node\": \"pve1\", \"actions\": []}", "");
        pv_remote_collect(&r, PV_REMOTE_PLAN);
        assert_non_null(strstr(r.error, "it answered for node 'pve1'"));
        done(&r);

        remote_with(&r, 127, "", "bash: line 1: pvfio: command not found\n");
        pv_remote_collect(&r, PV_REMOTE_PLAN);
        assert_non_null(strstr(r.error, "cannot run pvfio there (bash: line 1: pvfio: command not found): install pvfio"));
        done(&r);

        remote_with(&r, 1, "", "<stdin>:3:1: error: unknown key 'x'\npvfio: <stdin> is not a valid profile\n");
        pv_remote_collect(&r, PV_REMOTE_APPLY);
        assert_string_equal(r.error, "node 'pve3': the remote pvfio exited with status 1: <stdin>:3:1: error: unknown "
                                     "key 'x'");
        done(&r);

        remote_with(&r, 64, "", "pvfio host plan: unknown option '--json'\n");
        pv_remote_collect(&r, PV_REMOTE_PLAN);
        assert_non_null(strstr(r.error, "does not understand 'host plan --json'"));
        done(&r);

        /* an older pvfio that does not know --profile-bundle (sent for a node with romfiles) */
        remote_with(&r, 64, "", "pvfio host apply: unknown option '--profile-bundle'\n"
                                "Try 'pvfio host apply --help' for more information.\n");
        r.bundle = strdup("{}");
        pv_remote_collect(&r, PV_REMOTE_APPLY);
        assert_non_null(strstr(r.error, "node 'pve3': the remote pvfio does not understand 'host apply --json "
                                        "--profile-bundle' (pvfio host apply: unknown option '--profile-bundle'), which "
                                        "sends it the ROM images of the node's romfiles: install pvfio "));
        done(&r);

        remote_with(&r, 0, "", "");
        r.proc.timed_out = true;
        r.proc.timeout_ms = 5000;
        pv_remote_collect(&r, PV_REMOTE_PLAN);
        assert_string_equal(r.error, "node 'pve3': no answer over SSH from '10.0.0.3' within 5 s (cluster.ssh.timeout)");
        done(&r);
}

/* ------------------------------------------------------------ merging */

static void test_hosts_merge_and_results(void **state) {
        (void)state;
        struct pv_hosts h;
        memset(&h, 0, sizeof h);
        h.n = 2;
        h.v = calloc(2, sizeof *h.v);
        h.v[0].node = strdup("pve1");
        h.v[0].local = true;
        h.v[1].node = strdup("pve3");
        h.v[1].remote = calloc(1, sizeof *h.v[1].remote);
        remote_with(h.v[1].remote, 2, HOSTDOC, "");
        pv_remote_collect(h.v[1].remote, PV_REMOTE_PLAN);
        assert_true(h.v[1].remote->ok);
        struct pv_plan local = PV_PLAN_INIT, plan = PV_PLAN_INIT;
        add(&local, PV_ACT_WRITE_FILE, "etc/modules-load.d/pvfio.conf", NULL, "vfio\n", 0, PV_ACT_PLANNED);
        free(local.actions[0].node);
        local.actions[0].node = strdup("pve1");
        assert_int_equal(pv_hosts_merge(&h, &local, &plan, NULL), 0);
        assert_int_equal(plan.n, 3);
        assert_int_equal(h.v[0].first, 0);
        assert_int_equal(h.v[0].count, 1);
        assert_int_equal(h.v[1].first, 1);
        assert_int_equal(h.v[1].count, 2);
        assert_int_equal(plan.actions[2].depends_on, 2); /* shifted into the merged plan */
        assert_string_equal(h.v[1].reboot_reasons.v[0], "kernel arguments not active yet");
        assert_int_equal(pv_hosts_readiness(&h, NULL), 0);
        assert_int_equal(h.n_ready, 2);
        assert_string_equal(h.ready[1].node, "pve3");
        assert_string_equal(h.ready[1].all_devices, "must reboot first: kernel arguments not active yet");

        /* the remote apply answers with statuses: they land on the node's slice */
        pv_remote_done(h.v[1].remote);
        remote_with(h.v[1].remote, 3,
                    "{\"format_version\": 1, \"node\": \"pve3\", \"actions\": [{\"kind\": \"write-file\", \"target\":"
                    " \"etc/modprobe.d/pvfio.conf\", \"status\": \"done\"}, {\"kind\": \"run-command\", \"target\":"
                    " \"update-initramfs\", \"status\": \"failed\", \"error\": \"exit 1\"}]}",
                    "");
        pv_remote_collect(h.v[1].remote, PV_REMOTE_APPLY);
        assert_true(h.v[1].remote->ok);
        pv_hosts_take_apply_results(&h, &plan);
        assert_int_equal(plan.actions[1].status, PV_ACT_DONE);
        assert_int_equal(plan.actions[2].status, PV_ACT_FAILED);
        assert_string_equal(plan.actions[2].error, "exit 1");
        assert_int_equal(plan.actions[0].status, PV_ACT_PLANNED); /* the local node's are applied locally */

        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        struct pv_ctx ctx = { .prog = "pvfio", .out = f, .err = stderr };
        pv_render_plan_text(&ctx, &plan, false);
        pv_hosts_print(&ctx, &h);
        fclose(f);
        assert_non_null(strstr(out, "Host configuration on pve1:\n  + write-file etc/modules-load.d/pvfio.conf"));
        assert_non_null(strstr(out, "Host configuration on pve3:\n  + write-file etc/modprobe.d/pvfio.conf"));
        assert_non_null(strstr(out, "  pve3         ssh   2 host changes, reboot required\n"));
        free(out);
        h.v[1].remote->argv = NULL;
        pv_plan_done(&plan);
        pv_plan_done(&local);
        pv_hosts_done(&h);
}

/* format_version 2: reboot reasons come as {node, text}; apply results are matched by stable key. */
static void test_hosts_typed_results(void **state) {
        (void)state;
        struct pv_hosts h;
        memset(&h, 0, sizeof h);
        h.n = 1;
        h.v = calloc(1, sizeof *h.v);
        h.v[0].node = strdup("pve3");
        h.v[0].remote = calloc(1, sizeof *h.v[0].remote);
        static const char *plan2 =
                "{\"format_version\": 2, \"node\": \"pve3\", \"actions\": ["
                "{\"kind\": \"run-command\", \"target\": \"systemctl\", \"node\": \"pve3\", \"after\": \"systemctl enable u\","
                " \"key\": \"command:systemctl enable u\", \"payload\": {\"argv\": [\"systemctl\", \"enable\", \"u\"]}},"
                "{\"kind\": \"run-command\", \"target\": \"systemctl\", \"node\": \"pve3\", \"after\": \"systemctl start u\","
                " \"key\": \"command:systemctl start u\", \"payload\": {\"argv\": [\"systemctl\", \"start\", \"u\"]}}],"
                " \"reboot_reasons\": [\"pve3: VFs appear at boot\"],"
                " \"reboots\": [{\"node\": \"pve3\", \"text\": \"VFs appear at boot\"}]}";
        remote_with(h.v[0].remote, 2, plan2, "");
        pv_remote_collect(h.v[0].remote, PV_REMOTE_PLAN);
        assert_true(h.v[0].remote->ok);
        assert_string_equal(pv_action_command(&h.v[0].remote->plan.actions[1])->argv[1], "start");
        struct pv_plan local = PV_PLAN_INIT, plan = PV_PLAN_INIT;
        assert_int_equal(pv_hosts_merge(&h, &local, &plan, NULL), 0);
        assert_int_equal(plan.n, 2);
        assert_string_equal(h.v[0].reboot_reasons.v[0], "VFs appear at boot");
        assert_string_equal(plan.reboots[0].node, "pve3");
        /* the node applied only the second one (the first was no longer needed): same kind, same target */
        pv_remote_done(h.v[0].remote);
        remote_with(h.v[0].remote, 0,
                    "{\"format_version\": 2, \"node\": \"pve3\", \"actions\": [{\"kind\": \"run-command\", \"target\":"
                    " \"systemctl\", \"status\": \"done\", \"key\": \"command:systemctl start u\", \"payload\":"
                    " {\"argv\": [\"systemctl\", \"start\", \"u\"]}}]}",
                    "");
        pv_remote_collect(h.v[0].remote, PV_REMOTE_APPLY);
        assert_true(h.v[0].remote->ok);
        pv_hosts_take_apply_results(&h, &plan);
        assert_int_equal(plan.actions[0].status, PV_ACT_SKIPPED);
        assert_int_equal(plan.actions[1].status, PV_ACT_DONE);
        h.v[0].remote->argv = NULL;
        pv_plan_done(&plan);
        pv_plan_done(&local);
        pv_hosts_done(&h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_profile_ssh),
                cmocka_unit_test(test_profile_ssh_errors),
                cmocka_unit_test(test_argv_defaults),
                cmocka_unit_test(test_argv_configured),
                cmocka_unit_test(test_argv_refuses_shell_words),
                cmocka_unit_test(test_planjson_roundtrip),
                cmocka_unit_test(test_hosts_typed_results),
                cmocka_unit_test(test_planjson_rejects),
                cmocka_unit_test(test_proc_io_and_status),
                cmocka_unit_test(test_proc_parallel_bound),
                cmocka_unit_test(test_remote_answers),
                cmocka_unit_test(test_remote_answer_cap_fits_rom_images),
                cmocka_unit_test(test_hosts_merge_and_results),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
