/*
 * test_agent_ship.c - the shipper's pure parts (agent/ship/): backoff and
 * Retry-After, the cursor file (outbox.json) written and read back across
 * a "restart", enrollment.json and the secret, the collector's answers,
 * which collector URLs are allowed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ship/backoff.h"
#include "ship/collector_answer.h"
#include "ship/enrollment.h"
#include "ship/http_client.h"
#include "ship/outbox_state.h"

#define DEVICE "0123456789abcdef0123456789abcdef01234567"
#define KEY "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234"

struct directory {
	char path[64];
};

static int make_directory(void **state)
{
	struct directory *directory = calloc(1, sizeof(*directory));

	assert_non_null(directory);
	snprintf(directory->path, sizeof(directory->path), "/tmp/rmmhunt-ship-XXXXXX");
	assert_non_null(mkdtemp(directory->path));
	*state = directory;
	return 0;
}

static int remove_directory(void **state)
{
	struct directory *directory = *state;
	char command[128];

	snprintf(command, sizeof(command), "rm -rf '%s'", directory->path);
	assert_int_equal(system(command), 0);
	free(directory);
	return 0;
}

/* ---- backoff ------------------------------------------------------------- */

static void test_backoff_ceiling_doubles_to_the_cap(void **state)
{
	(void)state;
	assert_int_equal(backoff_ceiling_ms(1), 1000);
	assert_int_equal(backoff_ceiling_ms(2), 2000);
	assert_int_equal(backoff_ceiling_ms(3), 4000);
	assert_int_equal(backoff_ceiling_ms(6), 32000);
	assert_int_equal(backoff_ceiling_ms(7), 60000);
	assert_int_equal(BACKOFF_CAP_MS, 60000);
	assert_int_equal(backoff_ceiling_ms(10), BACKOFF_CAP_MS);
	assert_int_equal(backoff_ceiling_ms(1000), BACKOFF_CAP_MS);
}

static void test_backoff_full_jitter(void **state)
{
	uint64_t random = 12345, low = UINT64_MAX, high = 0;

	(void)state;
	/* uniform in [0, ceiling): every value below the ceiling, spread out */
	for (int i = 0; i < 10000; i++) {
		uint64_t delay = backoff_delay_ms(3, -1, backoff_random_next(&random));

		assert_true(delay < 4000);
		low = delay < low ? delay : low;
		high = delay > high ? delay : high;
	}
	assert_true(low < 100 && high > 3900);
	assert_int_equal(backoff_delay_ms(1, -1, 999), 999);
	assert_int_equal(backoff_delay_ms(1, -1, 1000), 0);
	assert_int_equal(backoff_delay_ms(0, -1, 1500), 500); /* 0 failures: as 1 */
}

static void test_retry_after_is_a_floor(void **state)
{
	uint64_t random = 99;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		uint64_t delay = backoff_delay_ms(2, 5000, backoff_random_next(&random));

		assert_true(delay >= 5000 && delay < 7000);
	}
	assert_int_equal(backoff_delay_ms(5, 0, 0), 0);
	for (int i = 0; i < 1000; i++)
		assert_true(backoff_spread_ms(30000, backoff_random_next(&random)) <= 30000);
	assert_int_equal(backoff_spread_ms(0, 12345), 0);
	assert_int_equal(backoff_spread_ms(30000, 30000), 30000);
}

static void test_retry_after_parsing(void **state)
{
	const int64_t now = 946684799; /* 1999-12-31T23:59:59Z */
	int64_t seconds = -1;

	(void)state;
	assert_int_equal(backoff_parse_retry_after("5", now, &seconds), 0);
	assert_int_equal(seconds, 5);
	assert_int_equal(backoff_parse_retry_after(" 120\r\n", now, &seconds), 0);
	assert_int_equal(seconds, 120);
	assert_int_equal(backoff_parse_retry_after("0", now, &seconds), 0);
	assert_int_equal(seconds, 0);
	assert_int_equal(backoff_parse_retry_after("99999999999999999999999", now, &seconds), 0);
	assert_int_equal(seconds, 24 * 3600);
	assert_int_equal(backoff_parse_retry_after("Sat, 01 Jan 2000 00:00:09 GMT", now, &seconds),
			 0);
	assert_int_equal(seconds, 10);
	assert_int_equal(backoff_parse_retry_after("Fri, 31 Dec 1999 23:00:00 GMT", now, &seconds),
			 0);
	assert_int_equal(seconds, 0); /* in the past: now */
	assert_int_equal(backoff_parse_retry_after("-5", now, &seconds), -EINVAL);
	assert_int_equal(backoff_parse_retry_after("5s", now, &seconds), -EINVAL);
	assert_int_equal(backoff_parse_retry_after("", now, &seconds), -EINVAL);
	assert_int_equal(backoff_parse_retry_after("soon", now, &seconds), -EINVAL);
	assert_int_equal(backoff_parse_retry_after("1.5", now, &seconds), -EINVAL);
}

/* ---- outbox.json ----------------------------------------------------------- */

