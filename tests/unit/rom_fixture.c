/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "rom_fixture.h"

#include <string.h>

size_t rom_image(uint8_t *p, uint16_t ven, uint16_t dev, uint8_t code, bool last, unsigned blocks) {
        memset(p, 0, blocks * 512u);
        p[0] = 0x55, p[1] = 0xaa;
        if (code == 3) {
                p[4] = 0xf1, p[5] = 0x0e;       /* EfiSignature 0x0EF1 */
                p[0x0a] = 0x64, p[0x0b] = 0x86; /* machine type x64 */
        }
        p[0x18] = 0x40;
        memcpy(p + 0x40, "PCIR", 4);
        p[0x44] = ven & 0xff, p[0x45] = ven >> 8, p[0x46] = dev & 0xff, p[0x47] = dev >> 8;
        p[0x50] = blocks & 0xff, p[0x51] = blocks >> 8;
        p[0x54] = code;
        p[0x55] = last ? 0x80 : 0;
        return blocks * 512u;
}
