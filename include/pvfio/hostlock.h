/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host lock and stale temporary files.
 *
 * One pvfio at a time changes a root: `host apply` and `host rollback` hold an
 * exclusive flock(2) on PV_HOSTLOCK_PATH under the root from before the scan to
 * the end; `host plan` holds it shared (plans run side by side, never during an
 * apply). The exclusive holder writes "pid N / since ISO-8601 / command …" into
 * the file so a second run can say who holds it. The file is removed by the last
 * holder, so a root is left as it was; a waiter whose file was removed meanwhile
 * starts over. A root without run/ (a fake root) is not given one: the lock is then
 * taken on the root directory itself (nothing is created; the holder is not named).
 *
 * Temporary files of the atomic writer are named ".NAME.pvfio-PID-HEX". A killed
 * pvfio leaves them behind; pv_host_clean_temps() removes those whose PID is dead.
 */
#ifndef PVFIO_HOSTLOCK_H
#define PVFIO_HOSTLOCK_H

#include <stdbool.h>

#include "pvfio/error.h"
#include "pvfio/host.h"
#include "pvfio/util.h"

#define PV_HOSTLOCK_PATH "run/pvfio-host.lock"

struct pv_host_lock;

/*
 * Take the host lock of h (exclusive or shared), waiting up to timeout_s seconds
 * (0: try once). `command` ("host apply") is recorded for others to see. Errors:
 * PV_ECONFLICT "… holds the host lock of '/' since …" (pid and command named), or
 * PV_EIO. A shared lock on a root pvfio cannot write (read-only image) is granted
 * without a file: a plan only reads.
 */
int pv_host_lock_take(const struct pv_host *h, bool exclusive, unsigned timeout_s, const char *command,
                      struct pv_host_lock **ret, struct pv_error *err);
/* Release (and remove the file when no one else holds it). NULL-safe. */
void pv_host_lock_release(struct pv_host_lock *l);

/*
 * Remove the stale temporary files (".NAME.pvfio-PID-HEX" of a PID that is no longer
 * running) in the root-relative directories `dirs`. Paths removed are appended to
 * ret_removed, those that could not be (or belong to a live process) to ret_left
 * ("path: why"); either may be NULL. Missing directories are fine.
 */
int pv_host_clean_temps(const struct pv_host *h, const struct pv_strv *dirs, struct pv_strv *ret_removed,
                        struct pv_strv *ret_left, struct pv_error *err);

#endif
