/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * AMD GPUs with the reset bug and the vendor-reset module (github.com/gnif/vendor-reset).
 *
 * The device IDs are the ones vendor-reset handles, as listed in its src/device-db.h
 * (Polaris 10/11/12, Vega 10/20, Navi 10/12/14, Arcturus); vendor 0x1002. From kernel
 * 5.15 the module only works when the device's reset_method is `device_specific`, which
 * the project's udev rule (udev/99-vendor-reset.rules) sets after loading the module;
 * pvfio writes an equivalent rule of its own (see hostextras.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvfio/extras.h"

struct family {
        const char *name;
        const uint16_t *ids;
        size_t n;
};

static const uint16_t polaris10[] = { 0x67c0, 0x67c1, 0x67c2, 0x67c4, 0x67c7, 0x67d0, 0x67df,
                                      0x67c8, 0x67c9, 0x67ca, 0x67cc, 0x67cf, 0x6fdf };
static const uint16_t polaris11[] = { 0x67e0, 0x67e3, 0x67e8, 0x67eb, 0x67ef, 0x67ff, 0x67e1, 0x67e7, 0x67e9 };
static const uint16_t polaris12[] = { 0x6980, 0x6981, 0x6985, 0x6986, 0x6987, 0x6995, 0x6997, 0x699f };
static const uint16_t vega10[] = { 0x6860, 0x6861, 0x6862, 0x6863, 0x6864, 0x6867, 0x6868, 0x6869,
                                   0x686a, 0x686b, 0x686c, 0x686d, 0x686e, 0x686f, 0x687f };
static const uint16_t vega20[] = { 0x66a0, 0x66a1, 0x66a2, 0x66a3, 0x66a4, 0x66a7, 0x66af };
static const uint16_t navi10[] = { 0x7310, 0x7312, 0x7318, 0x7319, 0x731a, 0x731b, 0x731e, 0x731f, 0x1681 };
static const uint16_t navi14[] = { 0x7340, 0x7341, 0x7347, 0x734f };
static const uint16_t navi12[] = { 0x7360, 0x7362 };
static const uint16_t arcturus[] = { 0x738c };

#define FAM(n, a) { n, a, sizeof a / sizeof a[0] }
static const struct family families[] = {
        FAM("Polaris 10", polaris10), FAM("Polaris 11", polaris11), FAM("Polaris 12", polaris12),
        FAM("Vega 10", vega10),       FAM("Vega 20", vega20),       FAM("Navi 10", navi10),
        FAM("Navi 14", navi14),       FAM("Navi 12", navi12),       FAM("Arcturus", arcturus),
};

const char *pv_vendor_reset_family(uint16_t vendor, uint16_t device) {
        if (vendor != 0x1002)
                return NULL;
        for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
                for (size_t i = 0; i < families[f].n; i++)
                        if (families[f].ids[i] == device)
                                return families[f].name;
        return NULL;
}

bool pv_vendor_reset_installed(const struct pv_host *h, const struct pv_host_state *s) {
        if (pv_host_module_loaded(s, "vendor_reset"))
                return true;
        if (!s->kernel_release)
                return false;
        /* DKMS installs into updates/dkms; a manual `make install` into extra */
        static const char *const dirs[] = { "updates/dkms", "extra", "updates", NULL };
        static const char *const exts[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz", NULL };
        for (size_t d = 0; dirs[d]; d++)
                for (size_t e = 0; exts[e]; e++) {
                        char *rel = pv_asprintf(NULL, "lib/modules/%s/%s/vendor-reset%s", s->kernel_release, dirs[d],
                                                exts[e]);
                        bool ok = rel && faccessat(h->dirfd, rel, F_OK, 0) == 0;
                        free(rel);
                        if (ok)
                                return true;
                }
        return false;
}
