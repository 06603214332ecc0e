/*
 * agent_wine_check.c - what the Wine test costs an exec that is not Wine's
 * (run by bench_wine_check.sh, which sets it against the agent's whole CPU
 * time per exec measured in the same run).
 *
 * The execs are this machine's: every process in /proc gives the path of
 * what it runs and its argv, as the probe would see them at its exec; each
 * is also tried as a script (interpreter /bin/sh), the case where the test
 * looks at argv.  Wine's own execs are timed apart, for information.
 * Prints one JSON object: nanoseconds per call and how many execs.
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

/* ns per wine_classify over the samples; *wine counts those accepted. */
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

int main(int argc, char **argv)
{
	size_t rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
	size_t count = collect(), wine_plain, wine_script, wine_count;
	double plain, script, wine;

	if (count == 0 || rounds == 0) {
		fprintf(stderr, "agent_wine_check: no processes to sample in /proc\n");
		return 1;
	}
	plain = time_classify(count, false, rounds, &wine_plain);
	script = time_classify(count, true, rounds, &wine_script);
	add_wine_samples(&count);
	memmove(samples, samples + count - 3, 3 * sizeof(samples[0]));
	wine = time_classify(3, false, rounds * 100, &wine_count);
	printf("{\"execs\": %zu, \"rounds\": %zu, \"ns_per_exec\": %.2f, "
	       "\"ns_per_script_exec\": %.2f, \"ns_per_wine_exec\": %.2f, "
	       "\"taken_for_wine\": %zu}\n",
	       count - 3, rounds, plain, script, wine, wine_plain + wine_script);
	return 0;
}
