/*
 * binident_json.c - the JSON views of a binary's identity (see
 * binident_json.h).
 *
 * PE strings are valid UTF-8 by construction (utf16.h); strings from ELF
 * notes and Go build info are bytes from the file and go through
 * json_text(), which repairs invalid UTF-8 rather than dropping the value.
 */
#include <stdlib.h>
#include <string.h>

#include "binident/binident_json.h"
#include "base/strbuf.h"
#include "base/text.h"

/* Length of the valid UTF-8 sequence at text, or 0 when invalid. */
json_t *json_text(const char *text)
{
	struct strbuf repaired;
	json_t *string;

	if (!text)
		return json_string("");
	string = json_string(text);
	if (string)
		return string;
	strbuf_init(&repaired);
	text_append_lossy(&repaired, text, strlen(text));
	string = repaired.failed ? NULL : json_string(strbuf_text(&repaired));
	strbuf_free(&repaired);
	return string;
}

static json_t *anomaly_list(uint32_t bits)
{
	json_t *list = json_array();
	const char *name;

	while (list && (name = pe_anomaly_next(&bits)) != NULL)
		json_array_append_new(list, json_string(name));
	return list;
}

static json_t *version_string(uint32_t most, uint32_t least)
{
	char text[24];

	pe_version_format(most, least, text);
	return json_string(text);
}

/* A table's strings as an object; the first of duplicate keys wins, as in Windows. */
static json_t *table_strings(const struct pe_string_table *table)
{
	json_t *strings = json_object();

	for (size_t i = 0; strings && table && i < table->string_count; i++) {
		const struct pe_version_string *string = &table->strings[i];

		if (!json_object_get(strings, string->key))
			json_object_set_new(strings, string->key, json_string(string->value));
	}
	return strings;
}

static json_t *table_json(const struct pe_string_table *table)
{
	json_t *object = json_object();
	json_t *string_anomalies = json_object();

	for (size_t i = 0; i < table->string_count; i++) {
		const struct pe_version_string *string = &table->strings[i];

		if (string->anomalies && !json_object_get(string_anomalies, string->key))
			json_object_set_new(string_anomalies, string->key,
					    anomaly_list(string->anomalies));
	}
	json_object_set_new(object, "key", json_string(table->key));
	json_object_set_new(object, "strings", table_strings(table));
	if (json_object_size(string_anomalies) > 0)
		json_object_set_new(object, "string_anomalies", string_anomalies);
	else
		json_decref(string_anomalies);
	if (!table->in_first_block)
		json_object_set_new(object, "in_first_block", json_false());
	return object;
}

static json_t *translation_list(const struct pe_version_resource *resource)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < resource->translation_count; i++) {
		char key[9];

		snprintf(key, sizeof(key), "%04x%04x", resource->translations[i].language,
			 resource->translations[i].code_page);
		json_array_append_new(list, json_string(key));
	}
	return list;
}

static json_t *fixed_json(const struct pe_fixed_file_info *fixed)
{
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "file_version", version_string(fixed->file_version_ms, fixed->file_version_ls),
			 "product_version",
			 version_string(fixed->product_version_ms, fixed->product_version_ls),
			 "file_flags_mask", (json_int_t)fixed->file_flags_mask,
			 "file_flags", (json_int_t)fixed->file_flags,
			 "file_os", (json_int_t)fixed->file_os,
			 "file_type", (json_int_t)fixed->file_type,
			 "file_subtype", (json_int_t)fixed->file_subtype,
			 "file_date", (json_int_t)((uint64_t)fixed->file_date_ms << 32 |
						    fixed->file_date_ls));
}

