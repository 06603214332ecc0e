/*
 * exec_launcher.c - start a program at a fixed rate, the way Sysmon for
 * Linux's published test does, and say how many starts really happened.
 *
 *   exec_launcher RATE SECONDS PROGRAM [ARGS...]
 *
 * RATE 0 means as fast as possible.  Each start is posix_spawn + waitpid,
 * so at most one child lives at a time.  Prints one JSON line:
 * {"requested_rate":..., "seconds":..., "execs":..., "achieved_rate":...,
 *  "cpu_seconds": user+sys of the launcher and its children}
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static double cpu_seconds(int who)
{
	struct rusage usage;

	getrusage(who, &usage);
	return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
	       (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

static void sleep_until(double moment)
{
	double left = moment - now_seconds();
	struct timespec pause;

	if (left <= 0)
		return;
	pause.tv_sec = (time_t)left;
	pause.tv_nsec = (long)((left - (double)pause.tv_sec) * 1e9);
	nanosleep(&pause, NULL);
}

int main(int argc, char **argv)
{
	double rate, seconds, start, end;
	long execs = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: exec_launcher RATE SECONDS PROGRAM [ARGS...]\n");
		return 2;
	}
	rate = atof(argv[1]);
	seconds = atof(argv[2]);
	start = now_seconds();
	end = start + seconds;
	while (now_seconds() < end) {
		pid_t child;
		int status;

		if (rate > 0)
			sleep_until(start + (double)execs / rate);
		if (posix_spawn(&child, argv[3], NULL, NULL, argv + 3, environ) != 0) {
			perror("exec_launcher: posix_spawn");
			return 1;
		}
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		execs++;
	}
	double elapsed = now_seconds() - start;
	printf("{\"requested_rate\": %g, \"seconds\": %.3f, \"execs\": %ld, "
	       "\"achieved_rate\": %.1f, \"cpu_seconds\": %.4f}\n",
	       rate, elapsed, execs, (double)execs / elapsed,
	       cpu_seconds(RUSAGE_SELF) + cpu_seconds(RUSAGE_CHILDREN));
	return 0;
}
