/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the API client's pure parts: error mapping, envelope,
 * redaction, fingerprint normalisation, retry policy and backoff, form and
 * path encoding, session configuration checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdlib.h>

#include "pvfio/api.h"

static const char *const SECRET = "5e1f3c9a-1111-2222-3333-444455556666";

static void test_error_param_verification(void **state) {
        (void)state;
        const char *body = "{\"data\":null,\"message\":\"Parameter verification failed.\\n\","
                           "\"errors\":{\"vmid\":\"invalid format - value does not look like a valid VM ID\\n\","
                           "\"hostpci0\":\"invalid format - format error\\nhostpci0.host: value does not match the "
                           "regex pattern\\n\"}}";
        struct pv_error e = PV_ERROR_INIT;
        int r = pv_api_error_from_response("POST", "/nodes/pve1/qemu", 400, "Parameter verification failed.", body,
                                           strlen(body), NULL, &e);
        assert_int_equal(r, -PV_EHTTP);
        assert_int_equal(e.http_status, 400);
        /* one line, keys sorted, nested lines joined, no trailing full stop */
        assert_string_equal(e.message, "POST /nodes/pve1/qemu: 400 Parameter verification failed: "
                                       "hostpci0: invalid format - format error; hostpci0.host: value does not "
                                       "match the regex pattern; vmid: invalid format - value does not look like a "
                                       "valid VM ID");
        assert_null(strchr(e.message, '\n'));
        pv_error_done(&e);
}

