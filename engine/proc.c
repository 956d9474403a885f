/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pvfio/xalloc.h"
#include "pvfio/util.h"

extern char **environ;

#define POLL_SLICE_MS 100          /* re-check exits and deadlines at least this often */
#define LINGER_NS (2000000000ull)  /* after the exit, wait this long for pipes a child's child keeps open */
#define CHUNK 65536

uint64_t pv_now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void close_fd(int *fd) {
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

static void kill_group(struct pv_proc *p) {
        if (p->pid > 0 && !p->reaped) {
                kill(-p->pid, SIGKILL);
                kill(p->pid, SIGKILL);
        }
}

/* Spawn p; on failure p->spawned stays false with spawn_errno set (not an error of the run). */
static void start(struct pv_proc *p) {
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
        p->in_fd = p->out_fd = p->err_fd = -1;
        p->out = (struct pv_buf)PV_BUF_INIT_CAP(p->out_cap ? p->out_cap : PV_PROC_OUT_CAP);
        p->err = (struct pv_buf)PV_BUF_INIT_CAP(p->err_cap ? p->err_cap : PV_PROC_ERR_CAP);
        p->start_ns = pv_now_ns();
        /* stdin is a socket so a write to a child that stopped reading fails with EPIPE (MSG_NOSIGNAL)
         * instead of raising SIGPIPE in pvfio */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
            pipe2(errp, O_CLOEXEC) < 0) {
                p->spawn_errno = errno;
                goto fail;
        }
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_adddup2(&fa, in[1], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
        sigset_t none, def;
        sigemptyset(&none);
        sigemptyset(&def);
        sigaddset(&def, SIGPIPE);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &def);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        int r = posix_spawnp(&p->pid, p->argv[0], &fa, &attr, p->argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0) {
                p->spawn_errno = r;
                goto fail;
        }
        close(in[1]);
        close(out[1]);
        close(errp[1]);
        p->in_fd = in[0];
        p->out_fd = out[0];
        p->err_fd = errp[0];
        fcntl(p->in_fd, F_SETFL, fcntl(p->in_fd, F_GETFL) | O_NONBLOCK);
        fcntl(p->out_fd, F_SETFL, fcntl(p->out_fd, F_GETFL) | O_NONBLOCK);
        fcntl(p->err_fd, F_SETFL, fcntl(p->err_fd, F_GETFL) | O_NONBLOCK);
        if (!p->input || p->input_len == 0)
                close_fd(&p->in_fd);
        p->spawned = true;
        p->running = true;
        return;
fail:
        for (int i = 0; i < 2; i++) {
                close_fd(&in[i]);
                close_fd(&out[i]);
                close_fd(&errp[i]);
        }
        p->exit_ns = pv_now_ns();
        p->reaped = true;
}

