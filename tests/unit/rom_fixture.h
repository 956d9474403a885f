/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Synthetic PCI option ROM images for the tests (PCI Firmware Specification layout; no vendor firmware). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One image of `blocks` 512-byte blocks at p: code 0 legacy x86, 3 EFI (x64); the last-image flag
 * when last. Returns its length. */
size_t rom_image(uint8_t *p, uint16_t ven, uint16_t dev, uint8_t code, bool last, unsigned blocks);