static void test_error_classes(void **state) {
        (void)state;
        struct {
                long status;
                const char *reason, *body;
                int code;
                const char *needle;
        } cases[] = {
                { 500, "checksum mismatch (file change by other user?)",
                  "{\"data\":null,\"message\":\"checksum mismatch (file change by other user?)\\n\"}", PV_ECONFLICT,
                  "500 checksum mismatch (file change by other user?)" },
                { 500, "VM is locked (backup)", "{\"data\":null,\"message\":\"VM is locked (backup)\\n\"}", PV_ECONFLICT,
                  "VM is locked (backup)" },
                { 500, "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist",
                  "{\"data\":null,\"message\":\"Configuration file 'nodes/pve1/qemu-server/100.conf' does not "
                  "exist\\n\"}",
                  PV_ENOTFOUND, "does not exist" },
                { 500, "mapping 'x' not found", "", PV_ENOTFOUND, "500 mapping 'x' not found" },
                { 501, "Method 'GET /nodes/pve1/foo' not implemented",
                  "{\"data\":null,\"message\":\"Method 'GET /nodes/pve1/foo' not implemented\\n\"}", PV_EHTTP,
                  "does not implement this path" },
                { 500, "only root can set 'hostpci0' config for non-mapped devices", "", PV_EHTTP,
                  "raw host PCI devices need a root@pam password login" },
                { 403, "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.)",
                  "", PV_EAUTH, "not available to API tokens" },
                { 502, "Bad Gateway", "", PV_EHTTP, "502 Bad Gateway" },
                { 503, "", "", PV_EHTTP, "503 (no message)" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                struct pv_error e = PV_ERROR_INIT;
                int r = pv_api_error_from_response("GET", "/x", cases[i].status, cases[i].reason, cases[i].body,
                                                   strlen(cases[i].body), NULL, &e);
                assert_int_equal(r, -cases[i].code);
                assert_int_equal(e.code, cases[i].code);
                assert_int_equal(e.http_status, cases[i].status);
                if (!strstr(e.message, cases[i].needle))
                        fail_msg("case %zu: '%s' not in '%s'", i, cases[i].needle, e.message);
                pv_error_done(&e);
        }
}

static void test_error_auth_hints(void **state) {
        (void)state;
        struct pv_api_auth_info tok = { PV_AUTH_TOKEN, "pvfio@pve!ci", "environment variable 'PVE_SECRET'",
                                        "https://pve1:8006" };
        struct pv_error e = PV_ERROR_INIT;
        /* 401: empty body, the reason phrase is all there is */
        assert_int_equal(pv_api_error_from_response("GET", "/version", 401, "Authentication failed!", "", 0, &tok, &e),
                         -PV_EAUTH);
        assert_int_equal(e.http_status, 401);
        assert_non_null(strstr(e.message, "GET /version: 401 Authentication failed!"));
        assert_non_null(strstr(e.message, "API token 'pvfio@pve!ci' was rejected"));
        assert_non_null(strstr(e.message, "environment variable 'PVE_SECRET'"));
        assert_null(strstr(e.message, SECRET));
        pv_error_done(&e);

        struct pv_api_auth_info pw = { PV_AUTH_PASSWORD, "root@pam", "file '/etc/pvfio/pw'", "https://pve1:8006" };
        const char *body = "{\"data\":null,\"message\":\"authentication failure\\n\"}";
        assert_int_equal(pv_api_error_from_response("POST", "/access/ticket", 401, "authentication failure", body,
                                                    strlen(body), &pw, &e),
                         -PV_EAUTH);
        assert_non_null(strstr(e.message, "POST /access/ticket: 401 authentication failure; the login of 'root@pam'"));
        assert_non_null(strstr(e.message, "file '/etc/pvfio/pw'"));
        pv_error_done(&e);

        assert_int_equal(pv_api_error_from_response("POST", "/nodes/pve1/qemu", 403,
                                                    "Permission check failed (/vms/100, VM.Allocate)", "", 0, &tok, &e),
                         -PV_EAUTH);
        assert_non_null(strstr(e.message, "403 Permission check failed (/vms/100, VM.Allocate)"));
        assert_non_null(strstr(e.message, "token 'pvfio@pve!ci'"));
        pv_error_done(&e);
}

static void test_envelope(void **state) {
        (void)state;
        json_t *d = NULL;
        const char *ok = "{\"data\":{\"a\":1}}";
        assert_int_equal(pv_api_decode_envelope(ok, strlen(ok), &d, NULL), 0);
        assert_int_equal(json_integer_value(json_object_get(d, "a")), 1);
        json_decref(d);
        const char *null = "{\"data\":null}";
        assert_int_equal(pv_api_decode_envelope(null, strlen(null), &d, NULL), 0);
        assert_true(json_is_null(d));
        json_decref(d);
        const char *bad[] = { "", "[]", "{\"message\":\"x\"}", "{\"data\":1", "\"data\"" };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                d = NULL;
                assert_int_equal(pv_api_decode_envelope(bad[i], strlen(bad[i]), &d, NULL), -PV_EINVAL);
                assert_null(d);
        }
}

static void test_redact(void **state) {
        (void)state;
        char *s = pv_api_redact_header("Authorization: PVEAPIToken=root@pam!t=5e1f3c9a-1111-2222-3333-444455556666");
        assert_string_equal(s, "Authorization: <redacted>");
        free(s);
        s = pv_api_redact_header("cookie: PVEAuthCookie=PVE:root@pam:66F2A1B0::c2lnbmF0dXJl");
        assert_string_equal(s, "cookie: <redacted>");
        free(s);
        s = pv_api_redact_header("CSRFPreventionToken: 66F2A1B0:aGVsbG8");
        assert_string_equal(s, "CSRFPreventionToken: <redacted>");
        free(s);
        s = pv_api_redact_header("Content-Type: application/json");
        assert_string_equal(s, "Content-Type: application/json");
        free(s);

        s = pv_api_redact_form("username=root%40pam&password=s3cr%3Dt&realm=pam");
        assert_string_equal(s, "username=root%40pam&password=<redacted>&realm=pam");
        free(s);
        s = pv_api_redact_form("pass%77ord=x&name=a");
        assert_string_equal(s, "pass%77ord=<redacted>&name=a");
        free(s);
        s = pv_api_redact_form("");
        assert_string_equal(s, "");
        free(s);

        const char *j = "{\"data\":{\"username\":\"root@pam\",\"ticket\":\"PVE:root@pam:66F2A1B0::sig\","
                        "\"CSRFPreventionToken\":\"66F2A1B0:tok\",\"cap\":{\"vms\":{\"VM.Allocate\":1}},"
                        "\"list\":[{\"password\":\"pw\"}]}}";
        s = pv_api_redact_json_text(j, strlen(j), 4096);
        assert_null(strstr(s, "sig"));
        assert_null(strstr(s, "66F2A1B0:tok"));
        assert_null(strstr(s, "\"pw\""));
        assert_non_null(strstr(s, "root@pam"));
        assert_non_null(strstr(s, "VM.Allocate"));
        free(s);
        s = pv_api_redact_json_text("not json password=x", 19, 4096);
        assert_null(strstr(s, "password"));
        free(s);
        s = pv_api_redact_json_text("[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]", 54, 32);
        assert_true(strlen(s) <= 32);
        free(s);
}

