/*
 * main.c - rmmhunt-agent: wire the parts together and run the event loop.
 *
 * Start-up: options -> state dir -> probe (checks root and BTF, attaches,
 * opens the ring buffer) -> capabilities dropped to the two it still needs
 * (privileges.h), before any thread exists -> identity, hash cache, process
 * table, assembler, sinks -> task scan (through the same ring buffer) ->
 * loop.
 *
 * The loop waits (epoll) on four fds: the ring buffer, the hash worker's
 * completion eventfd, a signalfd (INT/TERM stop, HUP reload), and a timerfd
 * for the periodic work (clock resync, table sweep, status).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "base/log.h"
#include "privileges.h"
#include "base/timefmt.h"

#define EXIT_GRACE_NS (30ULL * 1000000000ULL)
#define REPORT_ID_BLOCK 4096
#define ACCOUNT_CACHE_ENTRIES 4096
#define RETENTION_STEPS_PER_TICK 4
/* After a look that found nothing to remove, the next one is this many
 * seconds later (a look is a write transaction and four DELETEs). */
#define RETENTION_IDLE_SECONDS 5
#define SHIP_DRAIN_MS 3000
/* Lines waiting for the cache's commit, at most (then it commits at once):
 * a flood of large records does not pile up in memory for 250 ms. */
#define OUTPUT_PENDING_MAX ((size_t)4 << 20)

enum loop_source { SOURCE_RING, SOURCE_HASHES, SOURCE_SIGNALS, SOURCE_TIMER };

static int64_t monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*
 * The state directory is the agent's own: a directory owned by its euid
 * (root), that nobody else may write in or read (its files are opened
 * without following links, but a directory others can write in would let
 * them plant or swap files).  One the agent owns with a looser mode is
 * made 0700; one someone else owns is refused.
 */