static json_t *resource_json(const struct pe_version_resource *resource)
{
	json_t *object = json_object();
	json_t *tables = json_array();

	if (resource->leaf.named)
		json_object_set_new(object, "name_offset", json_integer(resource->leaf.name));
	else
		json_object_set_new(object, "name", json_integer(resource->leaf.name));
	json_object_set_new(object, "language", json_integer(resource->leaf.language));
	json_object_set_new(object, "code_page", json_integer(resource->leaf.code_page));
	json_object_set_new(object, "size", json_integer(resource->leaf.data_size));
	json_object_set_new(object, "parsed", json_boolean(resource->parsed));
	if (resource->has_fixed)
		json_object_set_new(object, "fixed", fixed_json(&resource->fixed));
	json_object_set_new(object, "translations", translation_list(resource));
	for (size_t i = 0; i < resource->table_count; i++)
		json_array_append_new(tables, table_json(&resource->tables[i]));
	json_object_set_new(object, "tables", tables);
	json_object_set_new(object, "anomalies", anomaly_list(resource->anomalies));
	return object;
}

static json_t *pe_json(const struct pe_version_info *info)
{
	json_t *object = json_object();
	json_t *resources = json_array();
	const char *machine = pe_machine_name(info->machine);

	json_object_set_new(object, "machine", machine ? json_string(machine) :
			    json_integer(info->machine));
	json_object_set_new(object, "subsystem", json_integer(info->subsystem));
	json_object_set_new(object, "dll", json_boolean(info->characteristics & 0x2000));
	for (size_t i = 0; i < info->resource_count; i++)
		json_array_append_new(resources, resource_json(&info->resources[i]));
	json_object_set_new(object, "version_resources", resources);
	if (info->chosen_resource) {
		json_t *chosen = json_object();

		json_object_set_new(chosen, "resource",
				    json_integer(info->chosen_resource - info->resources));
		json_object_set_new(chosen, "language",
				    json_integer(info->chosen_resource->leaf.language));
		if (info->chosen_table)
			json_object_set_new(chosen, "table", json_string(info->chosen_table->key));
		json_object_set_new(chosen, "choice", json_string(pe_table_choice_name(info->choice)));
		json_object_set_new(object, "chosen", chosen);
	}
	json_object_set_new(object, "anomalies", anomaly_list(info->anomalies));
	return object;
}

static json_t *go_json(const struct go_buildinfo *go)
{
	json_t *settings = json_object();

	for (size_t i = 0; i < go->setting_count; i++)
		json_object_set_new(settings, go->settings[i].key, json_text(go->settings[i].value));
	return json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:I, s:o}",
			 "version", json_text(go->go_version),
			 "format", go->inline_format ? "inline" : "pointer",
			 "main_package", json_text(go->main_package),
			 "module_path", json_text(go->module_path),
			 "module_version", json_text(go->module_version),
			 "module_sum", json_text(go->module_sum),
			 "dependency_count", (json_int_t)go->dependency_count,
			 "settings", settings);
}

/* The package note as an object when it is valid JSON, else as its text. */
static json_t *package_note_json(const char *text)
{
	json_t *note = json_loads(text, JSON_REJECT_DUPLICATES, NULL);

	if (note && json_is_object(note))
		return note;
	json_decref(note);
	return json_text(text);
}

static const char *elf_type_name(uint16_t type)
{
	switch (type) {
	case 1:
		return "REL";
	case 2:
		return "EXEC";
	case 3:
		return "DYN";
	case 4:
		return "CORE";
	default:
		return "other";
	}
}

static json_t *elf_json(const struct elf_facts *facts)
{
	json_t *object = json_object();
	const char *machine = elf_machine_name(facts->machine);

	json_object_set_new(object, "class", json_integer(facts->elf_class));
	json_object_set_new(object, "machine", machine ? json_string(machine) :
			    json_integer(facts->machine));
	json_object_set_new(object, "type", json_string(elf_type_name(facts->type)));
	if (facts->interpreter)
		json_object_set_new(object, "interpreter", json_text(facts->interpreter));
	if (facts->build_id)
		json_object_set_new(object, "build_id", json_string(facts->build_id));
	if (facts->package_note)
		json_object_set_new(object, "package_note", package_note_json(facts->package_note));
	if (facts->go)
		json_object_set_new(object, "go", go_json(facts->go));
	if (facts->go_error.code != 0)
		json_object_set_new(object, "go_error", json_string(facts->go_error.message));
	return object;
}

