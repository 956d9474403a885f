/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The API executor's graph: dependencies between the actions, worker threads, the scheduler. */
#include "pvfio/apiexec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pvfio/cleanup.h"
#include "pvfio/util.h"
#include "pvfio/xalloc.h"
#include "exec_int.h"
#include "internal.h"

static void set_error(struct pv_action *a, enum pv_action_status st, const char *msg) {
        a->status = st;
        free(a->error);
        a->error = pv_xstrdup(msg);
}

/* ------------------------------------------------------------ the graph */

struct dep {
        size_t job;                     /* index into jobs[] */
        bool hard;                      /* a failure of it skips this action (else: order only) */
        bool explicit_dep;              /* the plan's depends_on (its own skip message) */
};

enum job_state { JOB_WAIT, JOB_QUEUED, JOB_RUN, JOB_FINISHED, JOB_SETTLED };

struct job {
        size_t idx;                     /* plan index */
        struct dep *deps;
        size_t n_deps, alloc_deps;
        enum job_state state;
        int rc;
        struct pv_error err;
        uint64_t started_ms;
        uint32_t prealloc;
        unsigned long writes, tasks, polls;
};

struct sched {
        pthread_mutex_t mu;
        pthread_cond_t work_cv, done_cv;
        struct pv_plan *plan;
        const struct pv_api_exec_opts *o;
        struct job *jobs;
        size_t n_jobs;
        size_t *queue;                  /* jobs handed to workers, FIFO */
        size_t q_head, q_tail;
        bool stop;
        struct vmid_pool pool;
        bool enomem;
        struct pv_task_board *board;    /* the tasks the workers wait for (parallel runs) */
};

static bool same_target(const struct pv_action *a, const struct pv_action *b) {
        return a->target && b->target && strcmp(a->target, b->target) == 0 &&
               ((!a->node && !b->node) || (a->node && b->node && strcmp(a->node, b->node) == 0));
}

static bool is_mapping(enum pv_action_kind k) {
        return k == PV_ACT_CREATE_MAPPING || k == PV_ACT_UPDATE_MAPPING || k == PV_ACT_DELETE_MAPPING;
}

static void add_dep(struct job *j, size_t on, bool hard, bool explicit_dep) {
        for (size_t i = 0; i < j->n_deps; i++)
                if (j->deps[i].job == on) {
                        j->deps[i].hard |= hard;
                        j->deps[i].explicit_dep |= explicit_dep;
                        return;
                }
        if (j->n_deps == j->alloc_deps) {
                size_t na = j->alloc_deps ? j->alloc_deps * 2 : 4;
                j->deps = pv_xreallocarray(j->deps, na, sizeof *j->deps);
                j->alloc_deps = na;
        }
        j->deps[j->n_deps++] = (struct dep){ .job = on, .hard = hard, .explicit_dep = explicit_dep };
}

/* The job of plan index idx, or SIZE_MAX (host actions are not jobs). */
static size_t job_of(const struct sched *s, size_t idx) {
        for (size_t i = 0; i < s->n_jobs; i++)
                if (s->jobs[i].idx == idx)
                        return i;
        return SIZE_MAX;
}

static void build_graph(struct sched *s) {
        struct pv_plan *plan = s->plan;
        for (size_t k = 0; k < s->n_jobs; k++) {
                struct job *j = &s->jobs[k];
                const struct pv_action *a = &plan->actions[j->idx];
                if (a->depends_on > 0 && (size_t)a->depends_on <= plan->n) {
                        size_t d = job_of(s, (size_t)a->depends_on - 1);
                        if (d != SIZE_MAX && d != k)
                                add_dep(j, d, true, true);
                }
                bool starts = a->kind == PV_ACT_START_VM || a->kind == PV_ACT_RESTART_VM;
                for (size_t e = 0; e < k; e++) {
                        const struct pv_action *b = &plan->actions[s->jobs[e].idx];
                        if (same_target(a, b))
                                add_dep(j, e, true, false);
                        else if (is_mapping(a->kind) && is_mapping(b->kind))
                                add_dep(j, e, false, false);
                        else if (starts && a->node && b->node && strcmp(a->node, b->node) == 0 &&
                                 (b->kind == PV_ACT_STOP_VM || b->kind == PV_ACT_DELETE_VM ||
                                  b->kind == PV_ACT_RESTART_VM))
                                add_dep(j, e, false, false);
                }
        }
}

