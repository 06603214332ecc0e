/*
 * agent_wine_check.c - what the Wine test costs an exec that is not Wine's
 * (run by bench_wine_check.sh, which sets it against the agent's whole CPU
 * time per exec measured in the same run).
 *
 *   agent_wine_check [--min-seconds S]
 *   agent_wine_check --only plain|script --rounds N
 *
 * The execs are this machine's: every process in /proc gives the path of
 * what it runs and its argv, as the probe would see them at its exec; each
 * is also tried as a script (interpreter /bin/sh), the case where the test
 * looks at argv.  Processes the test takes for Wine's (as plain exec or as
 * script) are left out: they are counted, not timed.  Wine's own execs are
 * timed apart, for information.  Each
 * of the three timings repeats the samples as many rounds as make it last S
 * seconds (default 1.5; found from a short untimed run).  Prints one JSON
 * object: nanoseconds per call and how many execs.  --only runs one kind N
 * rounds untimed and prints the number of calls: for counting instructions
 * per call under callgrind (--toggle-collect=wine_classify).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wine/wine.h"

#define EXECS_MAX 4096
#define ARGV_MAX 4096

struct exec_sample {
	char exe[256];
	char argv[ARGV_MAX];
	size_t length;
};

static struct exec_sample samples[EXECS_MAX];

static size_t read_file(const char *path, char *buffer, size_t size)
{
	FILE *file = fopen(path, "rb");
	size_t got = 0;

	if (file) {
		got = fread(buffer, 1, size - 1, file);
		fclose(file);
	}
	buffer[got] = '\0';
	return got;
}

/* This machine's processes as exec facts; returns how many. */
static size_t collect(void)
{
	DIR *proc = opendir("/proc");
	struct dirent *entry;
	size_t count = 0;
	char path[300];

	while (proc && count < EXECS_MAX && (entry = readdir(proc))) {
		struct exec_sample *sample = &samples[count];
		ssize_t length;

		if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/exe", entry->d_name);
		length = readlink(path, sample->exe, sizeof(sample->exe) - 1);
		if (length <= 0)
			continue;
		sample->exe[length] = '\0';
		snprintf(path, sizeof(path), "/proc/%s/cmdline", entry->d_name);
		sample->length = read_file(path, sample->argv, sizeof(sample->argv));
		if (sample->length > 0)
			count++;
	}
	if (proc)
		closedir(proc);
	return count;
}

static double now_ns(void)
{
	struct timespec time;

	clock_gettime(CLOCK_MONOTONIC, &time);
	return (double)time.tv_sec * 1e9 + (double)time.tv_nsec;
}

/* Leave out the samples that wine_classify takes for Wine's, as plain exec
 * or as script; returns how many were left out. */
static size_t drop_wine_samples(size_t *count)
{
	struct wine_step step;
	size_t kept = 0, dropped;

	for (size_t i = 0; i < *count; i++) {
		const struct exec_sample *sample = &samples[i];

		if (wine_classify(sample->exe, sample->exe, sample->exe, sample->argv,
				  sample->length, &step) ||
		    wine_classify(sample->exe, sample->exe, "/bin/sh", sample->argv,
				  sample->length, &step))
			continue;
		if (kept != i)
			samples[kept] = *sample;
		kept++;
	}
	dropped = *count - kept;
	*count = kept;
	return dropped;
}

/* ns per wine_classify over the samples; *wine: the samples accepted (in
 * each round the same). */
static double time_classify(size_t count, bool as_script, size_t rounds, size_t *wine)
{
	struct wine_step step;
	double start = now_ns();

	*wine = 0;
	for (size_t round = 0; round < rounds; round++) {
		for (size_t i = 0; i < count; i++) {
			const struct exec_sample *sample = &samples[i];
			const char *interp = as_script ? "/bin/sh" : sample->exe;

			if (wine_classify(sample->exe, sample->exe, interp, sample->argv,
					  sample->length, &step))
				(*wine)++;
		}
	}
	*wine /= rounds;
	return (now_ns() - start) / (double)(rounds * count);
}

static void add_wine_samples(size_t *count)
{
	static const char *const exes[] = {"/usr/lib/wine/wine64", "/usr/lib/wine/wine64",
					   "/usr/lib/wine/wine64-preloader"};
	static const char argv[] = "/usr/lib/wine/wine64\0C:\\Program Files\\rport\\rport.exe\0"
				   "5000\0--client\0";

	for (size_t i = 0; i < 3 && *count < EXECS_MAX; i++) {
		struct exec_sample *sample = &samples[(*count)++];

		snprintf(sample->exe, sizeof(sample->exe), "%s", exes[i]);
		memcpy(sample->argv, argv, sizeof(argv));
		sample->length = sizeof(argv) - 1;
	}
}

/* ns per call over the samples, repeated for at least min_seconds. */
static double time_for(size_t count, bool as_script, double min_seconds, size_t *wine)
{
	size_t probe_rounds = 1000;
	double probe = time_classify(count, as_script, probe_rounds, wine);
	double rounds = min_seconds * 1e9 / (probe * (double)count);

	if (rounds < 1)
		rounds = 1;
	return time_classify(count, as_script, (size_t)rounds, wine);
}

static int run_only(const char *kind, size_t rounds)
{
	size_t count = collect(), wine = 0, dropped = drop_wine_samples(&count);

	if (count == 0 || rounds == 0 || (strcmp(kind, "plain") != 0 && strcmp(kind, "script") != 0)) {
		fprintf(stderr, "agent_wine_check: nothing to run\n");
		return 1;
	}
	time_classify(count, strcmp(kind, "script") == 0, rounds, &wine);
	printf("{\"only\": \"%s\", \"execs\": %zu, \"calls\": %zu, \"wine_left_out\": %zu, "
	       "\"taken_for_wine\": %zu}\n",
	       kind, count, count * rounds, dropped, wine);
	return 0;
}

int main(int argc, char **argv)
{
	double min_seconds = 1.5;
	size_t count, dropped, wine_plain, wine_script, wine_count;
	double plain, script, wine;

	if (argc == 5 && strcmp(argv[1], "--only") == 0 && strcmp(argv[3], "--rounds") == 0)
		return run_only(argv[2], strtoul(argv[4], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "--min-seconds") == 0)
		min_seconds = atof(argv[2]);
	else if (argc != 1) {
		fprintf(stderr, "usage: agent_wine_check [--min-seconds S]\n"
				"       agent_wine_check --only plain|script --rounds N\n");
		return 2;
	}
	count = collect();
	dropped = drop_wine_samples(&count);
	if (count == 0) {
		fprintf(stderr, "agent_wine_check: no processes to sample in /proc\n");
		return 1;
	}
	plain = time_for(count, false, min_seconds, &wine_plain);
	script = time_for(count, true, min_seconds, &wine_script);
	add_wine_samples(&count);
	memmove(samples, samples + count - 3, 3 * sizeof(samples[0]));
	wine = time_for(3, false, min_seconds, &wine_count);
	printf("{\"execs\": %zu, \"wine_left_out\": %zu, \"ns_per_exec\": %.2f, "
	       "\"ns_per_script_exec\": %.2f, \"ns_per_wine_exec\": %.2f, "
	       "\"taken_for_wine\": %zu}\n",
	       count - 3, dropped, plain, script, wine, wine_plain + wine_script);
	return 0;
}
