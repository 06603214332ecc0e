/*
 * sensor.c - load, attach and drain the exec probe.
 *
 * Order matters: the tracepoints are attached and the ring buffer exists
 * before the task scan runs, so a process that starts while we scan is seen
 * by the exec tracepoint, by the scan, or by both (the process table merges
 * duplicates); never by neither.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/log.h"
#include "exec.skel.h"
#include "sensor.h"

#define DEFAULT_BTF_PATH "/sys/kernel/btf/vmlinux"

/* Linux capability numbers (linux/capability.h) */
#define CAPABILITY_SYS_PTRACE 19
#define CAPABILITY_PERFMON 38
#define CAPABILITY_BPF 39

struct sensor {
	struct exec_bpf *skeleton;
	struct ring_buffer *ring;
	sensor_record_fn callback;
	void *context;
	int cpu_count;
	int stats_fd;
};

static int print_libbpf(enum libbpf_print_level level, const char *format,
			va_list arguments)
{
	enum log_level ours = level == LIBBPF_WARN   ? LOG_LEVEL_WARNING
			      : level == LIBBPF_INFO ? LOG_LEVEL_INFO
						     : LOG_LEVEL_DEBUG;
	char text[1024];
	int length;

	if (!log_enabled(ours))
		return 0;
	length = vsnprintf(text, sizeof(text), format, arguments);
	if (length < 0)
		return length;
	/* libbpf ends its lines with '\n'; the log adds its own */
	for (size_t end = strlen(text); end > 0 && text[end - 1] == '\n'; end--)
		text[end - 1] = '\0';
	/* most of its lines already say "libbpf: " */
	log_message(ours, "%s%s", strncmp(text, "libbpf: ", 8) == 0 ? "" : "libbpf: ", text);
	return length;
}

static void set_message(char *message, size_t size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static void set_message(char *message, size_t size, const char *format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	vsnprintf(message, size, format, arguments);
	va_end(arguments);
}

static uint64_t effective_capabilities(void)
{
	FILE *status = fopen("/proc/self/status", "re");
	unsigned long long caps = 0;
	char line[256];

	if (!status)
		return 0;
	while (fgets(line, sizeof(line), status)) {
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	}
	fclose(status);
	return caps;
}

static int check_privileges(char *message, size_t size)
{
	static const struct {
		int number;
		const char *name;
	} needed[] = {
		{CAPABILITY_BPF, "CAP_BPF"},
		{CAPABILITY_PERFMON, "CAP_PERFMON"},
		{CAPABILITY_SYS_PTRACE, "CAP_SYS_PTRACE"},
	};
	uint64_t caps = effective_capabilities();
	char missing[128] = "";

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (caps & (1ULL << needed[i].number))
			continue;
		size_t used = strlen(missing);
		snprintf(missing + used, sizeof(missing) - used, "%s%s",
			 used ? ", " : "", needed[i].name);
	}
	if (!missing[0])
		return 0;
	set_message(message, size,
		    "not running as root: the exec probe needs %s (uid %u); "
		    "run rmmhunt-agent as root",
		    missing, (unsigned)geteuid());
	return -EPERM;
}

static int check_btf(const char *path, char *message, size_t size)
{
	if (access(path, R_OK) == 0)
		return 0;
	int error = errno;
	set_message(message, size,
		    "no kernel BTF at %s (%s): the CO-RE probe needs a kernel "
		    "built with CONFIG_DEBUG_INFO_BTF=y",
		    path, strerror(error));
	return -ENOENT;
}

static int handle_ring_record(void *context, void *data, size_t size)
{
	struct sensor *sensor = context;

	return sensor->callback(sensor->context, data, size);
}

static int load_probe(struct sensor *sensor, const struct sensor_options *options,
		      const char *btf_path, char *message, size_t size)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_options);
	struct exec_bpf *skeleton;
	int result;

	if (options->btf_path)
		open_options.btf_custom_path = btf_path;
	skeleton = exec_bpf__open_opts(&open_options);
	if (!skeleton) {
		result = -errno;
		set_message(message, size, "cannot open the BPF object: %s",
			    strerror(-result));
		return result;
	}
	sensor->skeleton = skeleton;
	skeleton->rodata->args_capture_max = options->args_capture_max;
	skeleton->rodata->wakeup_bytes = options->ring_buffer_bytes / 8;
	bpf_map__set_max_entries(skeleton->maps.events, options->ring_buffer_bytes);
	bpf_map__set_max_entries(skeleton->maps.scratch, (uint32_t)sensor->cpu_count);
	bpf_program__set_autoattach(skeleton->progs.scan_tasks, false);
	result = exec_bpf__load(skeleton);
	if (result) {
		set_message(message, size,
			    "the kernel refused the BPF probe (%s); see the "
			    "libbpf messages above",
			    strerror(-result));
		return result;
	}
	result = exec_bpf__attach(skeleton);
	if (result) {
		set_message(message, size,
			    "cannot attach the sched_process_exec/fork/exit "
			    "tracepoints: %s",
			    strerror(-result));
		return result;
	}
	return 0;
}

int sensor_check_environment(const char *btf_path, char *message,
			     size_t message_size)
{
	int result = check_btf(btf_path ? btf_path : DEFAULT_BTF_PATH, message,
			       message_size);

	if (result)
		return result;
	return check_privileges(message, message_size);
}