/*
 * vmids for the creates that need one, reserved before the first write: one
 * nextid (it honours the datacenter's range) and one /cluster/resources read,
 * then the following free ids. A collision at create time is re-checked
 * (create_vm), and a replacement id is never one of these.
 */
static int preallocate_vmids(struct sched *s, struct pv_api *api, struct pv_error *err) {
        size_t n_create = 0;
        for (size_t k = 0; k < s->n_jobs; k++) {
                const struct pv_action *a = &s->plan->actions[s->jobs[k].idx];
                n_create += a->kind == PV_ACT_CREATE_VM && a->vmid == 0 && !a->blocked;
        }
        if (n_create < 2)
                return 0;
        struct pv_vm_info *vms = NULL;
        size_t n = 0;
        uint32_t next = 0;
        /* both in one round (two concurrent GETs): the listing does not depend on the answer of nextid */
        struct pv_api_get q[2] = {
                { .path = "/cluster/nextid", .err = PV_ERROR_INIT },
                { .path = "/cluster/resources", .err = PV_ERROR_INIT },
        };
        int r = pv_api_get_many(api, q, 2, err);
        if (r >= 0 && (r = pv_api_decode_nextid(q[0].data, &next, err)) < 0)
                pv_error_wrap(err, "GET %s", q[0].path);
        if (r >= 0 && (r = pv_api_decode_resources(q[1].data, NULL, NULL, &vms, &n, err)) < 0)
                pv_error_wrap(err, "GET %s", q[1].path);
        for (size_t i = 0; i < 2; i++) {
                json_decref(q[i].data);
                pv_error_done(&q[i].err);
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                (void)pvx_pool_take(&s->pool, vms[i].vmid);
        for (size_t i = 0; i < s->plan->n; i++)
                if (s->plan->actions[i].vmid && !pv_action_is_host(s->plan->actions[i].kind))
                        (void)pvx_pool_take(&s->pool, s->plan->actions[i].vmid);
        pvx_free_vm_infos(vms, n);
        for (size_t k = 0; k < s->n_jobs; k++) {
                struct job *j = &s->jobs[k];
                const struct pv_action *a = &s->plan->actions[j->idx];
                if (a->kind == PV_ACT_CREATE_VM && a->vmid == 0 && !a->blocked) {
                        j->prealloc = pvx_pool_take(&s->pool, next);
                        next = j->prealloc + 1;
                }
        }
        return 0;
}

/* Run one job on a worker's session (no lock held). */
static void run_job(struct sched *s, struct pv_api *api, struct job *j) {
        struct worker w = { .api = api, .o = s->o, .pool = &s->pool, .prealloc = j->prealloc, .board = s->board };
        struct pv_action *a = &s->plan->actions[j->idx];
        j->rc = pvx_run_one(api, a, &w, &j->err);
        j->writes = w.writes;
        j->tasks = w.tasks;
        j->polls = w.polls;
}

struct worker_thread {
        struct sched *s;
        struct pv_api *api;
        pthread_t tid;
        bool started;
};

static void *worker_main(void *arg) {
        struct worker_thread *wt = arg;
        struct sched *s = wt->s;
        pthread_mutex_lock(&s->mu);
        for (;;) {
                while (s->q_head == s->q_tail && !s->stop)
                        pthread_cond_wait(&s->work_cv, &s->mu);
                if (s->q_head == s->q_tail)
                        break;
                struct job *j = &s->jobs[s->queue[s->q_head++]];
                j->state = JOB_RUN;
                pthread_mutex_unlock(&s->mu);
                run_job(s, wt->api, j);
                pthread_mutex_lock(&s->mu);
                j->state = JOB_FINISHED;
                pthread_cond_signal(&s->done_cv);
        }
        pthread_mutex_unlock(&s->mu);
        return NULL;
}

/* Why a job cannot run because of a prerequisite, or NULL (it may run); *wait = some are unfinished. */
static char *blocked_by(struct sched *s, const struct job *j, bool *wait) {
        *wait = false;
        for (size_t i = 0; i < j->n_deps; i++)
                if (s->jobs[j->deps[i].job].state != JOB_SETTLED)
                        *wait = true;
        if (*wait)
                return NULL;
        for (size_t i = 0; i < j->n_deps; i++) {
                const struct dep *d = &j->deps[i];
                const struct pv_action *b = &s->plan->actions[s->jobs[d->job].idx];
                if (!d->hard || b->status == PV_ACT_DONE)
                        continue;
                if (d->explicit_dep)
                        return pv_asprintf(NULL, "not run: '%s' (%s) did not succeed", b->target ? b->target : "?",
                                           pv_action_kind_to_string(b->kind));
                return pv_xstrdup("not run: an earlier action on the same target failed");
        }
        /* a prerequisite among the host actions (run before the API executor) */
        const struct pv_action *a = &s->plan->actions[j->idx];
        if (a->depends_on > 0 && (size_t)a->depends_on <= s->plan->n) {
                const struct pv_action *dep = &s->plan->actions[a->depends_on - 1];
                if (pv_action_is_host(dep->kind) && dep->status != PV_ACT_DONE && dep->status != PV_ACT_PLANNED)
                        return pv_asprintf(NULL, "not run: '%s' (%s) did not succeed", dep->target ? dep->target : "?",
                                           pv_action_kind_to_string(dep->kind));
        }
        return NULL;
}

/* A vmid allocated by a create reaches the actions after it. */
static void inherit_vmid(struct sched *s, const struct job *j) {
        struct pv_action *a = &s->plan->actions[j->idx];
        for (size_t i = 0; i < j->n_deps && a->vmid == 0; i++) {
                const struct pv_action *b = &s->plan->actions[s->jobs[j->deps[i].job].idx];
                if (b->vmid && (j->deps[i].explicit_dep || same_target(a, b) ||
                                (b->kind == PV_ACT_CREATE_VM && b->target && a->target && !strcmp(a->target, b->target))))
                        a->vmid = b->vmid;
        }
}

struct runview {
        const struct pv_action **acts;
        uint64_t *since;
        size_t n;
};

/* Report one step (called with s->mu held: the job states it lists are stable). */
static void emit(struct sched *s, enum pv_exec_event_kind kind, const struct job *j, size_t finished,
                 struct runview *rv) {
        const struct pv_api_exec_opts *o = s->o;
        if (!o)
                return;
        struct pv_action *a = j ? &s->plan->actions[j->idx] : NULL;
        if (a && o->progress && kind != PV_EXEC_TICK)
                o->progress(o->userdata, a, kind == PV_EXEC_END);
        if (!o->event)
                return;
        rv->n = 0;
        for (size_t k = 0; k < s->n_jobs; k++)
                if (s->jobs[k].state == JOB_QUEUED || s->jobs[k].state == JOB_RUN ||
                    s->jobs[k].state == JOB_FINISHED) {
                        rv->acts[rv->n] = &s->plan->actions[s->jobs[k].idx];
                        rv->since[rv->n++] = s->jobs[k].started_ms;
                }
        uint64_t now = pv_api_now_ms();
        struct pv_exec_event ev = {
                .kind = kind,
                .a = a,
                .index = j ? j->idx : 0,
                .elapsed_ms = j && j->started_ms && kind == PV_EXEC_END ? now - j->started_ms : 0,
                .finished = finished,
                .total = s->n_jobs,
                .running = rv->acts,
                .running_since_ms = rv->since,
                .n_running = rv->n,
                .now_ms = now,
        };
        o->event(o->userdata, &ev);
}

static void deadline_in(struct timespec *ts, unsigned ms) {
        clock_gettime(CLOCK_REALTIME, ts);
        ts->tv_nsec += (long)ms * 1000000L;
        while (ts->tv_nsec >= 1000000000L) {
                ts->tv_sec++;
                ts->tv_nsec -= 1000000000L;
        }
}

/*
 * The scheduler (caller's thread): settles finished jobs, skips those whose
 * prerequisite failed, hands ready ones to the workers (at most n_workers at
 * once) and reports every step. With no worker threads (inline) it runs each
 * job itself on the caller's session.
 */
static int schedule(struct sched *s, struct pv_api *inline_api, unsigned n_workers, struct pv_api_exec_result *res,
                    struct pv_error *err) {
        size_t finished = 0, in_flight = 0;
        struct runview rv = { .acts = pv_xcalloc(s->n_jobs + 1, sizeof *rv.acts),
                              .since = pv_xcalloc(s->n_jobs + 1, sizeof *rv.since) };
        int ret = 0;
        pthread_mutex_lock(&s->mu);
        for (;;) {
                bool progress = false;
                /* settle what finished */
                for (size_t k = 0; k < s->n_jobs && ret == 0; k++) {
                        struct job *j = &s->jobs[k];
                        if (j->state != JOB_FINISHED)
                                continue;
                        struct pv_action *a = &s->plan->actions[j->idx];
                        res->writes += j->writes;
                        res->tasks += j->tasks;
                        res->polls += j->polls;
                        if (j->rc == -PV_ENOMEM) {
                                pv_error_move(err, &j->err);
                                ret = -PV_ENOMEM;
                        } else if (j->rc < 0) {
                                set_error(a, PV_ACT_FAILED, pv_error_message(&j->err));
                                res->failed++;
                        } else {
                                a->status = PV_ACT_DONE;
                                res->done++;
                        }
                        pv_error_done(&j->err);
                        j->state = JOB_SETTLED;
                        in_flight--;
                        finished++;
                        progress = true;
                        emit(s, PV_EXEC_END, j, finished, &rv);
                }
                /* skip or dispatch what waits */
                for (size_t k = 0; k < s->n_jobs && ret == 0; k++) {
                        struct job *j = &s->jobs[k];
                        if (j->state != JOB_WAIT)
                                continue;
                        struct pv_action *a = &s->plan->actions[j->idx];
                        if (a->blocked) {
                                a->status = PV_ACT_BLOCKED;
                                res->skipped++;
                        } else {
                                bool wait;
                                _cleanup_free_ char *why = blocked_by(s, j, &wait);
                                if (wait)
                                        continue;
                                inherit_vmid(s, j);
                                if (why) {
                                        set_error(a, PV_ACT_SKIPPED, why);
                                        res->skipped++;
                                } else {
                                        if (in_flight >= n_workers)
                                                continue;
                                        j->state = JOB_QUEUED;
                                        j->started_ms = pv_api_now_ms();
                                        in_flight++;
                                        progress = true;
                                        emit(s, PV_EXEC_START, j, finished, &rv);
                                        if (inline_api) {
                                                pthread_mutex_unlock(&s->mu);
                                                run_job(s, inline_api, j);
                                                pthread_mutex_lock(&s->mu);
                                                j->state = JOB_FINISHED;
                                        } else {
                                                s->queue[s->q_tail++] = k;
                                                pthread_cond_signal(&s->work_cv);
                                        }
                                        continue;
                                }
                        }
                        j->state = JOB_SETTLED;
                        finished++;
                        progress = true;
                        emit(s, PV_EXEC_END, j, finished, &rv);
                }
                if (ret < 0 && in_flight == 0)
                        break;
                if (finished == s->n_jobs)
                        break;
                if (progress)
                        continue;
                if (in_flight == 0) {
                        /* nothing runs and nothing can start: a dependency cycle (a planner bug) */
                        ret = pv_error_set(err, PV_EINVAL, "internal error: the plan's actions wait for each other");
                        break;
                }
                struct timespec ts;
                deadline_in(&ts, 100);
                if (pthread_cond_timedwait(&s->done_cv, &s->mu, &ts) != 0)
                        emit(s, PV_EXEC_TICK, NULL, finished, &rv);
        }
        pthread_mutex_unlock(&s->mu);
        free(rv.acts);
        free(rv.since);
        return ret;
}

static void sched_done(struct sched *s) {
        for (size_t k = 0; k < s->n_jobs; k++) {
                free(s->jobs[k].deps);
                pv_error_done(&s->jobs[k].err);
        }
        free(s->jobs);
        free(s->queue);
        free(s->pool.ids);
        pthread_mutex_destroy(&s->pool.mu);
        pthread_cond_destroy(&s->work_cv);
        pthread_cond_destroy(&s->done_cv);
        pthread_mutex_destroy(&s->mu);
}

int pv_api_execute(struct pv_api *api, struct pv_plan *plan, const struct pv_api_exec_opts *opts,
                   struct pv_api_exec_result *result, struct pv_error *err) {
        struct pv_api_exec_result res = { 0 };
        struct sched s = { .plan = plan, .o = opts };
        pthread_mutex_init(&s.mu, NULL);
        pthread_cond_init(&s.work_cv, NULL);
        pthread_cond_init(&s.done_cv, NULL);
        pthread_mutex_init(&s.pool.mu, NULL);
        struct worker_thread *wts = NULL;
        unsigned n_threads = 0;
        int r = 0;
        s.jobs = pv_xcalloc(plan->n + 1, sizeof *s.jobs);
        s.queue = pv_xcalloc(plan->n + 1, sizeof *s.queue);
        for (size_t i = 0; i < plan->n; i++)
                if (!pv_action_is_host(plan->actions[i].kind))
                        s.jobs[s.n_jobs++] = (struct job){ .idx = i, .err = PV_ERROR_INIT };
        build_graph(&s);
        unsigned parallel = opts && opts->parallel > 1 ? opts->parallel : 1;
        size_t runnable = 0;
        for (size_t k = 0; k < s.n_jobs; k++)
                runnable += !plan->actions[s.jobs[k].idx].blocked;
        if (parallel > runnable)
                parallel = runnable ? (unsigned)runnable : 1;
        if (parallel > 1) {
                struct pv_error e = PV_ERROR_INIT;
                if (preallocate_vmids(&s, api, &e) < 0) {
                        /* not fatal: each create asks nextid itself and re-checks collisions */
                        pv_log_debug(api->log, "executor: vmids not reserved ahead: %s", pv_error_message(&e));
                        pv_error_done(&e);
                }
                s.board = pv_task_board_new();
                wts = pv_xcalloc(parallel, sizeof *wts);
                for (unsigned i = 0; i < parallel; i++) {
                        wts[i].s = &s;
                        if (i == 0)
                                wts[i].api = pv_api_ref(api);
                        else if ((r = pv_api_clone(api, &wts[i].api, err)) < 0)
                                goto out;
                        if (pthread_create(&wts[i].tid, NULL, worker_main, &wts[i]) != 0) {
                                r = pv_error_set(err, PV_ENOMEM, "cannot start a worker thread");
                                goto out;
                        }
                        wts[i].started = true;
                        n_threads++;
                }
        }
        r = schedule(&s, n_threads ? NULL : api, n_threads ? n_threads : 1, &res, err);
        res.workers = n_threads ? n_threads : 1;
        if (s.board) /* the requests the waits cost (a wait that a list settled polls no status of its own) */
                pv_task_board_counts(s.board, &res.task_lists, &res.polls);
out:
        if (wts) {
                pthread_mutex_lock(&s.mu);
                s.stop = true;
                pthread_cond_broadcast(&s.work_cv);
                pthread_mutex_unlock(&s.mu);
                for (unsigned i = 0; i < parallel; i++) {
                        if (wts[i].started)
                                pthread_join(wts[i].tid, NULL);
                        if (wts[i].api && wts[i].api != api)
                                pv_api_stats_merge(api, wts[i].api);
                        pv_api_unref(wts[i].api);
                }
                free(wts);
        }
        pv_task_board_free(s.board);
        sched_done(&s);
        if (r >= 0 && result)
                *result = res;
        return r;
}