static void feed(struct pv_proc *p) {
        while (p->in_fd >= 0 && p->in_off < p->input_len) {
                size_t n = p->input_len - p->in_off;
                ssize_t w = send(p->in_fd, p->input + p->in_off, n > CHUNK ? CHUNK : n, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (w > 0) {
                        p->in_off += (size_t)w;
                        continue;
                }
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                close_fd(&p->in_fd); /* the child does not read (any more) */
                return;
        }
        if (p->in_fd >= 0 && p->in_off >= p->input_len)
                close_fd(&p->in_fd); /* end of input */
}

static void drain(struct pv_proc *p, int *fd, struct pv_buf *b) {
        char chunk[CHUNK];
        while (*fd >= 0) {
                ssize_t n = read(*fd, chunk, sizeof chunk);
                if (n > 0) {
                        if (pv_buf_add(b, chunk, (size_t)n, NULL) < 0) {
                                p->too_much = true;
                                kill_group(p);
                                close_fd(fd);
                        }
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                close_fd(fd); /* EOF or error */
        }
}

static void reap(struct pv_proc *p) {
        if (p->reaped || p->pid <= 0)
                return;
        int status = 0;
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid || (r < 0 && errno == ECHILD)) {
                p->status = r == p->pid ? status : 0;
                p->reaped = true;
                p->exit_ns = pv_now_ns();
                p->elapsed_ns = p->exit_ns - p->start_ns;
        }
}

/* True when p is finished: reaped and its pipes at EOF (or lingering too long). */
static bool finish(struct pv_proc *p, uint64_t now) {
        if (!p->running)
                return false;
        reap(p);
        if (!p->reaped) {
                if (p->timeout_ms && now >= p->start_ns + (uint64_t)p->timeout_ms * 1000000ull && !p->timed_out) {
                        p->timed_out = true;
                        kill_group(p);
                }
                return false;
        }
        bool open = p->out_fd >= 0 || p->err_fd >= 0;
        if (open && now < p->exit_ns + LINGER_NS)
                return false;
        close_fd(&p->in_fd);
        close_fd(&p->out_fd);
        close_fd(&p->err_fd);
        p->running = false;
        return true;
}

int pv_proc_run_all(struct pv_proc *const *procs, size_t n, unsigned parallel, struct pv_error *err) {
        size_t next = 0, active = 0, cap_fds = 3 * (n ? n : 1);
        struct pollfd *fds = pv_xcalloc(cap_fds, sizeof *fds);
        struct pv_proc **owner = pv_xcalloc(cap_fds, sizeof *owner);
        for (size_t i = 0; i < n; i++) {
                procs[i]->pid = 0;
                procs[i]->in_fd = procs[i]->out_fd = procs[i]->err_fd = -1;
                procs[i]->running = procs[i]->reaped = procs[i]->spawned = false;
        }
        int rc = 0;
        while (next < n || active > 0) {
                while (next < n && (parallel == 0 || active < parallel)) {
                        struct pv_proc *p = procs[next++];
                        start(p);
                        if (p->running)
                                active++;
                }
                if (active == 0)
                        continue;
                size_t nf = 0;
                uint64_t now = pv_now_ns();
                int wait_ms = POLL_SLICE_MS;
                for (size_t i = 0; i < next; i++) {
                        struct pv_proc *p = procs[i];
                        if (!p->running)
                                continue;
                        if (p->in_fd >= 0) {
                                fds[nf] = (struct pollfd){ .fd = p->in_fd, .events = POLLOUT };
                                owner[nf++] = p;
                        }
                        if (p->out_fd >= 0) {
                                fds[nf] = (struct pollfd){ .fd = p->out_fd, .events = POLLIN };
                                owner[nf++] = p;
                        }
                        if (p->err_fd >= 0) {
                                fds[nf] = (struct pollfd){ .fd = p->err_fd, .events = POLLIN };
                                owner[nf++] = p;
                        }
                        if (p->timeout_ms && !p->reaped) {
                                uint64_t dl = p->start_ns + (uint64_t)p->timeout_ms * 1000000ull;
                                int left = dl > now ? (int)((dl - now) / 1000000ull) + 1 : 0;
                                if (left < wait_ms)
                                        wait_ms = left;
                        }
                }
                int pr = poll(fds, nf, wait_ms);
                if (pr < 0 && errno != EINTR) {
                        rc = pv_error_set_errno(err, errno, "waiting for the SSH sessions failed");
                        break;
                }
                for (size_t i = 0; pr > 0 && i < nf; i++) {
                        if (!fds[i].revents)
                                continue;
                        struct pv_proc *p = owner[i];
                        if (fds[i].fd == p->in_fd)
                                feed(p);
                        else if (fds[i].fd == p->out_fd)
                                drain(p, &p->out_fd, &p->out);
                        else if (fds[i].fd == p->err_fd)
                                drain(p, &p->err_fd, &p->err);
                }
                now = pv_now_ns();
                for (size_t i = 0; i < next; i++)
                        if (finish(procs[i], now))
                                active--;
        }
        if (rc < 0) {
                for (size_t i = 0; i < n; i++) {
                        struct pv_proc *p = procs[i];
                        if (!p->running)
                                continue;
                        kill_group(p);
                        if (!p->reaped && waitpid(p->pid, &p->status, 0) == p->pid)
                                p->reaped = true;
                        close_fd(&p->in_fd);
                        close_fd(&p->out_fd);
                        close_fd(&p->err_fd);
                        p->running = false;
                }
        }
        free(fds);
        free(owner);
        return rc;
}

bool pv_proc_exited_with(const struct pv_proc *p, int code) {
        return p->spawned && !p->timed_out && !p->too_much && WIFEXITED(p->status) && WEXITSTATUS(p->status) == code;
}

char *pv_proc_describe(const struct pv_proc *p) {
        if (!p->spawned)
                return pv_asprintf(NULL, "could not be started: %s", strerror(p->spawn_errno));
        if (p->timed_out)
                return pv_asprintf(NULL, "timed out after %u s", (p->timeout_ms + 999) / 1000);
        if (p->too_much)
                return pv_asprintf(NULL, "sent more output than the limit of %zu bytes", p->out.cap);
        if (WIFEXITED(p->status))
                return pv_asprintf(NULL, "exited with status %d", WEXITSTATUS(p->status));
        if (WIFSIGNALED(p->status))
                return pv_asprintf(NULL, "was killed by signal %d", WTERMSIG(p->status));
        return pv_asprintf(NULL, "ended with wait status %d", p->status);
}

void pv_proc_done(struct pv_proc *p) {
        if (!p)
                return;
        pv_buf_release(&p->out);
        pv_buf_release(&p->err);
}
