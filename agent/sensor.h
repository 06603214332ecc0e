/*
 * sensor.h - the exec probe seen from the agent.
 *
 * Loads bpf/exec.bpf.c through its libbpf skeleton, attaches the three
 * tracepoints, and hands every ring-buffer record to a callback.  It also
 * runs the start-up task scan (whose records arrive through the same ring
 * buffer, after the tracepoints are attached, so no process falls between
 * the scan and the live events) and reads the probe's per-CPU counters and
 * the kernel's per-program run statistics.
 */
#ifndef RMMHUNT_AGENT_SENSOR_H
#define RMMHUNT_AGENT_SENSOR_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "exec_event.h"

struct sensor;

struct sensor_options {
	uint32_t ring_buffer_bytes; /* power of two, multiple of the page size */
	uint32_t args_capture_max; /* <= EXEC_ARGS_MAX */
	const char *btf_path; /* NULL: /sys/kernel/btf/vmlinux */
	int enable_run_stats; /* ask the kernel for run_time_ns/run_cnt */
};

/* Called for every record; return 0 to go on, non-zero to stop consuming. */
typedef int (*sensor_record_fn)(void *context, const void *data, size_t size);

enum sensor_program {
	SENSOR_PROGRAM_EXEC,
	SENSOR_PROGRAM_FORK,
	SENSOR_PROGRAM_EXIT,
	SENSOR_PROGRAM_COUNT
};

struct sensor_program_stats {
	uint64_t run_time_ns;
	uint64_t run_count;
};

/*
 * Can a probe be loaded here at all?  Checks kernel BTF (btf_path NULL: the
 * running kernel's) and the capabilities, before anything is touched.
 * Returns 0, or a negative errno with a sentence naming the cause.
 */
int sensor_check_environment(const char *btf_path, char *message,
			     size_t message_size);

/*
 * Check privileges and BTF, load and attach.  On failure returns a negative
 * errno and writes a sentence naming the cause into message.
 */
int sensor_open(struct sensor **out, const struct sensor_options *options,
		sensor_record_fn callback, void *context, char *message,
		size_t message_size);
void sensor_close(struct sensor *sensor);

/*
 * An fd that polls readable when a good part of the ring buffer waits.  The
 * probe does not wake the agent for every record: callers also consume every
 * SENSOR_POLL_MS milliseconds.
 */
#define SENSOR_POLL_MS 20
/* ...while rows wait; when none waits, the agent may sleep up to this long
 * (sensor_set_sleeping()). */
#define SENSOR_IDLE_POLL_MS 250
int sensor_poll_fd(const struct sensor *sensor);
/* Deliver every waiting record.  Returns the count or a negative errno. */
int sensor_consume(struct sensor *sensor);

/*
 * Sleeping long: while set, the probe wakes the agent only for an exec that
 * needs a look while its process lives (struct known_file in exec_event.h);
 * every other record waits for the next turn.  Set it, then consume once
 * more before sleeping: a record that came in meanwhile is not left behind.
 * One race is left: the probe read the flag just before it was set and
 * commits its record just after that last look; the record then waits for
 * the end of the sleep (SENSOR_IDLE_POLL_MS at most).
 */
void sensor_set_sleeping(struct sensor *sensor, bool sleeping);

/* The exec's file version is hashed: no need to wake the agent for it.
 * Returns 0 or a negative errno. */
int sensor_mark_file_known(struct sensor *sensor, const struct exec_info *info);

/* Run the task iterator: one EVENT_SCAN record per existing process. */
int sensor_scan_processes(struct sensor *sensor);

/* Sum of each probe counter over all CPUs, and the per-CPU values of one. */
void sensor_read_counters(const struct sensor *sensor,
			  uint64_t totals[COUNTER_COUNT]);
int sensor_cpu_count(const struct sensor *sensor);
void sensor_read_counter_per_cpu(const struct sensor *sensor,
				 enum probe_counter counter, uint64_t *per_cpu);

int sensor_read_program_stats(const struct sensor *sensor,
			      struct sensor_program_stats stats[SENSOR_PROGRAM_COUNT]);

#endif
