/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 (FIPS 180-4) and base64 (RFC 4648) for binary content in plans (see pvfio/bytes.h). */
#include "pvfio/bytes.h"

#include <stdlib.h>
#include <string.h>

#include "pvfio/xalloc.h"

/* ------------------------------------------------------------ SHA-256 */

static const uint32_t K[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n) {
        return x >> n | x << (32 - n);
}

static void block(uint32_t h[8], const uint8_t *p) {
        uint32_t w[64];
        for (int i = 0; i < 16; i++)
                w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
                       p[4 * i + 3];
        for (int i = 16; i < 64; i++) {
                uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3;
                uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10;
                w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
        for (int i = 0; i < 64; i++) {
                uint32_t t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
                uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
                k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void pv_sha256_hex(const void *data, size_t len, char out[PV_SHA256_HEX]) {
        uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
        const uint8_t *p = data;
        size_t n = len;
        for (; n >= 64; p += 64, n -= 64)
                block(h, p);
        uint8_t tail[128] = { 0 };
        if (n)
                memcpy(tail, p, n);
        tail[n] = 0x80;
        size_t tl = n + 1 + 8 <= 64 ? 64 : 128;
        uint64_t bits = (uint64_t)len * 8;
        for (int i = 0; i < 8; i++)
                tail[tl - 1 - i] = (uint8_t)(bits >> (8 * i));
        block(h, tail);
        if (tl == 128)
                block(h, tail + 64);
        static const char hex[] = "0123456789abcdef";
        for (int i = 0; i < 32; i++) {
                uint8_t byte = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
                out[2 * i] = hex[byte >> 4];
                out[2 * i + 1] = hex[byte & 15];
        }
        out[64] = '\0';
}

bool pv_sha256_hex_valid(const char *s) {
        if (!s || strlen(s) != 64)
                return false;
        return strspn(s, "0123456789abcdefABCDEF") == 64;
}

/* ------------------------------------------------------------- base64 */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *pv_base64_encode(const void *data, size_t len) {
        const uint8_t *in = data;
        char *out = pv_xmalloc((len + 2) / 3 * 4 + 1), *o = out;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
                             (i + 2 < len ? in[i + 2] : 0);
                *o++ = b64[v >> 18 & 63];
                *o++ = b64[v >> 12 & 63];
                *o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
                *o++ = i + 2 < len ? b64[v & 63] : '=';
        }
        *o = '\0';
        return out;
}

static int b64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int pv_base64_decode(const char *s, size_t n, uint8_t **ret, size_t *ret_len) {
        if (n % 4)
                return -1;
        uint8_t *out = pv_xmalloc(n / 4 * 3 + 1);
        size_t o = 0;
        for (size_t i = 0; i < n; i += 4) {
                bool final = i + 4 == n;
                int pad = final ? (s[i + 3] == '=') + (s[i + 2] == '=' && s[i + 3] == '=') : 0;
                uint32_t v = 0;
                for (int k = 0; k < 4; k++) {
                        int d = k >= 4 - pad ? 0 : b64_value(s[i + k]);
                        if (d < 0) {
                                free(out);
                                return -1;
                        }
                        v = v << 6 | (uint32_t)d;
                }
                out[o++] = (uint8_t)(v >> 16);
                if (pad < 2)
                        out[o++] = (uint8_t)(v >> 8);
                if (pad < 1)
                        out[o++] = (uint8_t)v;
        }
        out[o] = '\0';
        *ret = out;
        *ret_len = o;
        return 0;
}
