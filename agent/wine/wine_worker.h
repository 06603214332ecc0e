/*
 * wine_worker.h - Wine's file-system work, off the agent's main thread.
 *
 * Resolving a Windows program reads a user's world: their process's
 * environment, their prefix's drive links, directories listed without case,
 * the .exe itself, /proc/PID/maps.  Any of it can be slow or made slow on
 * purpose (a directory of 60,000 files, a symbolic link loop, a FUSE
 * mount whose daemon never answers).  So wine_rows.c hands it to one
 * worker thread as jobs and takes the results back on the main thread:
 *   - a queue of at most max_queued jobs: past that a job is refused (the
 *     row goes on with what is known, counted);
 *   - each job runs under a budget (wine.h: directory entries and CPU time
 *     for the lookups), so no exec costs more than that;
 *   - the main thread never waits for a job: a held row's deadline
 *     (wine_rows.h) releases it whatever the worker does.
 * Without wine_worker_start() (unit tests, the fuzz target) a job runs at
 * once on the caller's thread.
 */
#ifndef RMMHUNT_AGENT_WINE_WORKER_H
#define RMMHUNT_AGENT_WINE_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wine/wine.h"

#define WINE_WORKER_DEFAULT_QUEUED 256

enum wine_job_kind {
	WINE_JOB_STEP, /* resolve the program of a step of the loader chain */
	WINE_JOB_RUNNING, /* resolve a running Windows program, then its maps */
	WINE_JOB_MAPS, /* which .exe does /proc/PID/maps show? */
};

/* A job: inputs copied (the exec they come from may be gone when it runs),
 * results filled by the worker; owner and the list link are the main
 * thread's. */
struct wine_job {
	struct wine_job *next;
	void *owner; /* NULL: nobody wants the result any more */
	atomic_bool cancelled; /* set with owner = NULL: not run if not begun */
	enum wine_job_kind kind;
	/* inputs */
	uint32_t pid, uid;
	bool child, binfmt_candidate;
	char *exe_path, *filename, *interp, *cwd, *known_prefix;
	char *argv;
	size_t argv_length;
	struct wine_maps_query query; /* WINE_JOB_MAPS; query.name is query_name */
	char *query_name;
	struct wine_program *base; /* WINE_JOB_MAPS: the program resolved before */
	/* results */
	int result; /* 0, -ENOMEM, or -ETIME when the budget ran out */
	struct wine_program *program; /* STEP, RUNNING; adopted from maps: MAPS */
	int fd; /* program's file, or -1 */
	int open_errno;
	bool final_step;
	bool maps_read; /* RUNNING, MAPS: maps could be read */
	struct wine_maps_result mapped;
};

struct wine_worker;

int wine_worker_create(struct wine_worker **out, uint32_t max_queued);
/* Run jobs on a thread of their own from now on.  Returns 0 or -errno. */
int wine_worker_start(struct wine_worker *worker);
/* Stops the thread; jobs not taken are freed. */
void wine_worker_destroy(struct wine_worker *worker);

/* A new job of kind for owner (NULL when out of memory). */
struct wine_job *wine_job_create(enum wine_job_kind kind, void *owner);
void wine_job_free(struct wine_job *job);
/* Its owner is gone: its result is dropped, and it is not run if it has
 * not begun (an attacker's exec that exited costs no lookups). */
void wine_job_cancel(struct wine_job *job);

/* Queue job.  False when the queue is full: the job is the caller's still. */
bool wine_worker_submit(struct wine_worker *worker, struct wine_job *job);

/* The jobs done since the last call, oldest first (the caller frees them). */
struct wine_job *wine_worker_take_done(struct wine_worker *worker);

uint32_t wine_worker_queued(struct wine_worker *worker);

#endif
