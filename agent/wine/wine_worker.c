/*
 * wine_worker.c - Wine's file-system work on a thread of its own (see
 * wine_worker.h).
 *
 * Threads: the main thread submits and takes jobs; worker_main() runs them.
 * Jobs travel through `queue` and back through `done`, both under `lock`;
 * the worker touches nothing but the job it runs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wine/wine_worker.h"

/* /proc/PID/maps of a Wine process is a few hundred lines; a process with
 * more mappings is read up to this much. */
#define WINE_MAPS_MAX ((size_t)4 * 1024 * 1024)

struct wine_worker {
	pthread_t thread;
	bool started, stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct wine_job *queue, *queue_tail, *done, *done_tail;
	uint32_t queued, max_queued;
};

struct wine_job *wine_job_create(enum wine_job_kind kind, void *owner)
{
	struct wine_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->kind = kind;
	job->owner = owner;
	job->fd = -1;
	atomic_init(&job->cancelled, false);
	return job;
}

void wine_job_cancel(struct wine_job *job)
{
	job->owner = NULL;
	atomic_store(&job->cancelled, true);
}

void wine_job_free(struct wine_job *job)
{
	if (!job)
		return;
	free(job->exe_path);
	free(job->filename);
	free(job->interp);
	free(job->cwd);
	free(job->known_prefix);
	free(job->argv);
	free(job->query_name);
	wine_program_free(job->base);
	wine_program_free(job->program);
	wine_maps_result_free(&job->mapped);
	if (job->fd >= 0)
		close(job->fd);
	free(job);
}

/* Which .exe the process maps; a file other than the query's is opened
 * (checked against the device and inode maps shows) as the program. */
static void check_maps(struct wine_job *job)
{
	size_t length;
	char *maps = wine_read_proc(job->pid, "maps", WINE_MAPS_MAX, &length);

	if (!maps)
		return;
	job->maps_read = true;
	job->result = wine_maps_find(maps, length, &job->query, &job->mapped);
	free(maps);
	if (job->result != 0 || !job->base ||
	    (job->mapped.found != WINE_MAPPED_OTHER && job->mapped.found != WINE_MAPPED_BUILTIN))
		return;
	int fd;

	if (wine_program_from_mapped(job->base, &job->mapped, &job->program, &fd) == -ENOMEM)
		job->result = -ENOMEM;
	if (!job->program)
		return;
	if (job->fd >= 0) /* the file resolved runs not: the mapped one does */
		close(job->fd);
	job->fd = fd;
}

static void resolve(struct wine_job *job, const struct wine_step *step)
{
	struct wine_context context = {
		.pid = job->pid,
		.uid = job->uid,
		.cwd = job->cwd,
		.known_prefix = job->known_prefix,
		.child = job->child,
		.binfmt_candidate = job->binfmt_candidate,
	};

	job->result = wine_resolve(step, &context, &job->program, &job->fd, &job->open_errno,
				   &job->final_step);
}

/* A running program (the start-up scan): resolved, then looked for in its
 * maps at once (it has been running a while). */
static void resolve_running(struct wine_job *job)
{
	struct wine_step step;
	struct stat status;

	if (!wine_classify_running(job->exe_path, job->argv, job->argv_length, &step) ||
	    !step.program)
		return;
	resolve(job, &step);
	if (job->result != 0 || !job->program)
		return;
	job->base = job->program;
	job->program = NULL;
	job->query.name = wine_file_name(job->base->folder_path);
	if (job->fd >= 0 && fstat(job->fd, &status) == 0) {
		job->query.device = status.st_dev;
		job->query.inode = status.st_ino;
	}
	check_maps(job);
}