static void expect_line(const char *in, const char *want) {
        char *s = pv_api_redact_line(in);
        assert_non_null(s);
        assert_string_equal(s, want);
        free(s);
}

static void test_redact_line(void **state) {
        (void)state;
        /* a request line: the query string follows the form rules */
        expect_line("GET /api2/json/access/ticket?username=root%40pam&password=s3cr%3Dt&otp=1 HTTP/1.1",
                    "GET /api2/json/access/ticket?username=root%40pam&password=<redacted>&otp=<redacted> HTTP/1.1");
        expect_line("DELETE /api2/json/x?pass%77ord=a+b HTTP/1.1", "DELETE /api2/json/x?pass%77ord=<redacted> HTTP/1.1");
        expect_line("GET /api2/json/nodes?type=vm HTTP/1.1", "GET /api2/json/nodes?type=vm HTTP/1.1");
        /* a key that merely ends in a secret name is not a secret key */
        expect_line("GET /x?mypassword=a&new-password=b HTTP/1.1", "GET /x?mypassword=a&new-password=<redacted> HTTP/1.1");
        /* curl's HTTP/2 pseudo-headers and cookies in informational text */
        expect_line("h2h3 [cookie: PVEAuthCookie=PVE:root@pam:66F2A1B0::sig]", "h2h3 [cookie: <redacted>]");
        expect_line("h2h3 [:path: /api2/json/access/ticket?password=pw]",
                    "h2h3 [:path: /api2/json/access/ticket?password=<redacted>]");
        expect_line("Set cookie PVEAuthCookie=PVE:root@pam:X::sig; path=/", "Set cookie PVEAuthCookie=<redacted>; path=/");
        expect_line("x PVEAPIToken=root@pam!t=5e1f3c9a-1111", "x PVEAPIToken=<redacted>");
        /* headers as before */
        expect_line("Proxy-Authorization: Basic abc", "Proxy-Authorization: <redacted>");
        expect_line("Location: /x?ticket=abc", "Location: /x?ticket=<redacted>");
        expect_line("Content-Type: application/json", "Content-Type: application/json");
        expect_line("", "");
}

