/*
 * test_go_buildinfo.c - Go build info in both layouts: the Go 1.18+ inline
 * strings and the Go 1.13-1.17 pointers (4- and 8-byte, little- and
 * big-endian, read through a fake address space), the module text with and
 * without sentinels, quoted settings, and malformed input.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "binident/go_buildinfo.h"

#define SENTINEL_START "0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6"
#define SENTINEL_END "\xf9\x32\x43\x31\x86\x18 r\x00\x82\x42\x10\x41\x16\xd8\xf2"

static const char modinfo_text[] =
	"path\tgithub.com/openrport/openrport/cmd/rport\n"
	"mod\tgithub.com/openrport/openrport\tv0.9.12\th1:abc=\n"
	"dep\tgithub.com/spf13/cobra\tv1.6.1\th1:x=\n"
	"dep\tgolang.org/x/crypto\tv0.5.0\th1:y=\n"
	"build\t-ldflags=\"-s -w -X main.version=0.9.12\"\n"
	"build\tCGO_ENABLED=0\n"
	"build\tvcs=git\n"
	"build\tvcs.revision=0123456789abcdef0123456789abcdef01234567\n"
	"build\tvcs.modified=true\n";

/* Module info framed by the linker's sentinels, as in a real binary. */
static size_t framed_modinfo(unsigned char *out)
{
	size_t length = strlen(modinfo_text);

	memcpy(out, SENTINEL_START, 16);
	memcpy(out + 16, modinfo_text, length);
	memcpy(out + 16 + length, SENTINEL_END, 16);
	return length + 32;
}

static void header(unsigned char *out, unsigned pointer_size, unsigned char flags)
{
	memset(out, 0, 32);
	memcpy(out, "\xff Go buildinf:", 14);
	out[14] = (unsigned char)pointer_size;
	out[15] = flags;
}

static void check_modinfo(const struct go_buildinfo *info)
{
	assert_string_equal(info->main_package, "github.com/openrport/openrport/cmd/rport");
	assert_string_equal(info->module_path, "github.com/openrport/openrport");
	assert_string_equal(info->module_version, "v0.9.12");
	assert_string_equal(info->module_sum, "h1:abc=");
	assert_int_equal(info->dependency_count, 2);
	assert_int_equal(info->setting_count, 5);
	assert_string_equal(go_buildinfo_setting(info, "-ldflags"), "-s -w -X main.version=0.9.12");
	assert_string_equal(go_buildinfo_setting(info, "vcs.revision"),
			    "0123456789abcdef0123456789abcdef01234567");
	assert_string_equal(go_buildinfo_setting(info, "vcs.modified"), "true");
	assert_null(go_buildinfo_setting(info, "vcs.time"));
	assert_string_equal(info->modinfo, modinfo_text);
}

static void test_inline_format(void **state)
{
	(void)state;
	unsigned char data[1024];
	size_t at = 32;
	struct go_buildinfo *info = NULL;

	header(data, 8, 2);
	data[at++] = 8;
	memcpy(data + at, "go1.19.8", 8);
	at += 8;
	size_t modinfo_length = framed_modinfo(data + at + 2);
	data[at] = (unsigned char)(0x80 | (modinfo_length & 0x7f));   /* two-byte uvarint */
	data[at + 1] = (unsigned char)(modinfo_length >> 7);
	at += 2 + modinfo_length;
	assert_int_equal(go_buildinfo_parse(data, at, NULL, NULL, &info, NULL), 0);
	assert_true(info->inline_format);
	assert_string_equal(info->go_version, "go1.19.8");
	check_modinfo(info);
	go_buildinfo_free(info);
}

/* A fake address space: two regions for the pointer format. */
struct memory {
	uint64_t base;
	unsigned char bytes[2048];
};

static int read_memory(void *context, uint64_t address, void *out, size_t size)
{
	const struct memory *memory = context;

	if (address < memory->base || address - memory->base > sizeof(memory->bytes) ||
	    size > sizeof(memory->bytes) - (address - memory->base))
		return -ERANGE;
	memcpy(out, memory->bytes + (address - memory->base), size);
	return 0;
}

static void store_pointer(unsigned char *out, uint64_t value, unsigned size, bool big_endian)
{
	for (unsigned i = 0; i < size; i++) {
		unsigned shift = 8 * (big_endian ? size - 1 - i : i);

		out[i] = (unsigned char)(value >> shift);
	}
}