static void test_cursors_survive_a_restart(void **state)
{
	struct directory *directory = *state;
	struct outbox_state written = {.cache_id = 8364127, .acknowledged = {1200, 3, 17},
				       .dropped = {40, 1, 0}, .rejected = {2, 0, 1}};
	struct outbox_state read;
	char path[128], message[128];

	snprintf(path, sizeof(path), "%s/%s", directory->path, OUTBOX_STATE_FILE_NAME);
	assert_int_equal(outbox_state_load(path, &read, message, sizeof(message)), 1);
	assert_int_equal(read.acknowledged[OUTBOX_RECORDS], 0);
	assert_int_equal(outbox_state_save(path, &written), 0);
	assert_int_equal(outbox_state_load(path, &read, message, sizeof(message)), 0);
	assert_memory_equal(&read, &written, sizeof(read));
	/* replaced whole: no temporary file left, owner-only */
	struct stat status;
	char temporary[160];

	assert_int_equal(stat(path, &status), 0);
	assert_int_equal(status.st_mode & 0777, 0600);
	snprintf(temporary, sizeof(temporary), "%s.tmp", path);
	assert_int_equal(access(temporary, F_OK), -1);
	written.acknowledged[OUTBOX_RECORDS] = 5000;
	assert_int_equal(outbox_state_save(path, &written), 0);
	assert_int_equal(outbox_state_load(path, &read, message, sizeof(message)), 0);
	assert_int_equal(read.acknowledged[OUTBOX_RECORDS], 5000);
}

static void test_bad_cursor_files(void **state)
{
	struct outbox_state read;
	char message[128];

	(void)state;
	assert_int_equal(outbox_state_parse("{", 1, &read, message, sizeof(message)), -EINVAL);
	assert_int_equal(outbox_state_parse("[]", 2, &read, message, sizeof(message)), -EINVAL);
	assert_int_equal(outbox_state_parse("{\"schema\": 2}", 13, &read, message,
					    sizeof(message)),
			 -EINVAL);
	assert_non_null(strstr(message, "schema 2"));
	const char *negative = "{\"schema\": 1, \"records\": -1}";

	assert_int_equal(outbox_state_parse(negative, strlen(negative), &read, message,
					    sizeof(message)),
			 -EINVAL);
	assert_non_null(strstr(message, "records"));
	const char *text = "{\"schema\": 1, \"hits\": \"7\"}";

	assert_int_equal(outbox_state_parse(text, strlen(text), &read, message, sizeof(message)),
			 -EINVAL);
	const char *duplicate = "{\"schema\": 1, \"hits\": 1, \"hits\": 2}";

	assert_int_equal(outbox_state_parse(duplicate, strlen(duplicate), &read, message,
					    sizeof(message)),
			 -EINVAL);
	/* missing members are 0 */
	const char *sparse = "{\"schema\": 1, \"hits\": 9}";

	assert_int_equal(outbox_state_parse(sparse, strlen(sparse), &read, message,
					    sizeof(message)),
			 0);
	assert_int_equal(read.acknowledged[OUTBOX_HITS], 9);
	assert_int_equal(read.acknowledged[OUTBOX_RECORDS], 0);
}

/* ---- enrollment ---------------------------------------------------------- */

static void test_enrollment_file(void **state)
{
	struct directory *directory = *state;
	struct enrollment written = {.collector = "https://collector.example:8443",
				     .device_id = DEVICE,
				     .device_key = KEY,
				     .enrolled_ticks = 17648928000000000LL};
	struct enrollment read;
	char path[128], message[128];
	struct stat status;

	snprintf(path, sizeof(path), "%s/%s", directory->path, ENROLLMENT_FILE_NAME);
	assert_int_equal(enrollment_load(path, &read, message, sizeof(message)), 1);
	assert_int_equal(enrollment_save(path, &written), 0);
	assert_int_equal(stat(path, &status), 0);
	assert_int_equal(status.st_mode & 0777, 0600);
	assert_int_equal(enrollment_load(path, &read, message, sizeof(message)), 0);
	assert_memory_equal(&read, &written, sizeof(read));

	const char *bad_key = "{\"schema\":1,\"collector\":\"https://c\",\"device_id\":\"" DEVICE
			      "\",\"device_key\":\"short\"}";
	assert_int_equal(enrollment_parse(bad_key, strlen(bad_key), &read, message,
					  sizeof(message)),
			 -EINVAL);
	assert_non_null(strstr(message, "device_key"));
	const char *bad_id = "{\"schema\":1,\"collector\":\"https://c\",\"device_id\":"
			     "\"0123456789ABCDEF0123456789abcdef01234567\",\"device_key\":\"" KEY
			     "\"}";
	assert_int_equal(enrollment_parse(bad_id, strlen(bad_id), &read, message, sizeof(message)),
			 -EINVAL);
	assert_non_null(strstr(message, "device_id"));
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *file = fopen(path, "w");

	assert_non_null(file);
	fputs(text, file);
	fclose(file);
	chmod(path, mode);
}