static void test_fingerprint(void **state) {
        (void)state;
        const char *canon = "3A:9F:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01:23:45:67:89:AB:CD:EF:10:32:54:76:"
                            "98:C2";
        const char *ok[] = {
                canon,
                "3a:9f:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:01:23:45:67:89:ab:cd:ef:10:32:54:76:98:c2",
                "3A9F00112233445566778899AABBCCDDEEFF0123456789ABCDEF1032547698C2",
                "  3a9f00112233445566778899aabbccddeeff0123456789abcdef1032547698c2\n",
                "sha256 Fingerprint=3A:9F:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01:23:45:67:89:AB:CD:EF:10:"
                "32:54:76:98:C2",
        };
        for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
                char out[PV_API_FP_LEN];
                assert_int_equal(pv_api_fingerprint_normalize(ok[i], out, NULL), 0);
                assert_string_equal(out, canon);
        }
        const char *bad[] = {
                "",
                "3A:9F",
                "3A9F00112233445566778899AABBCCDDEEFF0123456789ABCDEF1032547698C", /* 63 digits */
                "3A9F00112233445566778899AABBCCDDEEFF0123456789ABCDEF1032547698C2AA",
                "3A:9F00112233445566778899AABBCCDDEEFF0123456789ABCDEF1032547698C2", /* mixed */
                "3A::9F:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01:23:45:67:89:AB:CD:EF:10:32:54:76:98:C2",
                "3A9:F00112233445566778899AABBCCDDEEFF0123456789ABCDEF1032547698C2",
                "ZZ9F00112233445566778899AABBCCDDEEFF0123456789ABCDEF1032547698C2",
                "3A:9F:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01:23:45:67:89:AB:CD:EF:10:32:54:76:98:C2:",
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                char out[PV_API_FP_LEN] = "untouched";
                struct pv_error e = PV_ERROR_INIT;
                assert_int_equal(pv_api_fingerprint_normalize(bad[i], out, &e), -PV_EINVAL);
                assert_string_equal(out, "untouched");
                assert_non_null(strstr(e.message, "SHA-256"));
                pv_error_done(&e);
        }
        /* SHA-256 of "abc" (FIPS 180-2 test vector) */
        char out[PV_API_FP_LEN];
        pv_api_fingerprint_of_der((const unsigned char *)"abc", 3, out);
        assert_string_equal(out, "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:"
                                 "F2:00:15:AD");
}

static void test_retry_policy(void **state) {
        (void)state;
        /* answers */
        assert_int_equal(pv_api_retry_classify(true, CURLE_OK, 200, true), PV_API_FINAL);
        assert_int_equal(pv_api_retry_classify(true, CURLE_OK, 500, true), PV_API_FINAL);
        assert_int_equal(pv_api_retry_classify(true, CURLE_OK, 401, true), PV_API_FINAL);
        assert_int_equal(pv_api_retry_classify(true, CURLE_OK, 502, true), PV_API_RETRY);
        assert_int_equal(pv_api_retry_classify(true, CURLE_OK, 503, true), PV_API_RETRY);
        assert_int_equal(pv_api_retry_classify(true, CURLE_OK, 596, true), PV_API_RETRY);
        assert_int_equal(pv_api_retry_classify(false, CURLE_OK, 503, true), PV_API_UNCERTAIN);
        assert_int_equal(pv_api_retry_classify(false, CURLE_OK, 400, true), PV_API_FINAL);
        /* never reached the server: anything may be retried */
        assert_int_equal(pv_api_retry_classify(false, CURLE_COULDNT_CONNECT, 0, false), PV_API_RETRY);
        assert_int_equal(pv_api_retry_classify(false, CURLE_OPERATION_TIMEDOUT, 0, false), PV_API_RETRY);
        assert_int_equal(pv_api_retry_classify(true, CURLE_SSL_CONNECT_ERROR, 0, false), PV_API_RETRY);
        /* permanent local problems are not retried */
        assert_int_equal(pv_api_retry_classify(true, CURLE_PEER_FAILED_VERIFICATION, 0, false), PV_API_FINAL);
        assert_int_equal(pv_api_retry_classify(false, CURLE_URL_MALFORMAT, 0, false), PV_API_FINAL);
        /* sent, then the connection broke */
        assert_int_equal(pv_api_retry_classify(true, CURLE_GOT_NOTHING, 0, true), PV_API_RETRY);
        assert_int_equal(pv_api_retry_classify(true, CURLE_RECV_ERROR, 0, true), PV_API_RETRY);
        assert_int_equal(pv_api_retry_classify(false, CURLE_GOT_NOTHING, 0, true), PV_API_UNCERTAIN);
        assert_int_equal(pv_api_retry_classify(false, CURLE_OPERATION_TIMEDOUT, 0, true), PV_API_UNCERTAIN);
        assert_int_equal(pv_api_retry_classify(false, CURLE_WRITE_ERROR, 200, true), PV_API_UNCERTAIN);
        assert_int_equal(pv_api_retry_classify(true, CURLE_WRITE_ERROR, 200, true), PV_API_FINAL);
}