static void run(struct wine_job *job)
{
	struct wine_step step;

	switch (job->kind) {
	case WINE_JOB_STEP:
		if (wine_classify(job->exe_path, job->filename, job->interp, job->argv,
				  job->argv_length, &step))
			resolve(job, &step);
		break;
	case WINE_JOB_RUNNING:
		resolve_running(job);
		break;
	case WINE_JOB_MAPS:
		job->query.name = job->query_name;
		check_maps(job);
		break;
	}
}

/* Under lock. */
static void append_done(struct wine_worker *worker, struct wine_job *job)
{
	job->next = NULL;
	if (worker->done_tail)
		worker->done_tail->next = job;
	else
		worker->done = job;
	worker->done_tail = job;
}

static void *worker_main(void *argument)
{
	struct wine_worker *worker = argument;

	pthread_setname_np(pthread_self(), "rmmhunt-wine");
	pthread_mutex_lock(&worker->lock);
	for (;;) {
		while (!worker->queue && !worker->stopping)
			pthread_cond_wait(&worker->wake, &worker->lock);
		if (worker->stopping)
			break;
		struct wine_job *job = worker->queue;
		worker->queue = job->next;
		if (!worker->queue)
			worker->queue_tail = NULL;
		pthread_mutex_unlock(&worker->lock);

		if (!atomic_load(&job->cancelled))
			run(job);

		pthread_mutex_lock(&worker->lock);
		worker->queued--;
		append_done(worker, job);
	}
	pthread_mutex_unlock(&worker->lock);
	return NULL;
}

int wine_worker_create(struct wine_worker **out, uint32_t max_queued)
{
	struct wine_worker *worker = calloc(1, sizeof(*worker));

	if (!worker)
		return -ENOMEM;
	worker->max_queued = max_queued ? max_queued : WINE_WORKER_DEFAULT_QUEUED;
	pthread_mutex_init(&worker->lock, NULL);
	pthread_cond_init(&worker->wake, NULL);
	*out = worker;
	return 0;
}

int wine_worker_start(struct wine_worker *worker)
{
	int result = pthread_create(&worker->thread, NULL, worker_main, worker);

	if (result)
		return -result;
	worker->started = true;
	return 0;
}

static void free_list(struct wine_job *job)
{
	while (job) {
		struct wine_job *next = job->next;

		wine_job_free(job);
		job = next;
	}
}

void wine_worker_destroy(struct wine_worker *worker)
{
	if (!worker)
		return;
	if (worker->started) {
		pthread_mutex_lock(&worker->lock);
		worker->stopping = true;
		pthread_cond_signal(&worker->wake);
		pthread_mutex_unlock(&worker->lock);
		pthread_join(worker->thread, NULL);
	}
	free_list(worker->queue);
	free_list(worker->done);
	pthread_mutex_destroy(&worker->lock);
	pthread_cond_destroy(&worker->wake);
	free(worker);
}

bool wine_worker_submit(struct wine_worker *worker, struct wine_job *job)
{
	job->next = NULL;
	if (!worker->started) {
		run(job);
		append_done(worker, job);
		return true;
	}
	pthread_mutex_lock(&worker->lock);
	if (worker->queued >= worker->max_queued) {
		pthread_mutex_unlock(&worker->lock);
		return false;
	}
	if (worker->queue_tail)
		worker->queue_tail->next = job;
	else
		worker->queue = job;
	worker->queue_tail = job;
	worker->queued++;
	pthread_cond_signal(&worker->wake);
	pthread_mutex_unlock(&worker->lock);
	return true;
}

struct wine_job *wine_worker_take_done(struct wine_worker *worker)
{
	struct wine_job *done;

	pthread_mutex_lock(&worker->lock);
	done = worker->done;
	worker->done = worker->done_tail = NULL;
	pthread_mutex_unlock(&worker->lock);
	return done;
}

uint32_t wine_worker_queued(struct wine_worker *worker)
{
	uint32_t queued;

	pthread_mutex_lock(&worker->lock);
	queued = worker->queued;
	pthread_mutex_unlock(&worker->lock);
	return queued;
}