static int prepare_state_dir(const char *path)
{
	struct stat status;

	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		int error = errno;

		log_error("cannot create state directory %s: %s", path, strerror(error));
		return -error;
	}
	if (stat(path, &status) != 0 || !S_ISDIR(status.st_mode)) {
		log_error("state directory %s is not a directory", path);
		return -ENOTDIR;
	}
	if (status.st_uid != geteuid()) {
		log_error("state directory %s belongs to uid %u, not to the agent (uid %u): "
			  "refusing it", path, (unsigned)status.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if ((status.st_mode & 077) != 0) {
		if (chmod(path, 0700) != 0) {
			int error = errno;

			log_error("cannot make state directory %s private (0700): %s", path,
				  strerror(error));
			return -error;
		}
		log_notice("state directory %s was mode %04o: now 0700", path,
			   (unsigned)(status.st_mode & 07777));
	}
	return 0;
}

/* Before touching anything: can this process load the probe at all? */
static int check_environment(const struct agent_options *options)
{
	char message[512];
	int result = sensor_check_environment(options->btf_path, message,
					      sizeof(message));

	if (result)
		log_error("%s", message);
	return result;
}

static void commit_and_release(struct agent *agent, bool now);
static size_t output_pending(const struct agent *agent);

static int on_ring_record(void *context, const void *data, size_t size)
{
	struct agent *agent = context;

	assembler_handle(agent->assembler, data, size);
	/* a full ring buffer of large records is drained in one go */
	if (output_pending(agent) > OUTPUT_PENDING_MAX)
		commit_and_release(agent, true);
	return 0;
}

/* The assembler's news for the probe: see sensor_mark_file_known(). */
static void on_file_known(void *context, const struct exec_info *info)
{
	struct agent *agent = context;
	int result;

	if (!agent->sensor)
		return;
	result = sensor_mark_file_known(agent->sensor, info);
	if (result)
		agent->known_files_errors++;
}

static int create_parts(struct agent *agent)
{
	const struct agent_options *options = &agent->options;
	struct file_cache_options cache_options = {
		.dpkg = NULL,
		.max_hash_bytes = options->max_hash_bytes,
		.max_entries = options->max_cached_files,
	};
	struct assembler_context context;
	const char *bad_path = NULL;
	int result;

	result = device_identity_load(&agent->identity, options->machine_id_path, &bad_path);
	if (result) {
		log_error("cannot read %s: %s", bad_path, strerror(-result));
		return result;
	}
	boot_clock_sync(&agent->clock);
	result = report_ids_open(&agent->report_ids, options->state_dir, REPORT_ID_BLOCK);
	if (result) {
		log_error("cannot open the ReportId counter in %s: %s", options->state_dir,
			  strerror(-result));
		return result;
	}
	result = dpkg_index_open("/", &agent->dpkg);
	if (result) {
		log_error("cannot open the dpkg database: %s", strerror(-result));
		return result;
	}
	cache_options.dpkg = agent->dpkg;
	result = file_cache_create(&agent->files, &cache_options);
	if (result) {
		log_error("cannot start the hash cache: %s", strerror(-result));
		return result;
	}
	result = process_table_create(&agent->processes, agent->files,
				      options->max_processes, EXIT_GRACE_NS);
	if (result == 0)
		process_table_set_text_bound(agent->processes,
					     (size_t)options->max_lineage_mib << 20);
	if (result == 0)
		result = accounts_create(&agent->accounts, ACCOUNT_CACHE_ENTRIES);
	if (result) {
		log_error("out of memory");
		return result;
	}
	context = (struct assembler_context){
		.identity = &agent->identity,
		.clock = &agent->clock,
		.files = agent->files,
		.processes = agent->processes,
		.accounts = agent->accounts,
		.report_ids = &agent->report_ids,
		.file_known = on_file_known,
		.file_known_context = agent,
	};
	result = assembler_create(&agent->assembler, &context);
	if (result) {
		log_error("out of memory");
		return result;
	}
	assembler_set_bounds(agent->assembler, (uint64_t)options->hash_wait_ms * 1000000,
			     options->max_pending);
	for (uint32_t i = 0; i < options->wine_loader_count && result == 0; i++)
		result = assembler_add_wine_loader(agent->assembler, options->wine_loaders[i]);
	if (result == 0)
		result = assembler_start_workers(agent->assembler);
	if (result)
		log_error("cannot start the Wine worker: %s", strerror(-result));
	return result;
}

static void cache_write(void *context, const struct record *record)
{
	struct agent *agent = context;

	/* failures are counted by the cache (write_errors) */
	cache_add_record(agent->cache, record);
}

static int open_cache(struct agent *agent)
{
	struct cache_options options;
	char message[4200];
	int result;

	cache_default_options(&options);
	options.max_age_ticks = agent->options.cache_max_age_ticks;
	options.max_bytes = agent->options.cache_max_bytes;
	options.hits_max_age_ticks = agent->options.hits_max_age_ticks;
	snprintf(agent->cache_path, sizeof(agent->cache_path), "%s/%s", agent->options.state_dir,
		 CACHE_FILE_NAME);
	result = cache_open_writer(&agent->cache, agent->cache_path, &options, message,
				   sizeof(message));
	if (result)
		log_error("%s", message);
	return result;
}

static void rules_write(void *context, const struct record *record)
{
	struct agent *agent = context;

	rule_engine_match(agent->rules, record, timefmt_now_ticks(),
			  agent->hits_open ? &agent->hits.pending : NULL);
}

static int open_ndjson(struct ndjson_output *output, const char *path, bool *open)
{
	int result = ndjson_output_open(output, path);

	if (result)
		log_error("cannot open %s: %s", path, strerror(-result));
	else
		*open = true;
	return result;
}

static int open_rules(struct agent *agent)
{
	const char *paths[2];
	size_t count = 0;
	int result;

	/* the local rules last: one with a bundled rule's id replaces it */
	if (agent->options.rules_dir)
		paths[count++] = agent->options.rules_dir;
	if (agent->options.local_rules_dir)
		paths[count++] = agent->options.local_rules_dir;
	result = rule_engine_create(&agent->rules, paths, count, agent->cache);
	if (result == 0)
		result = rule_engine_load(agent->rules); /* says what it cannot read */
	if (result == 0 && agent->options.hits_path)
		result = open_ndjson(&agent->hits, agent->options.hits_path, &agent->hits_open);
	if (result == 0)
		assembler_add_sink(agent->assembler,
				   (struct record_sink){.write = rules_write, .context = agent});
	return result;
}

static int open_sinks(struct agent *agent)
{
	int result;

	/* The cache first: the other sinks show only what it committed. */
	result = open_cache(agent);
	if (result)
		return result;
	assembler_add_sink(agent->assembler,
			   (struct record_sink){.write = cache_write, .context = agent});
	result = open_rules(agent);
	if (result)
		return result;

	if (agent->options.events_path) {
		result = open_ndjson(&agent->events, agent->options.events_path,
				     &agent->events_open);
		if (result)
			return result;
		assembler_add_sink(agent->assembler, ndjson_output_sink(&agent->events));
	}
	if (agent->options.print) {
		console_output_init(&agent->console, stdout);
		assembler_add_sink(agent->assembler, console_output_sink(&agent->console));
	}
	return 0;
}

/* Load and attach the probe (records wait in its ring buffer until the
 * scan), then give up what only that needed: before any thread starts, so
 * that every thread has the smaller set (privileges.h). */
static int open_probe(struct agent *agent)
{
	struct sensor_options options = {
		.ring_buffer_bytes = agent->options.ring_buffer_mib << 20,
		.args_capture_max = agent->options.args_capture_max,
		.btf_path = agent->options.btf_path,
		.enable_run_stats = agent->options.bpf_run_stats,
	};
	char message[512];
	int result;

	result = sensor_open(&agent->sensor, &options, on_ring_record, agent,
			     message, sizeof(message));
	if (result) {
		log_error("%s", message);
		return result;
	}
	result = privileges_drop(message, sizeof(message));
	if (result)
		log_error("%s", message);
	return result;
}

static int start_probe(struct agent *agent)
{
	int result;

	/* Tracepoints are live: now list what already runs. */
	result = sensor_scan_processes(agent->sensor);
	if (result)
		log_warning("start-up process scan failed: %s (processes started before the "
			    "agent will lack lineage)", strerror(-result));
	sensor_consume(agent->sensor);
	assembler_scan_done(agent->assembler);
	return 0;
}

/* Bytes of lines waiting for the cache to commit. */
static size_t output_pending(const struct agent *agent)
{
	return (agent->events_open ? agent->events.pending.length : 0) +
	       (agent->hits_open ? agent->hits.pending.length : 0) +
	       (agent->options.print ? agent->console.pending.length : 0);
}

/* Commit the cache when due; then release what it made durable. */
static void commit_and_release(struct agent *agent, bool now)
{
	if (!agent->cache)
		return;
	if (now)
		cache_commit(agent->cache);
	else
		cache_commit_if_due(agent->cache, monotonic_ms());
	if (cache_in_transaction(agent->cache))
		return;
	if (agent->shipper) {
		struct cache_sequences committed;

		cache_committed_sequences(agent->cache, &committed);
		shipper_publish(agent->shipper, &committed);
	}
	if (agent->events_open)
		ndjson_output_flush(&agent->events);
	if (agent->hits_open)
		ndjson_output_flush(&agent->hits);
	if (agent->options.print)
		console_output_flush(&agent->console);
}

static void stop_parts(struct agent *agent)
{
	/* The probe first, so nothing new arrives; pending rows are written. */
	if (agent->sensor) {
		sensor_consume(agent->sensor);
		file_cache_take_completions(agent->files);
	}
	sensor_close(agent->sensor);
	assembler_destroy(agent->assembler);
	if (agent->rules)
		rule_engine_publish(agent->rules, timefmt_now_ticks());
	commit_and_release(agent, true);
	/* what is committed may still go, for a moment */
	shipper_stop(agent->shipper, SHIP_DRAIN_MS);
	agent->shipper = NULL;
	rule_engine_destroy(agent->rules);
	if (agent->hits_open)
		ndjson_output_close(&agent->hits);
	cache_close(agent->cache);
	if (agent->options.print)
		console_output_close(&agent->console);
	process_table_destroy(agent->processes);
	file_cache_destroy(agent->files);
	dpkg_index_close(agent->dpkg);
	accounts_destroy(agent->accounts);
	if (agent->events_open)
		ndjson_output_close(&agent->events);
	report_ids_close(&agent->report_ids);
}

/* --collector: the sender thread (agent/ship/); capture never waits for it. */
static int start_shipping(struct agent *agent)
{
	struct shipper_context context = {
		.options = &agent->options.ship,
		.identity = &agent->identity,
		.state_dir = agent->options.state_dir,
		.cache_path = agent->cache_path,
	};
	char message[512];
	int result;

	if (agent->options.ship.collector_count == 0)
		return 0;
	cache_committed_sequences(agent->cache, &context.committed);
	result = shipper_start(&agent->shipper, &context, message, sizeof(message));
	if (result) {
		log_error("%s", message);
		return result;
	}
	/* the first heartbeat reports the real counters */
	agent_write_status(agent, false);
	return 0;
}

static int add_watch(int epoll_fd, int fd, enum loop_source source)
{
	struct epoll_event watch = {.events = EPOLLIN, .data.u32 = source};

	return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &watch) == 0 ? 0 : -errno;
}

