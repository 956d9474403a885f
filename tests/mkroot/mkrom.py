# SPDX-License-Identifier: GPL-2.0-or-later
"""Synthetic PCI option ROMs for fixtures (no vendor firmware): a legacy x86 image and,
optionally, an EFI image, laid out as the PCI Firmware Specification describes them
(55 AA, PCIR pointer at 0x18, PCIR with vendor, device, length in 512-byte units, code
type 0x00 x86 / 0x03 EFI, bit 7 of the indicator on the last image; EFI header with
signature 0x0EF1 and machine type 0x8664).

  build_rom(vendor, device, efi=True) -> bytes

A device's `rom` key in a machine description (tests/machines/FORMAT.md):
  {"efi": true|false}  a ROM with/without an EFI image
  {"readable": false}  an empty `rom` file (what the kernel gives for a shadowed boot GPU)
"""

import struct


def _image(vendor, device, code, last, blocks, efi_header=False):
    img = bytearray(blocks * 512)
    img[0:2] = b"\x55\xaa"
    img[2] = blocks                      # initialization size (legacy field)
    if efi_header:
        # UEFI "PCI Option ROM": EfiSignature (32 bit) at 4, subsystem at 8, machine type at 0xA, compression at 0xC
        struct.pack_into("<IHHH", img, 4, 0x0EF1, 0x000B, 0x8664, 0x0000)
    pcir = 0x40
    struct.pack_into("<H", img, 0x18, pcir)
    img[pcir:pcir + 4] = b"PCIR"
    struct.pack_into("<HHHHBBBBHHBBH", img, pcir + 4, vendor, device, 0, 0x18, 0, 0, 0, 3,
                     blocks, 0, code, 0x80 if last else 0x00, 0)
    return bytes(img)


def build_rom(vendor, device, efi=True):
    legacy = _image(vendor, device, 0x00, not efi, 64)
    if not efi:
        return legacy
    return legacy + _image(vendor, device, 0x03, True, 32, efi_header=True)


def write_rom(r, sysrel, d):
    spec = d.get("rom")
    if spec is None:
        return
    if spec.get("readable", True) is False:
        r.write(sysrel + "/rom", b"", 0o600)
        return
    r.write(sysrel + "/rom", build_rom(int(d["vendor"], 16), int(d["device"], 16), bool(spec.get("efi", True))),
            0o600)
