/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Debian version order (the algorithm of Debian Policy 5.6.12), for Proxmox package versions. */
#include "pvfio/version.h"

#include <ctype.h>
#include <stddef.h>

/* Weight of one character in a non-digit part: '~' first, then the end, then letters, then the rest. */
static int order(int c) {
        if (isdigit(c))
                return 0;
        if (isalpha(c))
                return c;
        if (c == '~')
                return -1;
        return c ? c + 256 : 0;
}

static int compare_part(const char *a, const char *b) {
        while (*a || *b) {
                int first_diff = 0;
                while ((*a && !isdigit((unsigned char)*a)) || (*b && !isdigit((unsigned char)*b))) {
                        int ac = order((unsigned char)*a), bc = order((unsigned char)*b);
                        if (ac != bc)
                                return ac - bc;
                        a++;
                        b++;
                }
                while (*a == '0')
                        a++;
                while (*b == '0')
                        b++;
                while (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
                        if (!first_diff)
                                first_diff = *a - *b;
                        a++;
                        b++;
                }
                if (isdigit((unsigned char)*a))
                        return 1;
                if (isdigit((unsigned char)*b))
                        return -1;
                if (first_diff)
                        return first_diff;
        }
        return 0;
}

int pv_version_cmp(const char *a, const char *b) {
        if (!a || !b)
                return (a != NULL) - (b != NULL);
        int r = compare_part(a, b);
        return r < 0 ? -1 : r > 0;
}
