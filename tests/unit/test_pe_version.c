/*
 * test_pe_version.c - the PE version-info reader on images built in memory
 * (pe_builder.h): the normal case, PE32 and PE32+, children in any order,
 * case-insensitive keys, the leaf and table choice with its fallbacks, and
 * hostile structure: wrong wValueLength/wLength, overruns, truncation at
 * every length, loops, huge trees, out-of-bounds offsets.  Also the fd path.
 *
 * Run with "--write-seeds DIR" it writes the images it builds as fuzzing
 * seeds instead of testing (see fuzz/seeds/pe/).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pe_builder.h"
#include "binident/pe_version.h"

#define IMAGE_CAPACITY (1u << 20)

static unsigned char image[IMAGE_CAPACITY];
static struct vs_writer writer;

static struct pe_version_info *read_ok(const unsigned char *data, size_t size)
{
	struct pe_version_info *info = NULL;
	struct parse_error error = {0};
	int result = pe_version_read_buffer(data, size, &info, &error);

	if (result != 0)
		fail_msg("pe_version_read_buffer: %d %s", result, error.message);
	assert_non_null(info);
	return info;
}

static size_t build_one(bool pe32_plus, uint16_t language)
{
	struct pe_leaf leaf = {1, language, writer.data, writer.size};

	return pe_build(image, IMAGE_CAPACITY, pe32_plus, &leaf, 1);
}

/* The usual blob (RealVNC Ltd / rport in 040904b0) in a PE32+ image; returns its size. */
static size_t rport_image(bool pe32_plus)
{
	vs_simple(&writer, "040904b0", "RealVNC Ltd", "rport", 0x0409, 0x04b0);
	return build_one(pe32_plus, 0x0409);
}

/* The open nodes of a blob being written: root, StringFileInfo, one table. */
struct open_blob {
	size_t root;
	size_t info;
	size_t table;
};

static struct open_blob blob_begin(const char *table_key)
{
	struct open_blob blob;

	writer.size = 0;
	blob.root = vs_root(&writer);
	blob.info = vs_open(&writer, "StringFileInfo", 0, 1);
	blob.table = vs_open(&writer, table_key, 0, 1);
	return blob;
}

/* Close what blob_begin opened, with Translation 0409/04b0 when asked. */
static void blob_end(struct open_blob blob, bool translation)
{
	static const uint16_t pairs[] = {0x0409, 0x04b0};

	vs_close(&writer, blob.table);
	vs_close(&writer, blob.info);
	if (translation)
		vs_translation(&writer, "VarFileInfo", pairs, 1);
	vs_close(&writer, blob.root);
}

static void test_simple_pe32_plus(void **state)
{
	(void)state;
	struct pe_version_info *info = read_ok(image, rport_image(true));

	assert_true(info->pe32_plus);
	assert_int_equal(info->machine, 0x8664);
	assert_int_equal(info->resource_count, 1);
	assert_string_equal(pe_version_lookup(info, "CompanyName"), "RealVNC Ltd");
	assert_string_equal(pe_version_lookup(info, "productname"), "rport");
	assert_null(pe_version_lookup(info, "FileDescription"));
	assert_int_equal(info->choice, PE_CHOICE_TRANSLATION);
	assert_true(info->chosen_resource->has_fixed);
	assert_int_equal(info->chosen_resource->fixed.file_version_ms, 0x00010002);
	assert_int_equal(info->chosen_resource->fixed.product_version_ls, 0x00070008);
	assert_int_equal(info->anomalies, 0);
	pe_version_free(info);
}

static void test_simple_pe32(void **state)
{
	(void)state;
	struct pe_version_info *info = read_ok(image, rport_image(false));

	assert_false(info->pe32_plus);
	assert_int_equal(info->machine, 0x014c);
	assert_string_equal(pe_version_lookup(info, "CompanyName"), "RealVNC Ltd");
	pe_version_free(info);
}

