/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI expansion ROMs (a GPU's video BIOS): reading one from sysfs under a root
 * and walking its images.
 *
 * Layout (PCI Firmware Specification 3.0, ch. 5): each image starts with the
 * signature 55 AA; the 16-bit little-endian word at 0x18 points to the PCI Data
 * Structure "PCIR" with vendor (+4), device (+6), image length in 512-byte
 * units (+0x10), code type (+0x14: 0x00 x86 legacy BIOS, 0x01 Open Firmware,
 * 0x02 HP PA RISC, 0x03 EFI) and indicator (+0x15, bit 7: last image). The next
 * image starts where this one ends. An EFI image (UEFI spec, "PCI Option ROM
 * Images") carries the signature 0x0EF1 at +0x04, subsystem at +0x08 and the
 * machine type at +0x0A (0x8664 x64, 0x014C IA32, 0xAA64 AArch64, 0x0EBC EBC).
 */
#ifndef PVFIO_ROM_H
#define PVFIO_ROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvfio/error.h"
#include "pvfio/host.h"
#include "pvfio/pci.h"

#define PV_ROM_MAX_BYTES (16u << 20)   /* no option ROM is larger (the ROM BAR is at most 16 MiB) */
#define PV_ROM_MAX_IMAGES 16

enum pv_rom_code { PV_ROM_X86 = 0x00, PV_ROM_OPENFW = 0x01, PV_ROM_PARISC = 0x02, PV_ROM_EFI = 0x03 };

struct pv_rom_image {
        size_t offset, length;          /* bytes */
        uint16_t vendor, device;        /* from PCIR */
        uint8_t code_type;              /* enum pv_rom_code, or another value */
        bool last;
        uint16_t efi_machine;           /* EFI images: machine type, 0 when the header is not EFI's */
};

struct pv_rom_info {
        struct pv_rom_image images[PV_ROM_MAX_IMAGES];
        size_t n_images;
        bool has_efi;                   /* an image with code type 3 */
        bool has_x86;
        char *problem;                  /* why the walk stopped early (no 55 AA, bad PCIR, …), or NULL */
};

/* Walk the images of a ROM. Never fails on bad data: the walk stops and `problem` says why. */
int pv_rom_parse(const uint8_t *buf, size_t len, struct pv_rom_info *ret, struct pv_error *err);
void pv_rom_info_done(struct pv_rom_info *r);
/* "x86 BIOS", "EFI", "Open Firmware", "HP PA RISC", "type 0xNN" (static or into buf[16]). */
const char *pv_rom_code_name(uint8_t code, char buf[16]);
/* "x64", "IA32", "AArch64", "EBC", "0xNNNN" (into buf[8]). */
const char *pv_rom_machine_name(uint16_t m, char buf[8]);

/*
 * Read the ROM of a device from sys/bus/pci/devices/ADDR/rom under the root. On the real
 * root ("/") the kernel needs it enabled first: write "1", read, write "0" (always, also
 * after a failed read). Under any other root the fixture's file is read as it is.
 * Errors say why and what to do: PV_ENOTFOUND (no such device, or no ROM BAR: no `rom`
 * file), PV_EIO (the kernel could not read it: typically the boot GPU whose ROM was
 * shadowed, or a device in use).
 */
int pv_rom_read(const struct pv_host *h, const struct pv_pci_addr *addr, uint8_t **ret, size_t *ret_len,
                struct pv_error *err);

#endif