static void pointer_format(unsigned pointer_size, bool big_endian)
{
	static struct memory memory;
	unsigned char data[64];
	struct go_buildinfo *info = NULL;
	uint64_t base = pointer_size == 4 ? 0x08100000u : 0x4a0000000ull;
	unsigned char *bytes = memory.bytes;

	memset(&memory, 0, sizeof(memory));
	memory.base = base;
	/* version string header at base, its text at base+0x40 */
	memcpy(bytes + 0x40, "go1.16.15", 9);
	store_pointer(bytes, base + 0x40, pointer_size, big_endian);
	store_pointer(bytes + pointer_size, 9, pointer_size, big_endian);
	/* modinfo string header at base+0x20, its text at base+0x100 */
	size_t modinfo_length = framed_modinfo(bytes + 0x100);
	store_pointer(bytes + 0x20, base + 0x100, pointer_size, big_endian);
	store_pointer(bytes + 0x20 + pointer_size, modinfo_length, pointer_size, big_endian);
	header(data, pointer_size, big_endian ? 1 : 0);
	store_pointer(data + 16, base, pointer_size, big_endian);
	store_pointer(data + 16 + pointer_size, base + 0x20, pointer_size, big_endian);
	assert_int_equal(go_buildinfo_parse(data, 32, read_memory, &memory, &info, NULL), 0);
	assert_false(info->inline_format);
	assert_int_equal(info->pointer_size, pointer_size);
	assert_string_equal(info->go_version, "go1.16.15");
	check_modinfo(info);
	go_buildinfo_free(info);
}

static void test_pointer_format(void **state)
{
	(void)state;
	pointer_format(8, false);
	pointer_format(4, false);
	pointer_format(8, true);
	pointer_format(4, true);
}

static void test_malformed(void **state)
{
	(void)state;
	unsigned char data[64];
	struct go_buildinfo *info = (struct go_buildinfo *)1;
	struct parse_error error = {0};
	static struct memory memory;

	memset(data, 0, sizeof(data));
	assert_int_equal(go_buildinfo_parse(data, 32, NULL, NULL, &info, NULL), -ENOEXEC);
	assert_null(info);
	header(data, 8, 0);
	assert_int_equal(go_buildinfo_parse(data, 31, NULL, NULL, &info, NULL), -ENOEXEC);
	/* inline: length larger than the bytes left */
	header(data, 8, 2);
	data[32] = 100;
	assert_int_equal(go_buildinfo_parse(data, 40, NULL, NULL, &info, &error), -EBADMSG);
	assert_non_null(strstr(error.message, "inline string"));
	/* inline: a uvarint that never ends */
	memset(data + 32, 0xff, 32);
	assert_int_equal(go_buildinfo_parse(data, 64, NULL, NULL, &info, NULL), -EBADMSG);
	/* pointer format: bad pointer size, no memory reader, pointers nowhere */
	header(data, 3, 0);
	assert_int_equal(go_buildinfo_parse(data, 32, read_memory, &memory, &info, NULL), -EBADMSG);
	header(data, 8, 0);
	assert_int_equal(go_buildinfo_parse(data, 32, NULL, NULL, &info, NULL), -ENODATA);
	memory.base = 0x1000;
	store_pointer(data + 16, 0xdead0000, 8, false);
	assert_int_equal(go_buildinfo_parse(data, 32, read_memory, &memory, &info, NULL), -ERANGE);
	/* pointer format: a string length over the limit */
	memset(memory.bytes, 0, sizeof(memory.bytes));
	store_pointer(memory.bytes, 0x1000, 8, false);
	store_pointer(memory.bytes + 8, (uint64_t)GO_BUILDINFO_MAX_STRING + 1, 8, false);
	store_pointer(data + 16, 0x1000, 8, false);
	assert_int_equal(go_buildinfo_parse(data, 32, read_memory, &memory, &info, NULL), -EBADMSG);
	assert_null(info);
}

static void test_modinfo_without_sentinels_and_odd_lines(void **state)
{
	(void)state;
	const char text[] = "path\tcmd/x\nmod\tonly-path\n\nbuild\tnoequals\nbuild\t\nweird line\n";
	unsigned char data[256];
	struct go_buildinfo *info = NULL;

	header(data, 8, 2);
	data[32] = 6;
	memcpy(data + 33, "go1.22", 6);
	data[39] = (unsigned char)(sizeof(text) - 1);
	memcpy(data + 40, text, sizeof(text) - 1);
	assert_int_equal(go_buildinfo_parse(data, 40 + sizeof(text) - 1, NULL, NULL, &info, NULL), 0);
	assert_string_equal(info->main_package, "cmd/x");
	assert_string_equal(info->module_path, "only-path");
	assert_string_equal(info->module_version, "");
	assert_int_equal(info->setting_count, 2);
	assert_string_equal(info->settings[0].key, "noequals");
	assert_string_equal(info->settings[0].value, "");
	go_buildinfo_free(info);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_format),
		cmocka_unit_test(test_pointer_format),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_modinfo_without_sentinels_and_odd_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