/* VarFileInfo first, keys in odd case, table key in upper case. */
static void test_any_order_and_case(void **state)
{
	(void)state;
	const uint16_t pairs[] = {0x0409, 0x04b0};
	size_t root;
	size_t info_node;
	size_t table;

	writer.size = 0;
	root = vs_root(&writer);
	vs_translation(&writer, "varfileinfo", pairs, 1);
	info_node = vs_open(&writer, "STRINGFILEINFO", 0, 1);
	table = vs_open(&writer, "040904B0", 0, 1);
	vs_string(&writer, "companyNAME", "RealVNC Ltd");
	vs_close(&writer, table);
	vs_close(&writer, info_node);
	vs_close(&writer, root);
	struct pe_version_info *info = read_ok(image, build_one(true, 0x0409));

	assert_int_equal(info->choice, PE_CHOICE_TRANSLATION);
	assert_string_equal(info->chosen_table->key, "040904B0");
	assert_string_equal(pe_version_lookup(info, "CompanyName"), "RealVNC Ltd");
	assert_int_equal(info->anomalies, 0);
	pe_version_free(info);
}

/* Build a table with one CompanyName whose wValueLength is value_length. */
static struct pe_version_info *company_with_length(uint16_t value_length)
{
	struct open_blob blob = blob_begin("040904b0");

	vs_string_length(&writer, "CompanyName", "RealVNC Ltd", value_length);
	vs_string(&writer, "ProductName", "rport");
	blob_end(blob, true);
	return read_ok(image, build_one(true, 0x0409));
}

static void test_value_length_zero_is_read_and_flagged(void **state)
{
	(void)state;
	struct pe_version_info *info = company_with_length(0);
	const struct pe_version_string *company = &info->chosen_table->strings[0];

	assert_string_equal(company->value, "RealVNC Ltd");
	assert_int_equal(company->anomalies, PE_ANOMALY_STRING_VALUE_LENGTH_ZERO);
	assert_int_equal(info->chosen_table->strings[1].anomalies, 0);
	assert_string_equal(pe_version_lookup(info, "ProductName"), "rport");
	assert_int_equal(info->anomalies & PE_ANOMALY_DAMAGE, 0);
	pe_version_free(info);
}

static void test_value_length_variants(void **state)
{
	(void)state;
	/* 11 characters: 12 (with NUL) and 11 are both fine; 3 and 24 are not. */
	const struct {
		uint16_t value_length;
		uint32_t anomalies;
	} cases[] = {
		{12, 0},
		{11, 0},
		{3, PE_ANOMALY_STRING_VALUE_LENGTH_MISMATCH},
		{24, PE_ANOMALY_STRING_VALUE_LENGTH_MISMATCH},
		{0xffff, PE_ANOMALY_STRING_VALUE_LENGTH_MISMATCH},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pe_version_info *info = company_with_length(cases[i].value_length);

		assert_string_equal(pe_version_lookup(info, "CompanyName"), "RealVNC Ltd");
		assert_int_equal(info->chosen_table->strings[0].anomalies, cases[i].anomalies);
		pe_version_free(info);
	}
}

static void test_non_ascii_and_unpaired_surrogate(void **state)
{
	(void)state;
	const uint16_t value[] = {'D', 'W', 'S', 'N', 'E', 'T', ' ', 'O', 0x00dc, ' ', 0xd83d, 0};
	struct open_blob blob = blob_begin("040904b0");
	size_t node = vs_open(&writer, "CompanyName", 12, 1);

	vs_units(&writer, value, 12);
	vs_close(&writer, node);
	blob_end(blob, true);
	struct pe_version_info *info = read_ok(image, build_one(true, 0x0409));

	assert_string_equal(pe_version_lookup(info, "CompanyName"), "DWSNET O\xc3\x9c \xef\xbf\xbd");
	assert_int_equal(info->anomalies, PE_ANOMALY_UNPAIRED_SURROGATE);
	pe_version_free(info);
}

/* Leaves with their languages, each a simple blob whose CompanyName names the language. */
static struct pe_version_info *read_leaves(const uint16_t *names, const uint16_t *languages,
					   size_t count)
{
	static struct vs_writer blobs[8];
	struct pe_leaf leaves[8];

	for (size_t i = 0; i < count; i++) {
		char company[16];

		snprintf(company, sizeof(company), "lang-%04x", languages[i]);
		vs_simple(&blobs[i], "040904b0", company, "p", 0x0409, 0x04b0);
		leaves[i] = (struct pe_leaf){names[i], languages[i], blobs[i].data, blobs[i].size};
	}
	return read_ok(image, pe_build(image, IMAGE_CAPACITY, true, leaves, count));
}

