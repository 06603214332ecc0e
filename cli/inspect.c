/*
 * inspect.c - `rmmhunt inspect [--json] FILE...`: what the sensor derives
 * from a file.
 *
 * For each file: its type, size, SHA-1/SHA-256/MD5 (filehash.h), and its
 * identity (binident.h): PE version info (every table, the one chosen for
 * the ProcessVersionInfo* columns, fixed versions, anomalies), ELF facts
 * (build-id, package note, Go build info), the owning Debian package, and
 * the AdditionalFields the agent would record.  Human-readable by default;
 * --json prints one JSON object per file, one per line.
 *
 * A file that cannot be opened or read, or whose structure is damaged, gets
 * a message on stderr naming it and the reason; the other files are still
 * processed and the exit status is 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "binident/binident.h"
#include "binident/binident_json.h"
#include "base/log.h"
#include "commands.h"
#include "binident/filehash.h"
#include "base/strbuf.h"
#include "base/text.h"

struct inspect_options {
	bool as_json;
	bool hashes;
	struct dpkg_index *dpkg;
};

static void inspect_usage(FILE *out)
{
	fprintf(out, "usage: rmmhunt inspect [--json] [--no-hashes] [--no-packages] FILE...\n"
		     "  --json         one JSON object per file, one per line\n"
		     "  --no-hashes    skip SHA-1/SHA-256/MD5 (they read the whole file)\n"
		     "  --no-packages  skip the dpkg database lookup\n");
}

static void print_table(const struct pe_string_table *table, const struct pe_version_info *info,
			uint16_t language, struct strbuf *key, struct strbuf *value)
{
	printf("    [%04x] %s%s\n", language, text_display(key, table->key),
	       table == info->chosen_table ? "  (chosen)" : "");
	for (size_t i = 0; i < table->string_count; i++) {
		const struct pe_version_string *string = &table->strings[i];
		uint32_t bits = string->anomalies;
		const char *name;

		printf("      %-20s %s", text_display(key, string->key),
		       text_display(value, string->value));
		while ((name = pe_anomaly_next(&bits)) != NULL)
			printf("  [%s]", name);
		printf("\n");
	}
}

static void print_anomalies(const char *label, uint32_t bits)
{
	const char *name;

	if (!bits)
		return;
	printf("  %-16s", label);
	while ((name = pe_anomaly_next(&bits)) != NULL)
		printf(" %s", name);
	printf("\n");
}

static void print_pe(const struct binary_identity *identity, struct strbuf *first,
		     struct strbuf *second)
{
	const struct pe_version_info *info = identity->pe;
	const struct pe_version_resource *chosen = info->chosen_resource;
	const char *machine = pe_machine_name(info->machine);

	printf("  %-16s %s, subsystem %u%s\n", "machine", machine ? machine : "other",
	       info->subsystem, info->characteristics & 0x2000 ? ", DLL" : "");
	if (!chosen) {
		printf("  %-16s none\n", "version info");
		print_anomalies("anomalies", info->anomalies);
		return;
	}
	printf("  %-16s language 0x%04x, table %s (%s)\n", "version info", chosen->leaf.language,
	       text_display(first, info->chosen_table ? info->chosen_table->key : "none"),
	       pe_table_choice_name(info->choice));
	for (int field = 0; field < VERSION_FIELD_COUNT; field++)
		printf("    %-36s %s\n",
		       dpe_schema.columns[version_fields[field].process_column].name,
		       text_display(first, binident_version_field(identity, field)));
	if (chosen->has_fixed) {
		char file_version[24];
		char product_version[24];

		pe_version_format(chosen->fixed.file_version_ms, chosen->fixed.file_version_ls,
				  file_version);
		pe_version_format(chosen->fixed.product_version_ms,
				  chosen->fixed.product_version_ls, product_version);
		printf("  %-16s file %s, product %s\n", "fixed versions", file_version,
		       product_version);
	}
	printf("  tables\n");
	for (size_t r = 0; r < info->resource_count; r++) {
		const struct pe_version_resource *resource = &info->resources[r];

		for (size_t t = 0; t < resource->table_count; t++)
			print_table(&resource->tables[t], info, resource->leaf.language, first,
				    second);
	}
	print_anomalies("anomalies", info->anomalies);
}

static void print_elf(const struct elf_facts *facts, struct strbuf *first,
		      struct strbuf *second)
{
	const char *machine = elf_machine_name(facts->machine);

	printf("  %-16s %u-bit %s%s%s\n", "elf", facts->elf_class, machine ? machine : "other",
	       facts->interpreter ? ", interpreter " : ", static",
	       text_display(first, facts->interpreter ? facts->interpreter : ""));
	if (facts->build_id)
		printf("  %-16s %s\n", "build id", text_display(first, facts->build_id));
	if (facts->package_note)
		printf("  %-16s %s\n", "package note", text_display(first, facts->package_note));
	if (facts->go) {
		const char *revision = go_buildinfo_setting(facts->go, "vcs.revision");

		printf("  %-16s %s, main package %s\n", "go",
		       text_display(first, facts->go->go_version),
		       text_display(second, facts->go->main_package));
		printf("  %-16s %s %s\n", "go module", text_display(first, facts->go->module_path),
		       text_display(second, facts->go->module_version));
		if (revision)
			printf("  %-16s %s\n", "go vcs revision", text_display(first, revision));
	}
	if (facts->go_error.code != 0)
		printf("  %-16s %s\n", "go build info", text_display(first, facts->go_error.message));
}

/* Human-readable: every text from the file (or its name) escaped, so a
 * crafted string cannot drive the terminal or forge a line (base/text.h). */
