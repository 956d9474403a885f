/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CPU lists in Proxmox's `pve-cpuset` syntax (see pvfio/extras.h), and the Looking Glass size rule. Proxmox
 * (pve-common PVE::CpuSet::parse_cpuset) splits on ',' and accepts each part as
 * `\s*N(-M)?\s*` with M ≥ N; pvfio accepts the same and writes the canonical form.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pvfio/buf.h"
#include "pvfio/cleanup.h"
#include "pvfio/extras.h"

#define WORDS ((PV_CPUSET_MAX_CPU + 64) / 64)

struct cpuset {
        uint64_t w[WORDS];
};

static void set_range(struct cpuset *s, unsigned lo, unsigned hi) {
        for (unsigned i = lo; i <= hi; i++)
                s->w[i / 64] |= UINT64_C(1) << (i % 64);
}

static bool has(const struct cpuset *s, unsigned i) {
        return (s->w[i / 64] >> (i % 64)) & 1u;
}

/* One decimal number at *p (after blanks); false when there is none or it is too large. */
static bool number(const char **p, unsigned *ret) {
        const char *q = *p;
        while (*q == ' ' || *q == '\t')
                q++;
        if (!isdigit((unsigned char)*q))
                return false;
        unsigned long v = 0;
        while (isdigit((unsigned char)*q)) {
                v = v * 10 + (unsigned long)(*q++ - '0');
                if (v > PV_CPUSET_MAX_CPU)
                        return false;
        }
        *ret = (unsigned)v;
        *p = q;
        return true;
}

static int parse(const char *s, struct cpuset *ret, struct pv_error *err) {
        memset(ret, 0, sizeof *ret);
        if (!s || !*s)
                return pv_error_set(err, PV_EINVAL, "an empty CPU list");
        const char *p = s;
        for (;;) {
                const char *part = p;
                size_t plen = strcspn(part, ",");
                unsigned lo, hi;
                if (!number(&p, &lo))
                        return pv_error_set(err, PV_EINVAL, "'%.*s' is not a CPU number or range A-B (CPUs 0-%u)",
                                            (int)plen, part, PV_CPUSET_MAX_CPU);
                hi = lo;
                if (*p == '-') {
                        p++;
                        if (!number(&p, &hi))
                                return pv_error_set(err, PV_EINVAL,
                                                    "'%.*s' is not a CPU number or range A-B (CPUs 0-%u)", (int)plen,
                                                    part, PV_CPUSET_MAX_CPU);
                }
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p && *p != ',')
                        return pv_error_set(err, PV_EINVAL, "'%.*s' is not a CPU number or range A-B (CPUs 0-%u)",
                                            (int)plen, part, PV_CPUSET_MAX_CPU);
                if (hi < lo)
                        return pv_error_set(err, PV_EINVAL, "'%.*s' ends before it starts", (int)plen, part);
                set_range(ret, lo, hi);
                if (!*p)
                        return 0;
                p++;
        }
}

int pv_cpuset_normalize(const char *s, char **ret, struct pv_error *err) {
        struct cpuset set;
        int r = parse(s, &set, err);
        if (r < 0)
                return r;
        _cleanup_buf_ struct pv_buf b = PV_BUF_INIT;
        for (unsigned i = 0; i <= PV_CPUSET_MAX_CPU && r == 0; i++) {
                if (!has(&set, i))
                        continue;
                unsigned j = i;
                while (j < PV_CPUSET_MAX_CPU && has(&set, j + 1))
                        j++;
                r = j == i ? pv_buf_addf(&b, err, "%s%u", b.len ? "," : "", i)
                           : pv_buf_addf(&b, err, "%s%u-%u", b.len ? "," : "", i, j);
                i = j;
        }
        if (r < 0)
                return r;
        return pv_buf_detach(&b, ret, NULL, err);
}

bool pv_cpuset_equal(const char *a, const char *b) {
        struct cpuset x, y;
        if (parse(a, &x, NULL) < 0 || parse(b, &y, NULL) < 0)
                return a && b && strcmp(a, b) == 0;
        return memcmp(&x, &y, sizeof x) == 0;
}

long pv_cpuset_outside(const char *set, const char *local) {
        struct cpuset x, y;
        if (parse(set, &x, NULL) < 0 || parse(local, &y, NULL) < 0)
                return -1;
        long n = 0;
        for (unsigned i = 0; i <= PV_CPUSET_MAX_CPU; i++)
                n += has(&x, i) && !has(&y, i);
        return n;
}

uint64_t pv_lg_size_mib(unsigned width, unsigned height) {
        uint64_t bytes = (uint64_t)width * height * 4 * 2;
        uint64_t mib = (bytes + (1u << 20) - 1) / (1u << 20) + 10; /* ceil(MiB) + 10 MiB */
        uint64_t p = 1;
        while (p < mib)
                p <<= 1;
        return p;
}