static json_t *owners_json(const struct binary_identity *identity)
{
	json_t *list = json_array();

	for (size_t i = 0; i < identity->owner_count; i++)
		json_array_append_new(list, json_pack("{s:s, s:s}",
						       "package", identity->owners[i].package,
						       "version", identity->owners[i].version));
	return list;
}

static json_t *version_columns(const struct binary_identity *identity)
{
	json_t *columns = json_object();

	for (int field = 0; field < VERSION_FIELD_COUNT; field++) {
		enum dpe_column column = version_fields[field].process_column;

		json_object_set_new(columns, dpe_schema.columns[column].name,
				    json_string(binident_version_field(identity, field)));
	}
	return columns;
}

/*
 * The strings object of table t of resource r: taken from the inspect view
 * pe_view when there is one (shared, not built twice), else built.
 */
static json_t *shared_table_strings(const struct pe_version_info *info, json_t *pe_view,
				    size_t r, size_t t)
{
	json_t *resource = json_array_get(json_object_get(pe_view, "version_resources"), r);
	json_t *strings = json_object_get(json_array_get(json_object_get(resource, "tables"), t),
					  "strings");

	if (strings)
		return json_incref(strings);
	return table_strings(&info->resources[r].tables[t]);
}

static void add_pe_fields(json_t *fields, const struct pe_version_info *info, json_t *pe_view)
{
	const struct pe_version_resource *chosen = info->chosen_resource;
	json_t *others = json_array();
	size_t omitted = 0;

	json_object_set_new(fields, "PeMachine", json_string(pe_machine_name(info->machine) ?
							     pe_machine_name(info->machine) : "other"));
	if (!chosen) {
		json_decref(others);
		return;
	}
	if (chosen->has_fixed) {
		json_object_set_new(fields, "PeFileVersion",
				    version_string(chosen->fixed.file_version_ms,
						   chosen->fixed.file_version_ls));
		json_object_set_new(fields, "PeProductVersion",
				    version_string(chosen->fixed.product_version_ms,
						   chosen->fixed.product_version_ls));
	}
	json_object_set_new(fields, "PeVersionLanguage", json_integer(chosen->leaf.language));
	json_object_set_new(fields, "PeVersionChoice",
			    json_string(pe_table_choice_name(info->choice)));
	if (info->chosen_table)
		json_object_set_new(fields, "PeVersionTable", json_string(info->chosen_table->key));
	for (size_t r = 0; r < info->resource_count; r++) {
		const struct pe_version_resource *resource = &info->resources[r];

		for (size_t t = 0; t < resource->table_count; t++) {
			const struct pe_string_table *table = &resource->tables[t];

			if (table == info->chosen_table) {
				json_object_set_new(fields, "PeVersionStrings",
						    shared_table_strings(info, pe_view, r, t));
				continue;
			}
			if (json_array_size(others) == BINIDENT_MAX_OTHER_TABLES) {
				omitted++;
				continue;
			}
			json_array_append_new(others, json_pack("{s:i, s:s, s:o}",
								"language", resource->leaf.language,
								"table", table->key,
								"strings", shared_table_strings(info, pe_view, r, t)));
		}
	}
	if (json_array_size(others) > 0)
		json_object_set_new(fields, "PeVersionOtherTables", others);
	else
		json_decref(others);
	if (omitted)
		json_object_set_new(fields, "PeVersionOtherTablesOmitted", json_integer((json_int_t)omitted));
	if (info->anomalies)
		json_object_set_new(fields, "PeVersionAnomalies", anomaly_list(info->anomalies));
}