static void print_human(const char *path, const struct binary_identity *identity,
			const struct file_hashes *hashes)
{
	struct strbuf first, second;

	strbuf_init(&first);
	strbuf_init(&second);
	printf("%s\n", text_display(&first, path));
	printf("  %-16s %s%s\n", "type", file_type_name(identity->file_type.type),
	       identity->file_type.mz_without_pe ? " (MS-DOS MZ, no PE header)" : "");
	printf("  %-16s %llu\n", "size", (unsigned long long)identity->size);
	if (hashes) {
		printf("  %-16s %s\n", "sha1", hashes->sha1);
		printf("  %-16s %s\n", "sha256", hashes->sha256);
		printf("  %-16s %s\n", "md5", hashes->md5);
	}
	if (identity->file_type.type == FILE_TYPE_SCRIPT)
		printf("  %-16s %s %s\n", "interpreter",
		       text_display(&first, identity->file_type.interpreter),
		       text_display(&second, identity->file_type.interpreter_argument));
	if (identity->pe)
		print_pe(identity, &first, &second);
	if (identity->elf)
		print_elf(identity->elf, &first, &second);
	for (size_t i = 0; i < identity->owner_count; i++)
		printf("  %-16s %s %s\n", "package",
		       text_display(&first, identity->owners[i].package),
		       text_display(&second, identity->owners[i].version));
	printf("\n");
	strbuf_free(&first);
	strbuf_free(&second);
}

static void print_json(const char *path, const struct binary_identity *identity,
		       const struct file_hashes *hashes)
{
	json_t *details = binident_to_json(identity);
	json_t *object = json_object();
	char *text;

	if (!details || !object) {
		json_decref(details);
		json_decref(object);
		return;
	}
	/* path, type, size, hashes first; then the rest in binident_to_json's order. */
	json_object_set_new(object, "path", json_text(path));
	json_object_set(object, "type", json_object_get(details, "type"));
	json_object_set(object, "size", json_object_get(details, "size"));
	if (hashes) {
		json_object_set_new(object, "sha1", json_string(hashes->sha1));
		json_object_set_new(object, "sha256", json_string(hashes->sha256));
		json_object_set_new(object, "md5", json_string(hashes->md5));
	}
	json_object_update(object, details);
	json_decref(details);
	text = json_dumps(object, JSON_COMPACT);
	if (text) {
		struct strbuf safe;

		/* C1 and bidi controls as \uXXXX: the same JSON, safe to cat */
		strbuf_init(&safe);
		text_append_safe(&safe, text, strlen(text), TEXT_ESCAPE_JSON_TEXT);
		printf("%s\n", strbuf_text(&safe));
		strbuf_free(&safe);
	}
	free(text);
	json_decref(object);
}

/* Inspect one file; false when it failed (the reason is logged). */
static bool inspect_file(const char *path, const struct inspect_options *options)
{
	struct binary_identity identity;
	struct file_hashes hashes;
	char real_path[PATH_MAX];
	struct binident_options identity_options = {options->dpkg, NULL};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int result;

	if (fd < 0) {
		log_error("%s: %s", path, strerror(errno));
		return false;
	}
	if (options->dpkg && realpath(path, real_path))
		identity_options.path = real_path;
	result = binident_inspect_fd(fd, &identity_options, &identity);
	if (result == 0 && options->hashes)
		result = filehash_fd(fd, 0, &hashes);
	close(fd);
	if (result < 0) {
		log_error("%s: %s", path, strerror(-result));
		binident_release(&identity);
		return false;
	}
	if (options->as_json)
		print_json(path, &identity, options->hashes ? &hashes : NULL);
	else
		print_human(path, &identity, options->hashes ? &hashes : NULL);
	bool damaged = binident_damaged(&identity);
	if (damaged)
		log_error("%s: malformed %s: %s", path,
			  file_type_name(identity.file_type.type), binident_damage_reason(&identity));
	binident_release(&identity);
	return !damaged;
}

int command_inspect(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"json", no_argument, NULL, 'j'},
		{"no-hashes", no_argument, NULL, 'H'},
		{"no-packages", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct inspect_options options = {.hashes = true};
	bool packages = true;
	bool all_ok = true;
	int option;

	while ((option = getopt_long(argc, argv, "jh", long_options, NULL)) != -1) {
		switch (option) {
		case 'j':
			options.as_json = true;
			break;
		case 'H':
			options.hashes = false;
			break;
		case 'P':
			packages = false;
			break;
		case 'h':
			inspect_usage(stdout);
			return 0;
		default:
			inspect_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		inspect_usage(stderr);
		return 2;
	}
	if (packages && dpkg_index_open("/", &options.dpkg) < 0)
		options.dpkg = NULL;
	for (int i = optind; i < argc; i++) {
		if (!inspect_file(argv[i], &options))
			all_ok = false;
	}
	dpkg_index_close(options.dpkg);
	return all_ok ? 0 : 1;
}
