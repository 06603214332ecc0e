/*
 * test_unicode.c - the Unicode facts of lib/base/unicode.h: decoding UTF-8
 * (and what invalid bytes become), letters and digits, simple case folding
 * and case mappings; and that lib/base/unicode_data.c is exactly what
 * packaging/gen_unicode_data.py makes from the installed Unicode data
 * (Debian's unicode-data; without it the comparison skips, unless CI=true).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/unicode.h"

static void decoding(void **state)
{
	uint32_t code;

	(void)state;
	assert_int_equal(unicode_decode((const unsigned char *)"a", 1, &code), 1);
	assert_int_equal(code, 'a');
	assert_int_equal(unicode_decode((const unsigned char *)"\xc3\xa4", 2, &code), 2);
	assert_int_equal(code, 0xe4);
	assert_int_equal(unicode_decode((const unsigned char *)"\xe2\x84\xaa", 3, &code), 3);
	assert_int_equal(code, 0x212a);
	assert_int_equal(unicode_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, &code), 4);
	assert_int_equal(code, 0x1f600);
	/* a truncated sequence, a stray continuation byte, an overlong form */
	assert_int_equal(unicode_decode((const unsigned char *)"\xc3", 1, &code), 1);
	assert_int_equal(code, UNICODE_INVALID_BYTE + 0xc3);
	assert_int_equal(unicode_decode((const unsigned char *)"\xa4", 1, &code), 1);
	assert_int_equal(code, UNICODE_INVALID_BYTE + 0xa4);
	assert_int_equal(unicode_decode((const unsigned char *)"\xc0\xaf", 2, &code), 1);
	assert_int_equal(unicode_decode_before((const unsigned char *)"x\xc3\xa4", 3, &code), 2);
	assert_int_equal(code, 0xe4);
	assert_int_equal(unicode_decode_before((const unsigned char *)"x\xa4", 2, &code), 1);
	assert_int_equal(code, UNICODE_INVALID_BYTE + 0xa4);
	char out[4];

	assert_int_equal(unicode_encode(0x212a, out), 3);
	assert_memory_equal(out, "\xe2\x84\xaa", 3);
	assert_int_equal(unicode_encode(UNICODE_INVALID_BYTE + 0xc3, out), 1);
	assert_int_equal((unsigned char)out[0], 0xc3);
}

static void properties(void **state)
{
	(void)state;
	assert_true(unicode_is_alnum('a') && unicode_is_alnum('7') && unicode_is_alnum(0xe4));
	assert_true(unicode_is_alnum(0x65e5));	/* 日, Lo */
	assert_true(unicode_is_alnum(0x661));	/* Arabic-Indic one, Nd */
	assert_true(unicode_is_alnum(0x20000)); /* CJK extension B */
	assert_false(unicode_is_alnum('_') || unicode_is_alnum(0xae) || unicode_is_alnum(0xa0));
	assert_false(unicode_is_alnum(0x2160)); /* Roman numeral one: Nl, not Nd */
	assert_false(unicode_is_alnum(0x301));	/* a combining mark */
	assert_false(unicode_is_alnum(0x10ffff));
	assert_int_equal(unicode_fold('A'), 'a');
	assert_int_equal(unicode_fold(0xc4), 0xe4);   /* Ä */
	assert_int_equal(unicode_fold(0x3c2), 0x3c3); /* final sigma */
	assert_int_equal(unicode_fold(0x212a), 'k');  /* Kelvin sign */
	assert_int_equal(unicode_fold(0x17f), 's');   /* long s */
	assert_int_equal(unicode_fold(0xdf), 0xdf);   /* ß: full folding only */
	assert_int_equal(unicode_fold(0x130), 0x130); /* İ: no simple folding */
	assert_int_equal(unicode_upper(0xe4), 0xc4);
	assert_int_equal(unicode_lower(0x23a), 0x2c65); /* Ⱥ: two bytes to three */
	char out[32];

	assert_int_equal(unicode_fold_text("KRÄMER", strlen("KRÄMER"), out), strlen("krämer"));
	assert_string_equal(out, "krämer");
	assert_int_equal(unicode_lower_text("\xc8\xba", 2, out), 3);
	assert_string_equal(out, "\xe2\xb1\xa5");
	assert_int_equal(unicode_upper_text("a\xc3", 2, out), 2); /* an invalid byte stays */
	assert_memory_equal(out, "A\xc3", 2);
}

/* The committed tables are what the generator makes from the installed data. */
static void tables_are_generated(void **state)
{
	const char *data = "/usr/share/unicode/UnicodeData.txt";
	const char *ci = getenv("CI");

	(void)state;
	if (access(data, R_OK) != 0) {
		if (ci && strcmp(ci, "true") == 0) {
			print_error("%s is missing and CI=true (packaging/deps.sh test installs "
				    "unicode-data)\n",
				    data);
			fail();
		}
		print_message("skipping: %s is absent (Debian's unicode-data)\n", data);
		skip();
	}
	int status = system("python3 packaging/gen_unicode_data.py /usr/share/unicode | "
			    "cmp -s - lib/base/unicode_data.c");

	if (status != 0)
		print_error("lib/base/unicode_data.c differs from packaging/gen_unicode_data.py's "
			    "output: regenerate it\n");
	assert_int_equal(status, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decoding),
		cmocka_unit_test(properties),
		cmocka_unit_test(tables_are_generated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