static void test_backoff(void **state) {
        (void)state;
        assert_int_equal(pv_api_backoff_ms(0, 200, 5000, 123), 0);
        /* equal jitter: in [d/2, d] */
        for (uint32_t rnd = 0; rnd < 2000; rnd += 37) {
                unsigned d1 = pv_api_backoff_ms(1, 200, 5000, rnd);
                unsigned d3 = pv_api_backoff_ms(3, 200, 5000, rnd);
                unsigned d9 = pv_api_backoff_ms(9, 200, 5000, rnd);
                assert_in_range(d1, 100, 200);
                assert_in_range(d3, 400, 800);
                assert_in_range(d9, 2500, 5000);
        }
        assert_int_equal(pv_api_backoff_ms(2, 200, 5000, 0), 200);
        assert_int_equal(pv_api_backoff_ms(2, 200, 5000, 200), 400);
        assert_int_not_equal(pv_api_backoff_ms(2, 200, 5000, 7), pv_api_backoff_ms(2, 200, 5000, 8));
        assert_int_equal(pv_api_backoff_ms(60, 200, 5000, 0), 2500); /* no overflow */
}

static void test_retry_time(void **state) {
        (void)state;
        /* reads: the retry time decides, not a count (the old budget of 4 tries was ~1.4 s) */
        assert_true(pv_api_retry_allowed(true, 4, 0, 1400, 1600, 30000));
        assert_true(pv_api_retry_allowed(true, 12, 0, 25000, 5000, 30000));
        assert_false(pv_api_retry_allowed(true, 12, 0, 26000, 5000, 30000));
        assert_false(pv_api_retry_allowed(true, 1, 0, 0, 200, 100));
        /* an explicit attempt cap still holds for reads */
        assert_false(pv_api_retry_allowed(true, 3, 3, 0, 10, 30000));
        assert_true(pv_api_retry_allowed(true, 2, 3, 0, 10, 30000));
        /* writes that never reached the server: a count, whatever the time */
        assert_true(pv_api_retry_allowed(false, 3, 4, 0, 10, 30000));
        assert_false(pv_api_retry_allowed(false, 4, 4, 0, 10, 30000));
        assert_false(pv_api_retry_allowed(false, 4, 0, 0, 10, 30000));
        assert_false(pv_api_retry_allowed(false, 1, 4, 0, 10, 30000) == false);
}

static void test_form_and_path(void **state) {
        (void)state;
        struct pv_api_params p = PV_API_PARAMS_INIT;
        assert_int_equal(pv_api_params_add(&p, "hostpci0", "0000:01:00,pcie=1;x", NULL), 0);
        assert_int_equal(pv_api_params_add(&p, "map", "node=pve1,path=0000:01:00.0,id=10de:2236", NULL), 0);
        assert_int_equal(pv_api_params_add(&p, "map", "node=pve2,path=0000:41:00.0,id=10de:2236", NULL), 0);
        assert_int_equal(pv_api_params_add_uint(&p, "vmid", 100, NULL), 0);
        assert_int_equal(pv_api_params_add_bool(&p, "onboot", true, NULL), 0);
        assert_int_equal(pv_api_params_add(&p, "description", "a b&c=d\nü", NULL), 0);
        assert_string_equal(pv_api_params_get(&p, "map"), "node=pve1,path=0000:01:00.0,id=10de:2236");
        assert_null(pv_api_params_get(&p, "nope"));
        struct pv_buf b = PV_BUF_INIT;
        assert_int_equal(pv_api_form_encode(&p, &b, NULL), 0);
        assert_string_equal(b.buf, "hostpci0=0000%3A01%3A00%2Cpcie%3D1%3Bx"
                                   "&map=node%3Dpve1%2Cpath%3D0000%3A01%3A00.0%2Cid%3D10de%3A2236"
                                   "&map=node%3Dpve2%2Cpath%3D0000%3A41%3A00.0%2Cid%3D10de%3A2236"
                                   "&vmid=100&onboot=1&description=a%20b%26c%3Dd%0A%C3%BC");
        pv_buf_release(&b);
        pv_api_params_done(&p);

        char *path = pv_api_path(NULL, "nodes", "pve1", "tasks", "UPID:pve1:0003A1F2:01B2C3D4:66F2A1B0:qmstart:100:a@pve!t:",
                                 "status", NULL);
        assert_string_equal(path, "/nodes/pve1/tasks/UPID:pve1:0003A1F2:01B2C3D4:66F2A1B0:qmstart:100:a@pve!t:/status");
        free(path);
        path = pv_api_path(NULL, "cluster", "mapping", "pci", "a/b c?d#%", NULL);
        assert_string_equal(path, "/cluster/mapping/pci/a%2Fb%20c%3Fd%23%25");
        free(path);
}