static void test_enrollment_secret(void **state)
{
	struct directory *directory = *state;
	char path[128], message[256], *secret = NULL;

	snprintf(path, sizeof(path), "%s/secret", directory->path);
	assert_int_equal(enrollment_read_secret(path, &secret, message, sizeof(message)), -ENOENT);
	assert_non_null(strstr(message, path));
	write_file(path, "  s3cr3t-value \nsecond line\n", 0600);
	assert_int_equal(enrollment_read_secret(path, &secret, message, sizeof(message)), 0);
	assert_string_equal(secret, "s3cr3t-value");
	free(secret);
	write_file(path, "\n", 0600);
	assert_int_equal(enrollment_read_secret(path, &secret, message, sizeof(message)), -EINVAL);
	assert_non_null(strstr(message, "empty"));
	write_file(path, "bad\x01secret\n", 0600);
	assert_int_equal(enrollment_read_secret(path, &secret, message, sizeof(message)), -EINVAL);
	assert_null(secret);
}

/* ---- the collector's answers ---------------------------------------------- */

static void test_collector_answers(void **state)
{
	struct events_answer answer;
	char key[WIRE_DEVICE_KEY_TEXT + 1], message[256];
	const char *events = "{\"batch\":\"x\",\"records\":5,\"hits\":1,\"summaries\":0,"
			     "\"duplicates\":2}";
	const char *enroll = "{\"device_id\":\"" DEVICE "\",\"device_key\":\"" KEY "\"}";
	const char *other = "{\"device_id\":\"1123456789abcdef0123456789abcdef01234567\","
			    "\"device_key\":\"" KEY "\"}";
	const char *error = "{\"error\":{\"code\":400,\"message\":\"line 3: Timestamp: bad\"}}";

	(void)state;
	assert_int_equal(collector_answer_events(events, strlen(events), &answer, message,
						 sizeof(message)),
			 0);
	assert_int_equal(answer.records, 5);
	assert_int_equal(answer.duplicates, 2);
	assert_int_equal(collector_answer_events("{\"records\":-1}", 14, &answer, message,
						 sizeof(message)),
			 -EINVAL);
	assert_int_equal(collector_answer_events("<html>", 6, &answer, message, sizeof(message)),
			 -EINVAL);
	assert_int_equal(collector_answer_enroll(enroll, strlen(enroll), DEVICE, key, message,
						 sizeof(message)),
			 0);
	assert_string_equal(key, KEY);
	assert_int_equal(collector_answer_enroll(other, strlen(other), DEVICE, key, message,
						 sizeof(message)),
			 -EINVAL);
	assert_string_equal(key, "");
	collector_answer_error(error, strlen(error), message, sizeof(message));
	assert_string_equal(message, "line 3: Timestamp: bad");
	collector_answer_error("nonsense", 8, message, sizeof(message));
	assert_string_equal(message, "");
}

static void test_collector_urls(void **state)
{
	char reason[200];

	(void)state;
	assert_int_equal(http_check_collector_url("https://collector.example:8443", reason,
						  sizeof(reason)),
			 0);
	assert_int_equal(http_check_collector_url("https://10.0.0.1/rmmhunt/", reason,
						  sizeof(reason)),
			 0);
	assert_int_equal(http_check_collector_url("http://127.0.0.1:8080", reason, sizeof(reason)),
			 0);
	assert_int_equal(http_check_collector_url("http://127.8.9.10", reason, sizeof(reason)), 0);
	assert_int_equal(http_check_collector_url("http://[::1]:8080", reason, sizeof(reason)), 0);
	assert_int_equal(http_check_collector_url("http://localhost:8080", reason, sizeof(reason)),
			 0);
	assert_int_equal(http_check_collector_url("http://collector.example", reason,
						  sizeof(reason)),
			 -EINVAL);
	assert_non_null(strstr(reason, "loopback"));
	assert_int_equal(http_check_collector_url("http://10.0.0.1", reason, sizeof(reason)),
			 -EINVAL);
	assert_int_equal(http_check_collector_url("ftp://collector.example", reason,
						  sizeof(reason)),
			 -EINVAL);
	assert_int_equal(http_check_collector_url("https://user:pw@collector.example", reason,
						  sizeof(reason)),
			 -EINVAL);
	assert_int_equal(http_check_collector_url("https://collector.example/?x=1", reason,
						  sizeof(reason)),
			 -EINVAL);
	assert_int_equal(http_check_collector_url("not a url", reason, sizeof(reason)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_ceiling_doubles_to_the_cap),
		cmocka_unit_test(test_backoff_full_jitter),
		cmocka_unit_test(test_retry_after_is_a_floor),
		cmocka_unit_test(test_retry_after_parsing),
		cmocka_unit_test_setup_teardown(test_cursors_survive_a_restart, make_directory,
						remove_directory),
		cmocka_unit_test(test_bad_cursor_files),
		cmocka_unit_test_setup_teardown(test_enrollment_file, make_directory,
						remove_directory),
		cmocka_unit_test_setup_teardown(test_enrollment_secret, make_directory,
						remove_directory),
		cmocka_unit_test(test_collector_answers),
		cmocka_unit_test(test_collector_urls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