int sensor_open(struct sensor **out, const struct sensor_options *options,
		sensor_record_fn callback, void *context, char *message,
		size_t message_size)
{
	const char *btf_path = options->btf_path ? options->btf_path
						 : DEFAULT_BTF_PATH;
	struct sensor *sensor;
	int result;

	result = sensor_check_environment(btf_path, message, message_size);
	if (result)
		return result;
	sensor = calloc(1, sizeof(*sensor));
	if (!sensor)
		return -ENOMEM;
	sensor->callback = callback;
	sensor->context = context;
	sensor->stats_fd = -1;
	sensor->cpu_count = libbpf_num_possible_cpus();
	if (sensor->cpu_count <= 0) {
		set_message(message, message_size, "cannot count the CPUs");
		free(sensor);
		return -EINVAL;
	}
	libbpf_set_print(print_libbpf);
	result = load_probe(sensor, options, btf_path, message, message_size);
	if (result || !sensor->skeleton) {
		sensor_close(sensor);
		return result;
	}
	sensor->ring = ring_buffer__new(bpf_map__fd(sensor->skeleton->maps.events),
					handle_ring_record, sensor, NULL);
	if (!sensor->ring) {
		result = -errno;
		set_message(message, message_size,
			    "cannot open the BPF ring buffer: %s",
			    strerror(-result));
		sensor_close(sensor);
		return result;
	}
	/* the kernel's run-time statistics need CAP_SYS_ADMIN, which the
	 * packaged unit does not grant: the probe runs without them */
	if (options->enable_run_stats) {
		sensor->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (sensor->stats_fd < 0)
			log_notice("the probe's kernel run time is not measured: "
				   "BPF_ENABLE_STATS: %s (it needs CAP_SYS_ADMIN)",
				   strerror(-sensor->stats_fd));
	}
	*out = sensor;
	return 0;
}

void sensor_close(struct sensor *sensor)
{
	if (!sensor)
		return;
	ring_buffer__free(sensor->ring);
	exec_bpf__destroy(sensor->skeleton);
	if (sensor->stats_fd >= 0)
		close(sensor->stats_fd);
	free(sensor);
}

int sensor_poll_fd(const struct sensor *sensor)
{
	return ring_buffer__epoll_fd(sensor->ring);
}

int sensor_consume(struct sensor *sensor)
{
	return ring_buffer__consume(sensor->ring);
}

int sensor_scan_processes(struct sensor *sensor)
{
	struct bpf_link *link;
	char buffer[4096];
	int iterator, result = 0;
	ssize_t got;

	link = bpf_program__attach_iter(sensor->skeleton->progs.scan_tasks, NULL);
	if (!link)
		return -errno;
	iterator = bpf_iter_create(bpf_link__fd(link));
	if (iterator < 0) {
		result = -errno;
		bpf_link__destroy(link);
		return result;
	}
	/* The program writes to the ring buffer, not here: read to the end. */
	while ((got = read(iterator, buffer, sizeof(buffer))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			result = -errno;
			break;
		}
	}
	close(iterator);
	bpf_link__destroy(link);
	return result;
}

void sensor_set_sleeping(struct sensor *sensor, bool sleeping)
{
	__atomic_store_n(&sensor->skeleton->bss->agent_sleeping, sleeping ? 1u : 0u,
			 __ATOMIC_SEQ_CST);
	/* the flag is seen before the ring's positions are read again */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int sensor_mark_file_known(struct sensor *sensor, const struct exec_info *info)
{
	struct known_file key;
	__u8 unused = 0;

	known_file_of(&key, info);
	if (bpf_map_update_elem(bpf_map__fd(sensor->skeleton->maps.known_files), &key,
				&unused, BPF_ANY) != 0)
		return -errno;
	return 0;
}

int sensor_cpu_count(const struct sensor *sensor)
{
	return sensor->cpu_count;
}

void sensor_read_counter_per_cpu(const struct sensor *sensor,
				 enum probe_counter counter, uint64_t *per_cpu)
{
	uint32_t key = counter;

	if (bpf_map_lookup_elem(bpf_map__fd(sensor->skeleton->maps.counters),
				&key, per_cpu) != 0)
		memset(per_cpu, 0, sizeof(uint64_t) * (size_t)sensor->cpu_count);
}

void sensor_read_counters(const struct sensor *sensor,
			  uint64_t totals[COUNTER_COUNT])
{
	uint64_t per_cpu[sensor->cpu_count];

	for (int counter = 0; counter < COUNTER_COUNT; counter++) {
		totals[counter] = 0;
		sensor_read_counter_per_cpu(sensor, counter, per_cpu);
		for (int cpu = 0; cpu < sensor->cpu_count; cpu++)
			totals[counter] += per_cpu[cpu];
	}
}

int sensor_read_program_stats(const struct sensor *sensor,
			      struct sensor_program_stats stats[SENSOR_PROGRAM_COUNT])
{
	const struct bpf_program *programs[SENSOR_PROGRAM_COUNT] = {
		sensor->skeleton->progs.sched_process_exec,
		sensor->skeleton->progs.sched_process_fork,
		sensor->skeleton->progs.sched_process_exit,
	};

	for (int i = 0; i < SENSOR_PROGRAM_COUNT; i++) {
		struct bpf_prog_info info;
		uint32_t length = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(programs[i]), &info,
					   &length) != 0)
			return -errno;
		stats[i].run_time_ns = info.run_time_ns;
		stats[i].run_count = info.run_cnt;
	}
	return 0;
}