static int open_timer(uint32_t seconds)
{
	struct itimerspec period = {
		.it_interval = {.tv_sec = seconds},
		.it_value = {.tv_sec = seconds},
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd >= 0)
		timerfd_settime(fd, 0, &period, NULL);
	return fd;
}

static void write_status(struct agent *agent)
{
	int result = agent_write_status(agent, agent->options.print);

	if (result != 0)
		log_warning("cannot write %s/status.json: %s", agent->options.state_dir,
			    strerror(-result));
}

/* Every second: clock, table sweep, cache retention; status less often. */
static void on_timer(struct agent *agent, int timer_fd)
{
	uint64_t expirations;
	int removed;

	if (read(timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	rule_engine_publish(agent->rules, timefmt_now_ticks());
	/* a few chunks a second at most: capture never waits for retention */
	if (agent->ticks >= agent->retention_next_tick) {
		removed = 0;
		for (int step = 0; step < RETENTION_STEPS_PER_TICK; step++) {
			removed = cache_retention_step(agent->cache, timefmt_now_ticks());
			if (removed < 0)
				agent->cache_retention_errors++;
			if (removed <= 0)
				break;
		}
		agent->retention_next_tick = agent->ticks +
					     (removed == 0 ? RETENTION_IDLE_SECONDS : 1);
	}
	boot_clock_sync(&agent->clock);
	process_table_sweep(agent->processes, boot_clock_now_ns());
	if (++agent->ticks % agent->options.stats_interval_seconds != 0)
		return;
	write_status(agent);
}

/* Returns true when the agent should stop. */
static bool on_signal(struct agent *agent, int signal_fd)
{
	struct signalfd_siginfo info;
	int result;

	if (read(signal_fd, &info, sizeof(info)) != sizeof(info))
		return false;
	if (info.ssi_signo == SIGHUP) {
		log_notice("SIGHUP: reloading rules");
		result = rule_engine_load(agent->rules);
		if (result)
			log_warning("the rules loaded before stay");
		return false;
	}
	log_notice("SIG%s: stopping", sigabbrev_np((int)info.ssi_signo));
	return true;
}

/*
 * How long the loop may wait for the next record.  While a row waits (for a
 * hash, a Wine step, its maps) the loop turns every SENSOR_POLL_MS.  When
 * none does, it sleeps until the cache's commit is due, at most
 * SENSOR_IDLE_POLL_MS, and the probe wakes it sooner for an exec that needs
 * a look while its process lives (sensor_set_sleeping()): an idle agent
 * costs a few wakeups a second, not fifty, and a busy one handles its
 * records in larger turns.
 */
static int wait_timeout_ms(struct agent *agent)
{
	int64_t timeout = SENSOR_IDLE_POLL_MS, deadline;

	if (!assembler_idle(agent->assembler))
		return SENSOR_POLL_MS;
	sensor_set_sleeping(agent->sensor, true);
	/* what came in since the last look: no wakeup was asked for it */
	sensor_consume(agent->sensor);
	if (!assembler_idle(agent->assembler)) {
		sensor_set_sleeping(agent->sensor, false);
		return SENSOR_POLL_MS;
	}
	deadline = agent->cache ? cache_commit_deadline_ms(agent->cache) : -1;
	if (deadline >= 0) {
		int64_t until_commit = deadline - monotonic_ms();

		if (until_commit < timeout)
			timeout = until_commit;
	}
	if (timeout > SENSOR_POLL_MS)
		agent->long_sleeps++;
	return timeout > 0 ? (int)timeout : 0;
}

static int run_loop(struct agent *agent, int signal_fd)
{
	int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	int timer_fd = open_timer(1);
	bool stopping = false;
	int result = 0;

	if (epoll_fd < 0 || timer_fd < 0 ||
	    add_watch(epoll_fd, sensor_poll_fd(agent->sensor), SOURCE_RING) ||
	    add_watch(epoll_fd, file_cache_completion_fd(agent->files), SOURCE_HASHES) ||
	    add_watch(epoll_fd, signal_fd, SOURCE_SIGNALS) ||
	    add_watch(epoll_fd, timer_fd, SOURCE_TIMER)) {
		log_error("cannot set up the event loop: %s", strerror(errno));
		result = -EIO;
		stopping = true;
	}
	while (!stopping) {
		struct epoll_event ready[4];
		int timeout = wait_timeout_ms(agent);
		int count = epoll_wait(epoll_fd, ready, 4, timeout);
		int wait_errno = errno;

		sensor_set_sleeping(agent->sensor, false);
		agent->loop_turns++;
		if (count < 0 && wait_errno == EINTR)
			continue;
		if (count < 0) {
			result = -wait_errno;
			log_error("epoll_wait: %s", strerror(wait_errno));
			break;
		}
		if (count == 0) /* the probe batches its wakeups */
			sensor_consume(agent->sensor);
		for (int i = 0; i < count; i++) {
			switch (ready[i].data.u32) {
			case SOURCE_RING:
				sensor_consume(agent->sensor);
				break;
			case SOURCE_HASHES:
				file_cache_take_completions(agent->files);
				break;
			case SOURCE_SIGNALS:
				stopping = on_signal(agent, signal_fd) || stopping;
				break;
			case SOURCE_TIMER:
				on_timer(agent, timer_fd);
				break;
			}
		}
		assembler_poll(agent->assembler, boot_clock_now_ns());
		/* after a whole long sleep the records waited in the ring already */
		commit_and_release(agent, (timeout > SENSOR_POLL_MS && count == 0) ||
						  output_pending(agent) > OUTPUT_PENDING_MAX);
	}
	if (timer_fd >= 0)
		close(timer_fd);
	if (epoll_fd >= 0)
		close(epoll_fd);
	return result;
}

static int block_signals(void)
{
	sigset_t signals;

	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &signals, NULL) != 0)
		return -1;
	/* A closed stdout reader must not kill us: writes fail and are counted. */
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
}