static void add_go_fields(json_t *fields, const struct go_buildinfo *go)
{
	static const struct {
		const char *setting;
		const char *key;
	} vcs[] = {
		{"vcs", "GoVcs"},
		{"vcs.revision", "GoVcsRevision"},
		{"vcs.time", "GoVcsTime"},
		{"vcs.modified", "GoVcsModified"},
	};

	json_object_set_new(fields, "GoVersion", json_text(go->go_version));
	json_object_set_new(fields, "GoMainPackage", json_text(go->main_package));
	json_object_set_new(fields, "GoModulePath", json_text(go->module_path));
	json_object_set_new(fields, "GoModuleVersion", json_text(go->module_version));
	for (size_t i = 0; i < sizeof(vcs) / sizeof(vcs[0]); i++) {
		const char *value = go_buildinfo_setting(go, vcs[i].setting);

		if (value)
			json_object_set_new(fields, vcs[i].key, json_text(value));
	}
}

static void add_elf_fields(json_t *fields, const struct elf_facts *facts)
{
	const char *machine = elf_machine_name(facts->machine);

	json_object_set_new(fields, "ElfMachine", json_string(machine ? machine : "other"));
	if (facts->build_id)
		json_object_set_new(fields, "ElfBuildId", json_string(facts->build_id));
	if (facts->interpreter)
		json_object_set_new(fields, "ElfInterpreter", json_text(facts->interpreter));
	if (facts->package_note)
		json_object_set_new(fields, "ElfPackageNote", package_note_json(facts->package_note));
	if (facts->go)
		add_go_fields(fields, facts->go);
}

/* AdditionalFields; pe_view (may be NULL) is the inspect view's "pe" object to share. */
static json_t *additional_fields(const struct binary_identity *identity, json_t *pe_view)
{
	json_t *fields = json_object();

	if (!fields)
		return NULL;
	json_object_set_new(fields, "FileType",
			    json_string(file_type_name(identity->file_type.type)));
	if (identity->file_type.type == FILE_TYPE_SCRIPT)
		json_object_set_new(fields, "ScriptInterpreter",
				    json_text(identity->file_type.interpreter));
	if (identity->pe)
		add_pe_fields(fields, identity->pe, pe_view);
	if (identity->elf)
		add_elf_fields(fields, identity->elf);
	if (identity->owner_count > 0) {
		json_object_set_new(fields, "DebPackage", json_string(identity->owners[0].package));
		json_object_set_new(fields, "DebPackageVersion",
				    json_string(identity->owners[0].version));
	}
	if (identity->owner_count > 1)
		json_object_set_new(fields, "DebPackages", owners_json(identity));
	if (binident_damaged(identity))
		json_object_set_new(fields, "BinaryDamage", json_text(binident_damage_reason(identity)));
	return fields;
}

json_t *binident_additional_fields(const struct binary_identity *identity)
{
	return additional_fields(identity, NULL);
}

json_t *binident_to_json(const struct binary_identity *identity)
{
	json_t *object = json_object();
	json_t *pe_view = NULL;

	if (!object)
		return NULL;
	json_object_set_new(object, "type", json_string(file_type_name(identity->file_type.type)));
	json_object_set_new(object, "size", json_integer((json_int_t)identity->size));
	if (identity->file_type.mz_without_pe)
		json_object_set_new(object, "mz_without_pe", json_true());
	if (identity->file_type.type == FILE_TYPE_SCRIPT) {
		json_object_set_new(object, "interpreter", json_text(identity->file_type.interpreter));
		json_object_set_new(object, "interpreter_argument",
				    json_text(identity->file_type.interpreter_argument));
	}
	if (identity->pe) {
		pe_view = pe_json(identity->pe);
		json_object_set(object, "pe", pe_view);
	}
	if (identity->elf)
		json_object_set_new(object, "elf", elf_json(identity->elf));
	json_object_set_new(object, "version_info", version_columns(identity));
	json_object_set_new(object, "packages", owners_json(identity));
	json_object_set_new(object, "additional_fields", additional_fields(identity, pe_view));
	json_decref(pe_view);
	if (binident_damaged(identity))
		json_object_set_new(object, "error", json_text(binident_damage_reason(identity)));
	return object;
}