static void test_leaf_choice(void **state)
{
	(void)state;
	const struct {
		uint16_t names[3];
		uint16_t languages[3];
		size_t count;
		const char *company;
		bool not_id_1;
	} cases[] = {
		{{1, 1, 1}, {0x0407, 0x0409, 0x0411}, 3, "lang-0409", false},
		{{1, 1, 1}, {0x0407, 0x0409, 0x0000}, 3, "lang-0000", false},
		{{1, 1, 1}, {0x0407, 0x0009, 0x0411}, 3, "lang-0009", false},
		{{1, 1, 0}, {0x0411, 0x0407, 0}, 2, "lang-0411", false},
		{{2, 1, 0}, {0x0409, 0x0407, 0}, 2, "lang-0407", false},  /* name 1 wins */
		{{2, 2, 0}, {0x0411, 0x0409, 0}, 2, "lang-0409", true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pe_version_info *info = read_leaves(cases[i].names, cases[i].languages,
							   cases[i].count);

		assert_int_equal(info->resource_count, cases[i].count);
		assert_string_equal(pe_version_lookup(info, "CompanyName"), cases[i].company);
		assert_int_equal((info->anomalies & PE_ANOMALY_NOT_ID_1) != 0, cases[i].not_id_1);
		pe_version_free(info);
	}
}

/* Tables t1, t2 (keys) with Translation pairs; returns the chosen table's key. */
static struct pe_version_info *read_tables(const char *first, const char *second,
					   const uint16_t *pairs, size_t pair_count)
{
	size_t root;
	size_t info_node;
	size_t table;

	writer.size = 0;
	root = vs_root(&writer);
	info_node = vs_open(&writer, "StringFileInfo", 0, 1);
	table = vs_open(&writer, first, 0, 1);
	vs_string(&writer, "CompanyName", first);
	vs_close(&writer, table);
	table = vs_open(&writer, second, 0, 1);
	vs_string(&writer, "CompanyName", second);
	vs_close(&writer, table);
	vs_close(&writer, info_node);
	if (pair_count > 0)
		vs_translation(&writer, "VarFileInfo", pairs, pair_count);
	vs_close(&writer, root);
	return read_ok(image, build_one(true, 0x0409));
}

static void test_table_choice_and_fallbacks(void **state)
{
	(void)state;
	const uint16_t german[] = {0x0407, 0x04b0};
	const uint16_t missing_then_german[] = {0x040c, 0x04b0, 0x0407, 0x04e4};
	const uint16_t german_other_page[] = {0x0407, 0x0000};
	const uint16_t french[] = {0x040c, 0x04b0};
	const struct {
		const char *first, *second;
		const uint16_t *pairs;
		size_t pair_count;
		const char *chosen;
		enum pe_table_choice choice;
		uint32_t anomalies;
	} cases[] = {
		{"040904b0", "040704b0", german, 1, "040704b0", PE_CHOICE_TRANSLATION, 0},
		{"040904b0", "040704e4", missing_then_german, 2, "040704e4",
		 PE_CHOICE_OTHER_TRANSLATION, PE_ANOMALY_TRANSLATION_UNMATCHED},
		{"041104b0", "040704b0", german_other_page, 1, "040704b0",
		 PE_CHOICE_TRANSLATION_LANGUAGE, PE_ANOMALY_TRANSLATION_UNMATCHED},
		{"040704b0", "040904e4", french, 1, "040904e4", PE_CHOICE_ENGLISH_DEFAULT,
		 PE_ANOMALY_TRANSLATION_UNMATCHED},
		{"040704b0", "040904b0", NULL, 0, "040904b0", PE_CHOICE_ENGLISH_DEFAULT,
		 PE_ANOMALY_NO_TRANSLATION},
		{"041104b0", "not-hex", NULL, 0, "041104b0", PE_CHOICE_FIRST_TABLE,
		 PE_ANOMALY_NO_TRANSLATION | PE_ANOMALY_TABLE_KEY},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pe_version_info *info = read_tables(cases[i].first, cases[i].second,
							   cases[i].pairs, cases[i].pair_count);

		assert_string_equal(info->chosen_table->key, cases[i].chosen);
		assert_string_equal(pe_version_lookup(info, "CompanyName"), cases[i].chosen);
		assert_int_equal(info->choice, cases[i].choice);
		assert_int_equal(info->anomalies, cases[i].anomalies);
		pe_version_free(info);
	}
}

static void test_duplicate_keys_first_wins(void **state)
{
	(void)state;
	struct open_blob blob = blob_begin("040904b0");

	vs_string(&writer, "CompanyName", "first");
	vs_string(&writer, "COMPANYNAME", "second");
	blob_end(blob, false);
	struct pe_version_info *info = read_ok(image, build_one(true, 0x0409));

	assert_string_equal(pe_version_lookup(info, "CompanyName"), "first");
	assert_int_equal(info->chosen_table->string_count, 2);
	assert_int_equal(info->chosen_table->strings[1].anomalies, PE_ANOMALY_DUPLICATE_KEY);
	pe_version_free(info);
}

/* A table whose second String claims to be longer than the table. */
static void test_child_overrun_is_clamped(void **state)
{
	(void)state;
	struct open_blob blob = blob_begin("040904b0");

	vs_string(&writer, "CompanyName", "RealVNC Ltd");
	size_t product = writer.size;
	vs_string(&writer, "ProductName", "rport");
	blob_end(blob, false);
	put16(writer.data + product, 0xfff0);
	struct pe_version_info *info = read_ok(image, build_one(true, 0x0409));

	assert_string_equal(pe_version_lookup(info, "CompanyName"), "RealVNC Ltd");
	assert_string_equal(pe_version_lookup(info, "ProductName"), "rport");
	assert_true(info->anomalies & PE_ANOMALY_NODE_OVERRUN);
	pe_version_free(info);
}

static void test_zero_and_short_lengths_end_iteration(void **state)
{
	(void)state;

	for (uint16_t length = 0; length < 6; length++) {
		struct open_blob blob = blob_begin("040904b0");

		vs_string(&writer, "CompanyName", "RealVNC Ltd");
		size_t product = writer.size;
		vs_string(&writer, "ProductName", "rport");
		blob_end(blob, false);
		put16(writer.data + product, length);
		struct pe_version_info *info = read_ok(image, build_one(true, 0x0409));

		assert_string_equal(pe_version_lookup(info, "CompanyName"), "RealVNC Ltd");
		assert_null(pe_version_lookup(info, "ProductName"));
		assert_int_equal((info->anomalies & PE_ANOMALY_NODE_LENGTH) != 0, length != 0);
		pe_version_free(info);
	}
}

static void test_root_key_and_fixed_info_checks(void **state)
{
	(void)state;
	vs_simple(&writer, "040904b0", "RealVNC Ltd", "rport", 0x0409, 0x04b0);
	writer.data[6] = 'X';                      /* key "XS_VERSION_INFO" */
	put32(writer.data + 40, 0x12345678);       /* signature of VS_FIXEDFILEINFO */
	struct pe_version_info *info = read_ok(image, build_one(true, 0x0409));

	assert_string_equal(pe_version_lookup(info, "CompanyName"), "RealVNC Ltd");
	assert_false(info->chosen_resource->has_fixed);
	assert_int_equal(info->anomalies, PE_ANOMALY_ROOT_KEY | PE_ANOMALY_FIXED_INFO);
	pe_version_free(info);
}

/* Every prefix of a valid file: no crash, and each result is coherent. */
static void test_truncation_at_every_length(void **state)
{
	(void)state;
	size_t size = rport_image(true);
	size_t blob_end = PE_BUILDER_RSRC_OFFSET + 0x58 + writer.size;

	for (size_t length = 0; length <= size; length++) {
		struct pe_version_info *info = NULL;
		struct parse_error error = {0};
		int result = pe_version_read_buffer(image, length, &info, &error);

		if (result < 0) {
			assert_null(info);
			assert_true(error.message[0] != '\0');
			assert_true(result == -ENOEXEC || result == -EBADMSG);
			continue;
		}
		if (length >= blob_end)
			assert_string_equal(pe_version_lookup(info, "CompanyName"), "RealVNC Ltd");
		else
			assert_true(info->anomalies & PE_ANOMALY_DAMAGE);
		pe_version_free(info);
	}
}

/* Random byte changes over a valid file (fixed seed): nothing may crash. */
static void test_mutations_never_crash(void **state)
{
	(void)state;
	static unsigned char mutated[IMAGE_CAPACITY];
	uint32_t random = 12345;

	size_t size = rport_image(true);
	for (int round = 0; round < 20000; round++) {
		memcpy(mutated, image, size);
		for (int change = 0; change < 4; change++) {
			random = random * 1103515245u + 12345u;
			size_t at = PE_BUILDER_RSRC_OFFSET + (random >> 8) % (size - PE_BUILDER_RSRC_OFFSET);
			random = random * 1103515245u + 12345u;
			mutated[at] = (unsigned char)(random >> 16);
		}
		struct pe_version_info *info = NULL;
		if (pe_version_read_buffer(mutated, size, &info, NULL) == 0)
			pe_version_free(info);
	}
}

/* Write the resource tree fields by hand on top of a built image. */
static size_t loop_image(uint32_t name_target)
{
	size_t size = rport_image(true);

	/* name directory at 24, its first entry's target at 24 + 16 + 4 */
	put32(image + PE_BUILDER_RSRC_OFFSET + 24 + 16 + 4, name_target);
	return size;
}

static void test_loops_are_cut(void **state)
{
	(void)state;
	const uint32_t targets[] = {0x80000000u, 0x80000000u | 24};

	for (size_t i = 0; i < 2; i++) {
		struct pe_version_info *info = read_ok(image, loop_image(targets[i]));

		assert_int_equal(info->resource_count, 0);
		assert_true(info->anomalies & PE_ANOMALY_RESOURCE_LOOP);
		pe_version_free(info);
	}
}

static void test_leaf_where_directory_belongs(void **state)
{
	(void)state;
	size_t size = rport_image(true);
	/* language entry (dir at 48, entry at 64) made a "directory" */
	put32(image + PE_BUILDER_RSRC_OFFSET + 48 + 16 + 4, 0x80000000u | 24);
	struct pe_version_info *info = read_ok(image, size);

	assert_int_equal(info->resource_count, 0);
	assert_true(info->anomalies & PE_ANOMALY_RESOURCE_SHAPE);
	pe_version_free(info);
}

static void test_out_of_bounds_offsets(void **state)
{
	(void)state;
	size_t size = rport_image(true);
	unsigned char *data_entry = image + PE_BUILDER_RSRC_OFFSET + 48 + 16 + 8;

	put32(data_entry, 0x7ffff000);       /* blob RVA in no section */
	struct pe_version_info *info = read_ok(image, size);
	assert_int_equal(info->resource_count, 1);
	assert_false(pe_version_lookup(info, "CompanyName"));
	assert_true(info->anomalies & PE_ANOMALY_RESOURCE_OUT_OF_BOUNDS);
	pe_version_free(info);

	put32(data_entry, PE_BUILDER_RSRC_RVA + 0x58);
	put32(data_entry + 4, 0x00ffffff);    /* blob larger than 64 KiB and the file */
	info = read_ok(image, size);
	assert_string_equal(pe_version_lookup(info, "CompanyName"), "RealVNC Ltd");
	assert_true(info->anomalies & PE_ANOMALY_BLOB_SIZE);
	assert_true(info->anomalies & PE_ANOMALY_TRUNCATED);
	pe_version_free(info);
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/*
 * A name directory claiming 131070 entries (8192 written), all pointing to
 * one language directory of 4096 entries, each to the same data entry: the
 * walk must stay within its caps (entries, leaves, parsed leaves, memory).
 */
static void test_huge_tree_is_capped(void **state)
{
	(void)state;
	static unsigned char huge[IMAGE_CAPACITY];
	unsigned char *rsrc = huge + PE_BUILDER_RSRC_OFFSET;
	struct timespec start;

	vs_simple(&writer, "040904b0", "RealVNC Ltd", "rport", 0x0409, 0x04b0);
	pe_build(huge, IMAGE_CAPACITY, true, &(struct pe_leaf){1, 0x0409, writer.data, writer.size}, 1);
	/* Rebuild the tree: name dir at 24 with 0xffff + 0xffff entries. */
	size_t names = 24;
	size_t languages = names + 16 + 8 * 8192;
	size_t data_entry = languages + 16 + 8 * 4096;
	size_t blob = data_entry + 16;
	put16(rsrc + names + 12, 0xffff);
	put16(rsrc + names + 14, 0xffff);
	for (size_t i = 0; i < 8192; i++) {
		put32(rsrc + names + 16 + 8 * i, (uint32_t)i);
		put32(rsrc + names + 16 + 8 * i + 4, 0x80000000u | (uint32_t)languages);
	}
	put16(rsrc + languages + 14, 4096);
	for (size_t i = 0; i < 4096; i++) {
		put32(rsrc + languages + 16 + 8 * i, (uint32_t)i);
		put32(rsrc + languages + 16 + 8 * i + 4, (uint32_t)data_entry);
	}
	put32(rsrc + data_entry, PE_BUILDER_RSRC_RVA + (uint32_t)blob);
	put32(rsrc + data_entry + 4, (uint32_t)writer.size);
	memcpy(rsrc + blob, writer.data, writer.size);
	size_t rsrc_size = blob + writer.size;
	unsigned char *section = huge + 0x40 + 24 + 240;
	put32(section + 8, (uint32_t)rsrc_size);
	put32(section + 16, (uint32_t)((rsrc_size + 0x1ff) & ~(size_t)0x1ff));
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct pe_version_info *info = read_ok(huge, PE_BUILDER_RSRC_OFFSET + ((rsrc_size + 0x1ff) & ~(size_t)0x1ff));

	assert_int_equal(info->resource_count, PE_RESOURCE_MAX_LEAVES);
	assert_true(info->anomalies & PE_ANOMALY_RESOURCE_LIMIT);
	size_t parsed = 0;
	for (size_t i = 0; i < info->resource_count; i++)
		parsed += info->resources[i].parsed;
	assert_int_equal(parsed, PE_VERSION_MAX_PARSED);
	assert_true(info->arena.used <= PE_VERSION_MEMORY_BUDGET);
	/* Language 0 is in the first directory: Windows' neutral choice. */
	assert_int_equal(info->chosen_resource->leaf.language, 0);
	assert_string_equal(pe_version_lookup(info, "CompanyName"), "RealVNC Ltd");
	/* Not a timing test: a sanity bound far above the real cost (ms). */
	assert_true(seconds_since(&start) < 30.0);
	pe_version_free(info);
}

static void test_not_pe_and_broken_headers(void **state)
{
	(void)state;
	struct pe_version_info *info = (struct pe_version_info *)1;
	struct parse_error error = {0};

	assert_int_equal(pe_version_read_buffer("MZ", 2, &info, &error), -ENOEXEC);
	assert_null(info);
	assert_string_equal(error.message, "not a PE file (no MZ/PE signature)");
	assert_int_equal(pe_version_read_buffer("\177ELF", 4, &info, NULL), -ENOEXEC);
	assert_int_equal(pe_version_read_buffer(NULL, 0, &info, NULL), -ENOEXEC);

	size_t size = rport_image(true);
	put32(image + 0x3c, 0x7ffffff0);      /* e_lfanew past the end */
	assert_int_equal(pe_version_read_buffer(image, size, &info, NULL), -ENOEXEC);
	put32(image + 0x3c, 0x40);
	put16(image + 0x46, 0xffff);          /* 65535 sections: table past the end */
	parse_error_clear(&error);
	assert_int_equal(pe_version_read_buffer(image, size, &info, &error), -EBADMSG);
	assert_non_null(strstr(error.message, "section table"));
}

static void test_fd_matches_buffer(void **state)
{
	(void)state;
	size_t size = rport_image(false);
	int fd = memfd_create("pe", 0);
	struct pe_version_info *info = NULL;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, image, size), (ssize_t)size);
	assert_int_equal(pe_version_read_fd(fd, &info, NULL), 0);
	assert_string_equal(pe_version_lookup(info, "CompanyName"), "RealVNC Ltd");
	assert_int_equal(lseek(fd, 0, SEEK_CUR), (off_t)size);  /* offset untouched */
	pe_version_free(info);
	assert_int_equal(ftruncate(fd, 0x400 + 0x60), 0);          /* cut inside the tree */
	assert_int_equal(pe_version_read_fd(fd, &info, NULL), 0);
	assert_true(info->anomalies & PE_ANOMALY_DAMAGE);
	pe_version_free(info);
	close(fd);
}

