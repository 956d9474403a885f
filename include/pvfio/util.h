/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small string helpers shared by every layer. */
#ifndef PVFIO_UTIL_H
#define PVFIO_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "pvfio/error.h"

/* strdup that records PV_ENOMEM in err on failure (returns NULL then). */
char *pv_strdup(const char *s, struct pv_error *err);
/* asprintf into a new string; NULL + PV_ENOMEM on failure. */
char *pv_asprintf(struct pv_error *err, const char *fmt, ...) PV_PRINTF(2, 3);
/* True if s starts with prefix. */
bool pv_startswith(const char *s, const char *prefix);
/* Edit distance (Levenshtein) between a and b, capped at `cap` (returns cap when >= cap). */
unsigned pv_edit_distance(const char *a, const char *b, unsigned cap);
/* True when a Proxmox tags string ("a;pvfio,b c": ';', ',' or blanks between) contains tag. */
bool pv_tags_contain(const char *tags, const char *tag);
/* Strip trailing whitespace in place; returns s. */
char *pv_strip_trailing(char *s);
/* Overwrite a secret string with zero bytes (explicit_bzero, not optimised away); NULL-safe. */
void pv_secret_wipe(char *s);
/* pv_secret_wipe, then free (passwords, tokens, tickets); NULL-safe. */
void pv_secret_free(char *s);

/* A NULL-terminated, growable vector of owned strings. */
struct pv_strv {
        char **v;       /* NULL-terminated; NULL when empty */
        size_t n;
        size_t alloc;
};
#define PV_STRV_INIT { NULL, 0, 0 }
/* Append a copy of s. */
int pv_strv_push(struct pv_strv *sv, const char *s, struct pv_error *err);
/* Append s, taking ownership (freed on failure). */
int pv_strv_push_take(struct pv_strv *sv, char *s, struct pv_error *err);
/* True if sv contains s. */
bool pv_strv_contains(const struct pv_strv *sv, const char *s);
/* The strings joined with sep (new string; "" when empty), or NULL + PV_ENOMEM. */
char *pv_strv_join(const struct pv_strv *sv, const char *sep, struct pv_error *err);
/* Free every string and reset. */
void pv_strv_done(struct pv_strv *sv);

#endif