static void test_session_config(void **state) {
        (void)state;
        struct pv_api *api = NULL;
        struct pv_error e = PV_ERROR_INIT;
        struct pv_api_config c = { .url = "https://127.0.0.1:8006/api2/json/", .auth = PV_AUTH_TOKEN,
                                   .token_id = "pvfio@pve!ci", .secret = SECRET };
        assert_int_equal(pv_api_new(&c, &api, &e), 0);
        assert_string_equal(pv_api_url(api), "https://127.0.0.1:8006");
        pv_api_unref(api);
        const char *urls[][2] = {
                { "https://pve1", "https://pve1:8006" },
                { "HTTPS://pve1.lab:443/", "https://pve1.lab:443" },
                { "https://[fd00::10]/api2/json", "https://[fd00::10]:8006" },
                { "https://[fd00::10]:8007", "https://[fd00::10]:8007" },
                { "https://proxy.example/pve/api2/json/", "https://proxy.example:8006/pve" },
        };
        for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
                c.url = urls[i][0];
                assert_int_equal(pv_api_new(&c, &api, &e), 0);
                assert_string_equal(pv_api_url(api), urls[i][1]);
                pv_api_unref(api);
        }
        c.url = "https://127.0.0.1:8006";
        assert_int_equal(pv_api_new(&c, &api, &e), 0);
        struct pv_api_stats st;
        pv_api_get_stats(api, &st);
        assert_int_equal(st.requests, 0);
        assert_ptr_equal(pv_api_ref(api), api);
        pv_api_unref(api);
        pv_api_unref(api);

        struct {
                struct pv_api_config c;
                const char *needle;
        } bad[] = {
                { { .url = "http://pve1:8006", .auth = PV_AUTH_TOKEN, .token_id = "a@pve!t", .secret = SECRET },
                  "must start with https://" },
                { { .url = "https://", .auth = PV_AUTH_TOKEN, .token_id = "a@pve!t", .secret = SECRET }, "no host" },
                { { .url = "https://root:pw@pve1:8006", .auth = PV_AUTH_TOKEN, .token_id = "a@pve!t", .secret = SECRET },
                  "must not contain user information" },
                { { .url = "https://[fd00::1", .auth = PV_AUTH_TOKEN, .token_id = "a@pve!t", .secret = SECRET },
                  "IPv6" },
                { { .url = "https://pve1:8006/x?y", .auth = PV_AUTH_TOKEN, .token_id = "a@pve!t", .secret = SECRET },
                  "HOST[:PORT] only" },
                { { .url = "https://pve1:8006", .auth = PV_AUTH_TOKEN, .token_id = "a@pve", .secret = SECRET },
                  "USER@REALM!TOKENID" },
                { { .url = "https://pve1:8006", .auth = PV_AUTH_TOKEN, .token_id = "a@pve!t", .secret = "" },
                  "is empty" },
                { { .url = "https://pve1:8006", .auth = PV_AUTH_PASSWORD, .user = "root", .secret = SECRET },
                  "USER@REALM" },
                { { .url = "https://pve1:8006", .auth = PV_AUTH_NONE }, "no API credentials" },
                { { .url = "https://pve1:8006", .auth = PV_AUTH_TOKEN, .token_id = "a@pve!t",
                    .secret = "5e1f3c9a-1111\r\nX-Evil: 1", .secret_source = "environment variable 'S'" },
                  "line break" },
                { { .url = "https://pve1:8006", .auth = PV_AUTH_TOKEN, .token_id = "a@pve!t", .secret = SECRET,
                    .fingerprint = "AA:BB" },
                  "not a SHA-256" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                api = NULL;
                int r = pv_api_new(&bad[i].c, &api, &e);
                assert_true(r < 0);
                assert_null(api);
                if (!strstr(e.message, bad[i].needle))
                        fail_msg("case %zu: '%s' not in '%s'", i, bad[i].needle, e.message);
                assert_null(strstr(e.message, "5e1f3c9a")); /* never the secret */
                assert_null(strstr(e.message, ":pw@"));
                pv_error_done(&e);
        }
}

