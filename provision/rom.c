/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PCI expansion ROMs: read from sysfs under a root, walk the images (see pvfio/rom.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvfio/cleanup.h"
#include "pvfio/rom.h"
#include "pvfio/xalloc.h"

static uint16_t le16(const uint8_t *p) {
        return (uint16_t)(p[0] | (p[1] << 8));
}

const char *pv_rom_code_name(uint8_t code, char buf[16]) {
        switch (code) {
        case PV_ROM_X86:
                return "x86 BIOS";
        case PV_ROM_OPENFW:
                return "Open Firmware";
        case PV_ROM_PARISC:
                return "HP PA RISC";
        case PV_ROM_EFI:
                return "EFI";
        default:
                snprintf(buf, 16, "type 0x%02x", code);
                return buf;
        }
}

const char *pv_rom_machine_name(uint16_t m, char buf[8]) {
        switch (m) {
        case 0x8664:
                return "x64";
        case 0x014c:
                return "IA32";
        case 0xaa64:
                return "AArch64";
        case 0x0ebc:
                return "EBC";
        default:
                snprintf(buf, 8, "0x%04x", m);
                return buf;
        }
}

/* Record why the parse stopped; a problem of the ROM is no error (returns 0). */
static int stop(struct pv_rom_info *r, const char *fmt, size_t off) {
        r->problem = pv_asprintf(NULL, fmt, off);
        return 0;
}

int pv_rom_parse(const uint8_t *buf, size_t len, struct pv_rom_info *ret, struct pv_error *err) {
        (void)err;      /* allocation does not fail (pvfio/xalloc.h) */
        memset(ret, 0, sizeof *ret);
        size_t off = 0;
        if (len == 0)
                return stop(ret, "the ROM is empty%.0zu", (size_t)0);
        while (ret->n_images < PV_ROM_MAX_IMAGES) {
                if (off + 0x1a > len)
                        return stop(ret, "the image at offset 0x%zx is cut off", off);
                if (buf[off] != 0x55 || buf[off + 1] != 0xaa)
                        return stop(ret, "no 55 AA signature at offset 0x%zx: not a PCI option ROM (or an "
                                              "unreadable copy)",
                                    off);
                size_t pcir = off + le16(buf + off + 0x18);
                if (pcir + 0x18 > len || memcmp(buf + pcir, "PCIR", 4) != 0)
                        return stop(ret, "the image at offset 0x%zx has no PCI data structure (PCIR)", off);
                struct pv_rom_image *im = &ret->images[ret->n_images++];
                im->offset = off;
                im->vendor = le16(buf + pcir + 4);
                im->device = le16(buf + pcir + 6);
                im->length = (size_t)le16(buf + pcir + 0x10) * 512;
                im->code_type = buf[pcir + 0x14];
                im->last = (buf[pcir + 0x15] & 0x80) != 0;
                if (im->code_type == PV_ROM_EFI) {
                        ret->has_efi = true;
                        if (off + 0x0c <= len && le16(buf + off + 4) == 0x0ef1)
                                im->efi_machine = le16(buf + off + 0x0a);
                } else if (im->code_type == PV_ROM_X86) {
                        ret->has_x86 = true;
                }
                if (im->last)
                        return 0;
                if (im->length == 0)
                        return stop(ret, "the image at offset 0x%zx has length 0 but is not marked last", off);
                off += im->length;
                if (off >= len)
                        return stop(ret, "the last image is not marked as last (the ROM ends at 0x%zx)", off);
        }
        return stop(ret, "more than 16 images (stopped at offset 0x%zx)", off);
}

void pv_rom_info_done(struct pv_rom_info *r) {
        if (!r)
                return;
        free(r->problem);
        r->problem = NULL;
}

static int write_flag(int dfd, const char *rel, const char *v) {
        int fd = openat(dfd, rel, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, v, 1);
        int e = n == 1 ? 0 : -(errno ? errno : EIO);
        close(fd);
        return e;
}

int pv_rom_read(const struct pv_host *h, const struct pv_pci_addr *addr, uint8_t **ret, size_t *ret_len,
                struct pv_error *err) {
        char a[PV_PCI_ADDR_MAX];
        pv_pci_addr_format(addr, a);
        _cleanup_free_ char *dev = pv_xasprintf("sys/bus/pci/devices/%s", a);
        _cleanup_free_ char *rel = pv_xasprintf("sys/bus/pci/devices/%s/rom", a);
        if (faccessat(h->dirfd, dev, F_OK, 0) < 0)
                return pv_error_set(err, PV_ENOTFOUND, "no PCI device %s on this host (see 'pvfio host scan')", a);
        if (faccessat(h->dirfd, rel, F_OK, 0) < 0)
                return pv_error_set(err, PV_ENOTFOUND,
                                    "device %s has no ROM BAR (no 'rom' file in sysfs): it carries no option ROM the "
                                    "kernel can read; a GPU without one needs a ROM image from its vendor or a dump "
                                    "(romfile)",
                                    a);
        bool real = strcmp(h->root, "/") == 0;
        if (real) {
                int e = write_flag(h->dirfd, rel, "1");
                if (e < 0)
                        return pv_error_set_errno(err, -e, "cannot enable the ROM of %s (run as root)", a);
        }
        int fd = openat(h->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        int e = fd < 0 ? errno : 0;
        uint8_t *buf = NULL;
        size_t len = 0;
        if (fd >= 0) {
                size_t cap = 0;
                for (;;) {
                        if (len == cap) {
                                size_t nc = cap ? cap * 2 : 65536;
                                if (nc > PV_ROM_MAX_BYTES) {
                                        e = EFBIG;
                                        break;
                                }
                                buf = pv_xrealloc(buf, nc);
                                cap = nc;
                        }
                        ssize_t n = read(fd, buf + len, cap - len);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0) {
                                e = errno;
                                break;
                        }
                        if (n == 0)
                                break;
                        len += (size_t)n;
                }
                close(fd);
        }
        if (real)
                (void)write_flag(h->dirfd, rel, "0"); /* always switch the ROM BAR off again */
        if (e || len == 0) {
                free(buf);
                if (e == ENOMEM)        /* read(2) said so */
                        return pv_error_set(err, PV_ENOMEM, "out of memory");
                if (e == EFBIG)
                        return pv_error_set(err, PV_ETOOBIG, "the ROM of %s is larger than 16 MiB", a);
                return pv_error_set(err, PV_EIO,
                                    "the ROM of %s could not be read%s%s: the kernel returns nothing for a GPU that is "
                                    "the boot display (its ROM was shadowed at boot) or is in use by a driver; boot "
                                    "with another GPU as primary (or from the iGPU) and run this again, or take the "
                                    "ROM image from the card's vendor (or TechPowerUp's database) and pass it as "
                                    "romfile",
                                    a, e ? ": " : " (0 bytes)", e ? strerror(e) : "");
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}
