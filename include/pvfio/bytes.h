/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Binary content as text: SHA-256 digests (FIPS 180-4) and base64 (RFC 4648, with
 * padding). Used where bytes that need not be text travel through text: ROM files in a
 * plan (digest and size are shown, never the bytes; the JSON plan carries base64).
 */
#ifndef PVFIO_BYTES_H
#define PVFIO_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PV_SHA256_HEX 65   /* 64 lower-case hex digits and the NUL */

/* The SHA-256 of data[0..len) as 64 lower-case hex digits into out. */
void pv_sha256_hex(const void *data, size_t len, char out[PV_SHA256_HEX]);
/* 64 hex digits (any case), nothing else. */
bool pv_sha256_hex_valid(const char *s);
/* base64 of data[0..len) (malloc()ed, NUL-terminated; never NULL: allocation does not fail). */
char *pv_base64_encode(const void *data, size_t len);
/* Decode strict base64 (length a multiple of 4, padding only at the end, no white space).
 * 0 with a malloc()ed buffer (NUL-terminated beyond *ret_len) or -1 when s is not base64. */
int pv_base64_decode(const char *s, size_t n, uint8_t **ret, size_t *ret_len);

#endif