static void test_task_timeout(void **state) {
        (void)state;
        assert_int_equal(pv_api_task_timeout_ms("qmconfig", 60000, 0, false), 60000);
        assert_int_equal(pv_api_task_timeout_ms("qmstart", 60000, 4096, false), 60000);
        assert_int_equal(pv_api_task_timeout_ms("qmstart", 60000, 4096, true), 240000);
        /* big VMs: 1 s per GiB, then ×4 for PCI */
        assert_int_equal(pv_api_task_timeout_ms("qmstart", 60000, 128 * 1024, false), 128000);
        assert_int_equal(pv_api_task_timeout_ms("qmstart", 60000, 128 * 1024, true), 512000);
        assert_int_equal(pv_api_task_timeout_ms("qmcreate", 60000, 0, true), 180000);
        assert_int_equal(pv_api_task_timeout_ms(NULL, 0, 0, false), PV_API_DEFAULT_TASK_TIMEOUT_MS);
}

static void test_task_log_tail(void **state) {
        (void)state;
        struct pv_strv l = PV_STRV_INIT;
        assert_null(pv_api_task_log_tail(&l, 8));
        pv_strv_push(&l, "TASK ERROR: boom", NULL);
        assert_null(pv_api_task_log_tail(&l, 8)); /* the status line is the error itself */
        pv_strv_done(&l);
        const char *lines[] = { "start VM 100", "kvm: -device vfio-pci: failed to open /dev/vfio/14",
                                "vfio 0000:01:00.0: group 14 is not viable  ", "TASK ERROR: start failed" };
        for (size_t i = 0; i < 4; i++)
                pv_strv_push(&l, lines[i], NULL);
        char *t = pv_api_task_log_tail(&l, 2);
        assert_string_equal(t, "kvm: -device vfio-pci: failed to open /dev/vfio/14 | vfio 0000:01:00.0: group 14 is "
                               "not viable");
        free(t);
        t = pv_api_task_log_tail(&l, 8);
        assert_string_equal(t, "start VM 100 | kvm: -device vfio-pci: failed to open /dev/vfio/14 | vfio "
                               "0000:01:00.0: group 14 is not viable");
        free(t);
        pv_strv_done(&l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_error_param_verification),
                cmocka_unit_test(test_error_classes),
                cmocka_unit_test(test_error_auth_hints),
                cmocka_unit_test(test_envelope),
                cmocka_unit_test(test_redact),
                cmocka_unit_test(test_redact_line),
                cmocka_unit_test(test_fingerprint),
                cmocka_unit_test(test_retry_policy),
                cmocka_unit_test(test_backoff),
                cmocka_unit_test(test_retry_time),
                cmocka_unit_test(test_form_and_path),
                cmocka_unit_test(test_session_config),
                cmocka_unit_test(test_task_timeout),
                cmocka_unit_test(test_task_log_tail),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