static void test_anomaly_names(void **state)
{
	(void)state;
	uint32_t bits = PE_ANOMALY_STRING_VALUE_LENGTH_ZERO | PE_ANOMALY_RESOURCE_LOOP | (1u << 30);

	assert_string_equal(pe_anomaly_next(&bits), "string_value_length_zero");
	assert_string_equal(pe_anomaly_next(&bits), "resource_loop");
	assert_null(pe_anomaly_next(&bits));
	assert_int_equal(bits, 0);
}

/* --write-seeds DIR: the images above as fuzzing seeds. */
static int write_seed(const char *directory, const char *name, size_t size)
{
	char path[4096];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", directory, name);
	file = fopen(path, "wb");
	if (!file || fwrite(image, 1, size, file) != size) {
		perror(path);
		return 1;
	}
	return fclose(file) != 0;
}

static int write_seeds(const char *directory)
{
	static const uint16_t names[] = {1, 1, 1};
	static const uint16_t languages[] = {0x0407, 0x0409, 0x0411};
	int failures = 0;
	struct pe_version_info *info;

	vs_simple(&writer, "040904b0", "RealVNC Ltd", "rport", 0x0409, 0x04b0);
	failures += write_seed(directory, "simple-pe32plus", build_one(true, 0x0409));
	failures += write_seed(directory, "simple-pe32", build_one(false, 0x0409));
	info = company_with_length(0);
	pe_version_free(info);
	failures += write_seed(directory, "zero-value-length", build_one(true, 0x0409));
	info = read_leaves(names, languages, 3);
	pe_version_free(info);
	failures += write_seed(directory, "three-languages",
			       pe_build(image, IMAGE_CAPACITY, true,
					(struct pe_leaf[]){{1, 0x0407, writer.data, writer.size},
							   {1, 0x0409, writer.data, writer.size}},
					2));
	failures += write_seed(directory, "loop", loop_image(0x80000000u));
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_pe32_plus),
		cmocka_unit_test(test_simple_pe32),
		cmocka_unit_test(test_any_order_and_case),
		cmocka_unit_test(test_value_length_zero_is_read_and_flagged),
		cmocka_unit_test(test_value_length_variants),
		cmocka_unit_test(test_non_ascii_and_unpaired_surrogate),
		cmocka_unit_test(test_leaf_choice),
		cmocka_unit_test(test_table_choice_and_fallbacks),
		cmocka_unit_test(test_duplicate_keys_first_wins),
		cmocka_unit_test(test_child_overrun_is_clamped),
		cmocka_unit_test(test_zero_and_short_lengths_end_iteration),
		cmocka_unit_test(test_root_key_and_fixed_info_checks),
		cmocka_unit_test(test_truncation_at_every_length),
		cmocka_unit_test(test_mutations_never_crash),
		cmocka_unit_test(test_loops_are_cut),
		cmocka_unit_test(test_leaf_where_directory_belongs),
		cmocka_unit_test(test_out_of_bounds_offsets),
		cmocka_unit_test(test_huge_tree_is_capped),
		cmocka_unit_test(test_not_pe_and_broken_headers),
		cmocka_unit_test(test_fd_matches_buffer),
		cmocka_unit_test(test_anomaly_names),
	};

	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		return write_seeds(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