int main(int argc, char **argv)
{
	struct agent agent;
	int signal_fd, result;

	memset(&agent, 0, sizeof(agent));
	log_configure("rmmhunt-agent", LOG_LEVEL_INFO);
	result = agent_options_parse(&agent.options, argc, argv);
	if (result || agent.options.check_config) {
		if (result == 0)
			printf("%s: the configuration is valid\n",
			       agent.options.config_path ? agent.options.config_path
							 : "(command line)");
		agent_options_free(&agent.options);
		return result > 0 ? 0 : result < 0 ? 2 : 0;
	}
	log_configure("rmmhunt-agent", agent.options.log_level);
	agent.started_boot_ns = boot_clock_now_ns();
	signal_fd = block_signals();
	if (signal_fd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return 1;
	}
	result = check_environment(&agent.options);
	if (!result)
		result = prepare_state_dir(agent.options.state_dir);
	if (!result)
		result = open_probe(&agent);
	if (!result)
		result = create_parts(&agent);
	if (!result)
		result = open_sinks(&agent);
	if (!result)
		result = start_probe(&agent);
	if (!result)
		result = start_shipping(&agent);
	if (!result) {
		log_notice("watching execs on %s (DeviceId %s)", agent.identity.device_name,
			   agent.identity.device_id);
		result = run_loop(&agent, signal_fd);
		write_status(&agent);
	}
	stop_parts(&agent);
	close(signal_fd);
	agent_options_free(&agent.options);
	return result ? 1 : 0;
}
