/*
 * cache_layout.c - the tables of the compact layout and the SQL that puts
 * a record back together (see cache_layout.h).  Everything here is derived
 * from three tables below (dictionaries, uses, AdditionalFields' parts), so
 * the writer, the view and the row source cannot drift apart.
 */
#include <stdio.h>
#include <string.h>

#include "base/text.h"
#include "store/cache_layout.h"

static const char *const file_fields[] = {
	"FileName",	"FolderPath",  "SHA1",		   "SHA256",
	"MD5",		"FileSize",    "CompanyName",	   "ProductName",
	"ProductVersion", "InternalFileName", "OriginalFileName", "FileDescription",
	"FactsRef"};
static const char *const account_fields[] = {"Domain", "Name", "Sid", "Upn", "ObjectId"};
static const char *const text_fields[] = {"Text"};
static const char *const context_fields[] = {
	"DeviceId",	  "DeviceName",	    "ActionType",
	"AppGuardContainerId", "IntegrityLevel", "TokenElevation",
	"IsRemoteSession", "RemoteSessionDeviceName", "RemoteSessionIP", "FactsRef"};
static const char *const facts_fields[] = {"Run1", "Run2", "Run3"};
static const char *const shape_fields[] = {"Template"};
static const char *const session_fields[] = {
	"ContextRef", "AccountRef", "CgroupRef",	"TtyRef",
	"CgroupId",   "AuditSessionId", "LogonId", "CreatedSessionId"};
static const char *const process_fields[] = {
	"FileRef",	"AccountRef",	  "CommandLineRef",	 "ContextRef",
	"LogonId",	"ProcessId",	  "CreationTime",	 "ParentId",
	"ParentFileName", "ParentCreationDelta", "SessionId", "UniqueId"};
static const char *const process_context_fields[] = {
	"IntegrityLevel", "TokenElevation", "SignerType", "SignatureStatus",
	"IsRemoteSession", "RemoteSessionDeviceName", "RemoteSessionIP"};

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

const struct layout_dictionary_def layout_dictionaries[LAYOUT_DICTIONARY_COUNT] = {
	[LAYOUT_PROCESSES] = {"Processes", COUNT_OF(process_fields), process_fields, 11},
	[LAYOUT_SESSIONS] = {"Sessions", COUNT_OF(session_fields), session_fields, -1},
	[LAYOUT_FILES] = {"Files", COUNT_OF(file_fields), file_fields, -1},
	[LAYOUT_ACCOUNTS] = {"Accounts", COUNT_OF(account_fields), account_fields, -1},
	[LAYOUT_TEXTS] = {"Texts", COUNT_OF(text_fields), text_fields, -1},
	[LAYOUT_CONTEXTS] = {"Contexts", COUNT_OF(context_fields), context_fields, -1},
	[LAYOUT_SHAPES] = {"Shapes", COUNT_OF(shape_fields), shape_fields, -1},
	[LAYOUT_PROCESS_CONTEXTS] = {"ProcessContexts", COUNT_OF(process_context_fields),
				     process_context_fields, -1},
	[LAYOUT_FACTS] = {"Facts", COUNT_OF(facts_fields), facts_fields, -1},
};

#define REF LAYOUT_FIELD_REF
#define OTHER LAYOUT_FIELD_OTHER

const struct layout_use_def layout_uses[LAYOUT_USE_COUNT] = {
	[USE_FILE] = {"ef", LAYOUT_FILES, -1, "FileRef",
		      {DPE_FILE_NAME, DPE_FOLDER_PATH, DPE_SHA1, DPE_SHA256, DPE_MD5, DPE_FILE_SIZE,
		       DPE_PROCESS_VERSION_INFO_COMPANY_NAME, DPE_PROCESS_VERSION_INFO_PRODUCT_NAME,
		       DPE_PROCESS_VERSION_INFO_PRODUCT_VERSION,
		       DPE_PROCESS_VERSION_INFO_INTERNAL_FILE_NAME,
		       DPE_PROCESS_VERSION_INFO_ORIGINAL_FILE_NAME,
		       DPE_PROCESS_VERSION_INFO_FILE_DESCRIPTION, REF},
		      {[12] = USE_FILE_FACTS}},
	[USE_SESSION] = {"se", LAYOUT_SESSIONS, -1, "SessionRef",
			 {REF, REF, REF, REF, OTHER, OTHER, DPE_LOGON_ID,
			  DPE_CREATED_PROCESS_SESSION_ID},
			 {USE_CONTEXT, USE_ACCOUNT, USE_CGROUP, USE_TTY}},
	[USE_ACCOUNT] = {"ea", LAYOUT_ACCOUNTS, USE_SESSION, "AccountRef",
			 {DPE_ACCOUNT_DOMAIN, DPE_ACCOUNT_NAME, DPE_ACCOUNT_SID, DPE_ACCOUNT_UPN,
			  DPE_ACCOUNT_OBJECT_ID},
			 {0}},
	[USE_COMMAND_LINE] = {"ec", LAYOUT_TEXTS, -1, "CommandLineRef",
			      {DPE_PROCESS_COMMAND_LINE}, {0}},
	[USE_CONTEXT] = {"ex", LAYOUT_CONTEXTS, USE_SESSION, "ContextRef",
			 {DPE_DEVICE_ID, DPE_DEVICE_NAME, DPE_ACTION_TYPE, DPE_APP_GUARD_CONTAINER_ID,
			  DPE_PROCESS_INTEGRITY_LEVEL, DPE_PROCESS_TOKEN_ELEVATION,
			  DPE_IS_PROCESS_REMOTE_SESSION, DPE_PROCESS_REMOTE_SESSION_DEVICE_NAME,
			  DPE_PROCESS_REMOTE_SESSION_IP, REF},
			 {[9] = USE_CONTAINER_FACTS}},
	[USE_CGROUP] = {"tg", LAYOUT_TEXTS, USE_SESSION, "CgroupRef", {OTHER}, {0}},
	[USE_TTY] = {"tt", LAYOUT_TEXTS, USE_SESSION, "TtyRef", {OTHER}, {0}},
	[USE_PROCESS] = {"p", LAYOUT_PROCESSES, -1, "ProcessRef",
			 {REF, REF, REF, REF, DPE_INITIATING_PROCESS_LOGON_ID,
			  DPE_INITIATING_PROCESS_ID, DPE_INITIATING_PROCESS_CREATION_TIME,
			  DPE_INITIATING_PROCESS_PARENT_ID, DPE_INITIATING_PROCESS_PARENT_FILE_NAME,
			  DPE_INITIATING_PROCESS_PARENT_CREATION_TIME,
			  DPE_INITIATING_PROCESS_SESSION_ID, DPE_INITIATING_PROCESS_UNIQUE_ID},
			 {USE_PROCESS_FILE, USE_PROCESS_ACCOUNT, USE_PROCESS_COMMAND_LINE,
			  USE_PROCESS_CONTEXT}},
	[USE_PROCESS_CONTEXT] = {"px", LAYOUT_PROCESS_CONTEXTS, USE_PROCESS, "ContextRef",
				 {DPE_INITIATING_PROCESS_INTEGRITY_LEVEL,
				  DPE_INITIATING_PROCESS_TOKEN_ELEVATION,
				  DPE_INITIATING_PROCESS_SIGNER_TYPE,
				  DPE_INITIATING_PROCESS_SIGNATURE_STATUS,
				  DPE_IS_INITIATING_PROCESS_REMOTE_SESSION,
				  DPE_INITIATING_PROCESS_REMOTE_SESSION_DEVICE_NAME,
				  DPE_INITIATING_PROCESS_REMOTE_SESSION_IP},
				 {0}},
	[USE_PROCESS_FILE] = {"pf", LAYOUT_FILES, USE_PROCESS, "FileRef",
			      {DPE_INITIATING_PROCESS_FILE_NAME, DPE_INITIATING_PROCESS_FOLDER_PATH,
			       DPE_INITIATING_PROCESS_SHA1, DPE_INITIATING_PROCESS_SHA256,
			       DPE_INITIATING_PROCESS_MD5, DPE_INITIATING_PROCESS_FILE_SIZE,
			       DPE_INITIATING_PROCESS_VERSION_INFO_COMPANY_NAME,
			       DPE_INITIATING_PROCESS_VERSION_INFO_PRODUCT_NAME,
			       DPE_INITIATING_PROCESS_VERSION_INFO_PRODUCT_VERSION,
			       DPE_INITIATING_PROCESS_VERSION_INFO_INTERNAL_FILE_NAME,
			       DPE_INITIATING_PROCESS_VERSION_INFO_ORIGINAL_FILE_NAME,
			       DPE_INITIATING_PROCESS_VERSION_INFO_FILE_DESCRIPTION, OTHER},
			      {0}},
	[USE_PROCESS_ACCOUNT] = {"pa", LAYOUT_ACCOUNTS, USE_PROCESS, "AccountRef",
				 {DPE_INITIATING_PROCESS_ACCOUNT_DOMAIN,
				  DPE_INITIATING_PROCESS_ACCOUNT_NAME,
				  DPE_INITIATING_PROCESS_ACCOUNT_SID,
				  DPE_INITIATING_PROCESS_ACCOUNT_UPN,
				  DPE_INITIATING_PROCESS_ACCOUNT_OBJECT_ID},
				 {0}},
	[USE_PROCESS_COMMAND_LINE] = {"pc", LAYOUT_TEXTS, USE_PROCESS, "CommandLineRef",
				      {DPE_INITIATING_PROCESS_COMMAND_LINE}, {0}},
	[USE_SHAPE] = {"s", LAYOUT_SHAPES, -1, "ShapeRef", {OTHER}, {0}},
	[USE_CWD] = {"tc", LAYOUT_TEXTS, -1, "CwdRef", {OTHER}, {0}},
	[USE_FILE_FACTS] = {"ff", LAYOUT_FACTS, USE_FILE, "FactsRef", {OTHER, OTHER, OTHER}, {0}},
	[USE_CONTAINER_FACTS] = {"xf", LAYOUT_FACTS, USE_CONTEXT, "FactsRef", {OTHER, OTHER, OTHER},
				 {0}},
};

/* Processes' fields a linked row takes from its exec's record (in field
 * order), and where that record keeps them. */
const struct layout_process_link layout_process_links[LAYOUT_PROCESS_LINKS] = {
	{"FileRef", 0, USE_FILE, -1, false},
	{"AccountRef", 1, USE_ACCOUNT, -1, true},
	{"CommandLineRef", 2, USE_COMMAND_LINE, -1, false},
	{"LogonId", 4, -1, DPE_LOGON_ID, true},
	{"ProcessId", LAYOUT_PROCESS_PROCESS_ID_FIELD, -1, DPE_PROCESS_ID, false},
	{NULL, LAYOUT_PROCESS_CREATION_FIELD, -1, DPE_PROCESS_CREATION_TIME, false},
	{"CreatedSessionId", 10, -1, DPE_CREATED_PROCESS_SESSION_ID, true},
	{"UniqueId", 11, -1, DPE_PROCESS_UNIQUE_ID, false},
};

const struct layout_part_def layout_parts[LAYOUT_PART_COUNT] = {
	{"Tid", PART_PROCESS_ID, -1, EXTRA_X1, true},
	{"NamespacePid", PART_PROCESS_ID, -1, EVENT_X2, false},
	{"ArgvCapturedBytes", PART_NUMBER, -1, EVENT_X3, false},
	{"ArgvTotalBytes", PART_SAME_AS_PREVIOUS, -1, EXTRA_X4, true},
	{"CgroupId", PART_NUMBER, USE_SESSION, 4, false},
	{"AuditSessionId", PART_NUMBER, USE_SESSION, 5, false},
	{"Cwd", PART_TEXT, USE_CWD, -1, false},
	{"Cgroup", PART_TEXT, USE_CGROUP, -1, false},
	{"Tty", PART_TEXT, USE_TTY, -1, false},
};

/*
 * AdditionalFields' members that describe the executed file rather than
 * the exec (docs/records.md), and those of the container it runs in: by
 * name, or by a prefix followed by a capital letter ("Exe" takes
 * ExeInode, not ExecSequence).  Which members are here decides only how
 * much is shared, never what comes back.
 */
static const char *const file_fact_names[] = {
	"Comm",	       "Memfd",	   "Deleted",	"Filename",	     "Interpreter",
	"ScriptPath", "WineLinuxPath", "FileType", "ScriptInterpreter", "BinaryDamage"};
static const char *const file_fact_prefixes[] = {"Exe", "Pe", "Go", "Elf", "Deb"};
static const char *const container_fact_names[] = {"PidNamespace", "MountNamespace",
						   "NetNamespace", "ContainerId"};

const struct layout_fact_class layout_fact_classes[LAYOUT_FACT_CLASSES] = {
	{USE_FILE_FACTS, 0, 3, file_fact_names, COUNT_OF(file_fact_names), file_fact_prefixes,
	 COUNT_OF(file_fact_prefixes)},
	{USE_CONTAINER_FACTS, 3, 2, container_fact_names, COUNT_OF(container_fact_names), NULL, 0},
};

/* Events' own columns (before its references), layout_event_field order. */
static const char *const event_fields[EVENT_FIRST_REF] = {
	"Id", "Timestamp", "ProcessId", "CreationDelta", "ReportId", "UniqueId", "X2", "X3"};
/* EventExtras' columns, layout_extra_field order. */
static const char *const extra_fields[EXTRA_FIELD_COUNT] = {"Id", "Raw", "X1", "X4"};
#define EXTRAS_ALIAS "x"

/* ---- splitting AdditionalFields ---------------------------------------- */

static bool is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static size_t skip_space(const char *text, size_t at, size_t length)
{
	while (at < length && is_space(text[at]))
		at++;
	return at;
}

/*
 * At a '"': just past the closing quote, or 0 when there is none.  The
 * text has no control bytes (checked first), so a run stops at a quote
 * or a backslash only.
 */
static size_t skip_string(const char *text, size_t at, size_t length)
{
	for (at++; at < length; at++) {
		at += text_find_json_string_stop(text + at, length - at);
		if (at >= length)
			return 0;
		if (text[at] == '\\')
			at++;
		else if (text[at] == '"')
			return at + 1;
	}
	return 0;
}

/* An object or array: just past its closing bracket, or 0. */
static size_t skip_nested(const char *text, size_t at, size_t length)
{
	int depth = 0;

	while (at < length) {
		char c = text[at];

		if (c == '"') {
			at = skip_string(text, at, length);
			if (at == 0)
				return 0;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				return at + 1;
		}
		at++;
	}
	return 0;
}

/*
 * One JSON value: just past it, or 0.  Scalars are not checked: the text
 * comes back byte for byte whatever they hold.
 */
static size_t skip_value(const char *text, size_t at, size_t length)
{
	size_t start = at;

	if (at >= length)
		return 0;
	if (text[at] == '"')
		return skip_string(text, at, length);
	if (text[at] == '{' || text[at] == '[')
		return skip_nested(text, at, length);
	while (at < length && text[at] != ',' && text[at] != '}' && text[at] != ']' &&
	       !is_space(text[at]))
		at++;
	return at > start ? at : 0;
}

/* key (length bytes, not NUL-terminated) is name; no strlen: this runs
 * for every member of every record's AdditionalFields. */
static bool key_is(const char *name, const char *key, size_t length)
{
	return length > 0 && name[0] == key[0] && strncmp(name, key, length) == 0 &&
	       name[length] == '\0';
}

/* key starts with prefix, then a capital letter (a new word). */
static bool key_has_prefix(const char *prefix, const char *key, size_t length)
{
	size_t i = 0;

	for (; prefix[i]; i++)
		if (i >= length || key[i] != prefix[i])
			return false;
	return i < length && key[i] >= 'A' && key[i] <= 'Z';
}

static bool is_fact_of(const struct layout_fact_class *class, const char *key, size_t length)
{
	for (size_t i = 0; i < class->prefix_count; i++)
		if (key_has_prefix(class->prefixes[i], key, length))
			return true;
	for (size_t i = 0; i < class->name_count; i++)
		if (key_is(class->names[i], key, length))
			return true;
	return false;
}

int layout_fact_class(const char *key, size_t length)
{
	for (int class = 0; class < LAYOUT_FACT_CLASSES; class++)
		if (is_fact_of(&layout_fact_classes[class], key, length))
			return class;
	return -1;
}

static int part_of_key(const char *key, size_t length)
{
	for (int i = 0; i < LAYOUT_PART_COUNT; i++)
		if (key_is(layout_parts[i].key, key, length))
			return i;
	return -1;
}

/* Any control byte (markers must be unambiguous) says: keep it whole. */
static bool has_control_bytes(const char *text, size_t length)
{
	return text_find_control(text, length) < length;
}

/*
 * A member [start, end) of a fact class: it joins the run the member
 * before it opened (the text between them with it), or opens the class's
 * next run, marked in the shape; past the class's last run it stays in the
 * shape.  *open: the class of the run the member before is in, or -1.
 */
static void cut_fact(const char *text, size_t start, size_t end, int class, size_t *copied,
		     int *open, struct layout_split *split)
{
	const struct layout_fact_class *def = &layout_fact_classes[class];
	int run = def->first_run, last = def->first_run + def->runs;

	while (run < last && split->fact[run])
		run++;
	if (*open == class) {
		run--;
		split->fact_length[run] = end - (size_t)(split->fact[run] - text);
	} else if (run < last) {
		strbuf_append(&split->shape, text + *copied, start - *copied);
		strbuf_append_char(&split->shape, (char)(LAYOUT_PART_COUNT + 1 + run));
		split->fact[run] = text + start;
		split->fact_length[run] = end - start;
		*open = class;
	} else {
		*open = -1;
		return;
	}
	*copied = end;
}

static bool split_members(const char *text, size_t length, struct layout_split *split)
{
	size_t at = skip_space(text, 0, length), copied = 0;
	int open = -1; /* the fact class of the run the member before is in */

	if (at >= length || text[at] != '{')
		return false;
	at = skip_space(text, at + 1, length);
	if (at < length && text[at] == '}') {
		if (skip_space(text, at + 1, length) != length)
			return false;
		strbuf_append(&split->shape, text, length);
		return true;
	}
	for (;;) {
		if (at >= length || text[at] != '"')
			return false;
		size_t key_start = at, key_end = skip_string(text, at, length);

		if (key_end == 0)
			return false;
		int part = part_of_key(text + at + 1, key_end - at - 2);
		int fact = part < 0 ? layout_fact_class(text + at + 1, key_end - at - 2) : -1;

		at = skip_space(text, key_end, length);
		if (at >= length || text[at] != ':')
			return false;
		at = skip_space(text, at + 1, length);
		size_t value_end = skip_value(text, at, length);

		if (value_end == 0 || value_end == at)
			return false;
		if (part >= 0 && !split->part[part]) {
			strbuf_append(&split->shape, text + copied, at - copied);
			strbuf_append_char(&split->shape, (char)(part + 1));
			split->part[part] = text + at;
			split->part_length[part] = value_end - at;
			copied = value_end;
		}
		if (fact >= 0)
			cut_fact(text, key_start, value_end, fact, &copied, &open, split);
		else
			open = -1;
		at = skip_space(text, value_end, length);
		if (at < length && text[at] == ',') {
			at = skip_space(text, at + 1, length);
			continue;
		}
		if (at >= length || text[at] != '}' || skip_space(text, at + 1, length) != length)
			return false;
		strbuf_append(&split->shape, text + copied, length - copied);
		return true;
	}
}

static void clear_split(struct layout_split *split)
{
	strbuf_clear(&split->shape);
	for (int i = 0; i < LAYOUT_PART_COUNT; i++) {
		split->part[i] = NULL;
		split->part_length[i] = 0;
	}
	for (int i = 0; i < LAYOUT_FACT_RUNS; i++) {
		split->fact[i] = NULL;
		split->fact_length[i] = 0;
	}
}

void cache_layout_split(const char *text, size_t length, struct layout_split *split)
{
	clear_split(split);
	split->split = !has_control_bytes(text, length) && split_members(text, length, split) &&
		       !split->shape.failed;
	if (!split->split)
		clear_split(split);
}

/* ---- linked Processes rows ------------------------------------------------ */

const struct layout_process_link *cache_layout_process_link(size_t field)
{
	for (int i = 0; i < LAYOUT_PROCESS_LINKS; i++)
		if (layout_process_links[i].field == (int)field)
			return &layout_process_links[i];
	return NULL;
}

/*
 * What the exec's record says of a linked field: over the view's aliases
 * (events "pe", its session "ps"), or in a trigger on Events (events
 * "old", the session read by a subquery).
 */
static void append_exec_value(struct strbuf *out, const struct layout_process_link *link,
			      const char *events, bool trigger)
{
	if (!link->source) {
		strbuf_appendf(out, "coalesce(%s.Timestamp, 0) - %s.CreationDelta", events, events);
	} else if (link->session && trigger) {
		strbuf_appendf(out, "(SELECT %s FROM %s WHERE Id = %s.%s)", link->source,
			       layout_dictionaries[LAYOUT_SESSIONS].table, events,
			       layout_uses[USE_SESSION].reference);
	} else {
		strbuf_appendf(out, "%s.%s", link->session ? CACHE_LAYOUT_EXEC_SESSION_ALIAS : events,
			       link->source);
	}
}

/*
 * Deleting an exec's Events row that a Processes row links to: the
 * references the row takes over are counted first (before the deleted
 * record's own go back, in cache_compact_release), then the row gets its
 * fields (and is no longer linked: ProcessId is set).  Linked Id = 2 x Id.
 */
static void append_link_trigger(struct strbuf *out)
{
	const char *processes = layout_dictionaries[LAYOUT_PROCESSES].table;
	const char *process_id = layout_dictionaries[LAYOUT_PROCESSES]
					 .fields[LAYOUT_PROCESS_PROCESS_ID_FIELD];

	strbuf_appendf(out, "CREATE TRIGGER IF NOT EXISTS " CACHE_LAYOUT_LINK_TRIGGER_NAME
		       " AFTER DELETE ON " CACHE_LAYOUT_EVENTS_TABLE " WHEN EXISTS (SELECT 1 FROM"
		       " %s WHERE Id = old.Id * 2 AND %s IS NULL) BEGIN", processes, process_id);
	for (int i = 0; i < LAYOUT_PROCESS_LINKS; i++) {
		const struct layout_process_link *link = &layout_process_links[i];

		if (link->exec_use < 0)
			continue;
		strbuf_appendf(out, " UPDATE %s SET Refs = Refs + 1 WHERE Id = ",
			       layout_dictionaries[layout_uses[link->exec_use].dictionary].table);
		append_exec_value(out, link, "old", true);
		strbuf_append_char(out, ';');
	}
	strbuf_appendf(out, " UPDATE %s SET ", processes);
	for (int i = 0; i < LAYOUT_PROCESS_LINKS; i++) {
		const struct layout_process_link *link = &layout_process_links[i];

		strbuf_appendf(out, "%s%s = ", i ? ", " : "",
			       layout_dictionaries[LAYOUT_PROCESSES].fields[link->field]);
		append_exec_value(out, link, "old", true);
	}
	strbuf_append_string(out, " WHERE Id = old.Id * 2; END;\n");
}

void cache_layout_triggers_sql(struct strbuf *out)
{
	strbuf_append_string(out, CACHE_LAYOUT_EXTRAS_TRIGGER);
	append_link_trigger(out);
}

/* ---- DDL ------------------------------------------------------------------ */

size_t cache_layout_event_uses(int uses[LAYOUT_USE_COUNT])
{
	size_t count = 0;

	for (int use = 0; use < LAYOUT_USE_COUNT; use++)
		if (layout_uses[use].owner < 0)
			uses[count++] = use;
	return count;
}

size_t cache_layout_dictionary_references(enum layout_dictionary dictionary,
					  int uses[LAYOUT_MAX_FIELDS])
{
	size_t count = 0;

	/* every use of the dictionary has the same reference fields: take the first */
	for (int use = 0; use < LAYOUT_USE_COUNT; use++) {
		const struct layout_use_def *def = &layout_uses[use];

		if (def->dictionary != dictionary)
			continue;
		for (size_t i = 0; i < layout_dictionaries[dictionary].field_count; i++)
			if (def->columns[i] == LAYOUT_FIELD_REF)
				uses[count++] = def->ref_uses[i];
		break;
	}
	return count;
}

void cache_layout_append_event_references(struct strbuf *out, const char *prefix)
{
	int uses[LAYOUT_USE_COUNT];
	size_t count = cache_layout_event_uses(uses);

	for (size_t i = 0; i < count; i++)
		strbuf_appendf(out, "%s%s%s", i ? ", " : "", prefix, layout_uses[uses[i]].reference);
}

void cache_layout_events_delete_sql(struct strbuf *out, const char *delete)
{
	strbuf_append_string(out, delete);
	strbuf_append_string(out, " RETURNING ");
	cache_layout_append_event_references(out, "");
	strbuf_append_string(out, ", Id");
}

void cache_layout_view_sql(struct strbuf *out)
{
	uint32_t all = 0;

	strbuf_append_string(out, "CREATE VIEW IF NOT EXISTS DeviceProcessEvents AS SELECT e.Id AS rowid");
	for (int column = 0; column < DPE_COLUMN_COUNT; column++) {
		strbuf_append_string(out, ", ");
		cache_layout_append_column(out, column);
		strbuf_appendf(out, " AS \"%s\"", dpe_columns[column].name);
		all |= cache_layout_column_uses(column);
	}
	strbuf_append_string(out, " FROM " CACHE_LAYOUT_EVENTS_TABLE " AS e");
	cache_layout_append_joins(out, all);
	strbuf_append_string(out, ";\n");
}

void cache_layout_schema_sql(struct strbuf *out)
{
	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT; d++) {
		const struct layout_dictionary_def *def = &layout_dictionaries[d];

		/* no declared types: a value stays as the writer bound it */
		strbuf_appendf(out, "CREATE TABLE IF NOT EXISTS %s (Id INTEGER PRIMARY KEY,"
			       " Refs INTEGER NOT NULL", def->table);
		for (size_t i = 0; i < def->field_count; i++)
			strbuf_appendf(out, ", %s", def->fields[i]);
		strbuf_append_string(out, ");\n");
	}
	strbuf_append_string(out, "CREATE TABLE IF NOT EXISTS " CACHE_LAYOUT_EVENTS_TABLE
				  " (Id INTEGER PRIMARY KEY");
	for (int i = 1; i < EVENT_FIRST_REF; i++)
		strbuf_appendf(out, ", %s", event_fields[i]);
	strbuf_append_string(out, ", ");
	cache_layout_append_event_references(out, "");
	strbuf_append_string(out, ");\nCREATE TABLE IF NOT EXISTS " CACHE_LAYOUT_EXTRAS_TABLE
				  " (Id INTEGER PRIMARY KEY");
	for (int i = 1; i < EXTRA_FIELD_COUNT; i++)
		strbuf_appendf(out, ", %s", extra_fields[i]);
	strbuf_append_string(out, ");\n");
	cache_layout_triggers_sql(out);
	strbuf_append_string(out, "CREATE TABLE IF NOT EXISTS " CACHE_LAYOUT_BLOCKS_TABLE
				  " (Block INTEGER PRIMARY KEY, Low INTEGER NOT NULL,"
				  " High INTEGER NOT NULL);\n");
	cache_layout_view_sql(out);
}

void cache_layout_events_insert_sql(struct strbuf *out)
{
	int uses[LAYOUT_USE_COUNT];
	size_t count = cache_layout_event_uses(uses);

	strbuf_append_string(out, "INSERT INTO " CACHE_LAYOUT_EVENTS_TABLE " (");
	for (int i = 0; i < EVENT_FIRST_REF; i++)
		strbuf_appendf(out, "%s%s", i ? ", " : "", event_fields[i]);
	strbuf_append_string(out, ", ");
	cache_layout_append_event_references(out, "");
	strbuf_append_string(out, ") VALUES (");
	for (size_t i = 0; i < EVENT_FIRST_REF + count; i++)
		strbuf_append_string(out, i ? ",?" : "?");
	strbuf_append_char(out, ')');
}

void cache_layout_extras_insert_sql(struct strbuf *out)
{
	strbuf_append_string(out, "INSERT INTO " CACHE_LAYOUT_EXTRAS_TABLE " (");
	for (int i = 0; i < EXTRA_FIELD_COUNT; i++)
		strbuf_appendf(out, "%s%s", i ? ", " : "", extra_fields[i]);
	strbuf_append_string(out, ") VALUES (");
	for (int i = 0; i < EXTRA_FIELD_COUNT; i++)
		strbuf_append_string(out, i ? ",?" : "?");
	strbuf_append_char(out, ')');
}

/* ---- a column's expression ------------------------------------------------ */

/* The use and field holding column, or -1. */
static int find_use_field(int column, size_t *field)
{
	for (int use = 0; use < LAYOUT_USE_COUNT; use++) {
		const struct layout_use_def *def = &layout_uses[use];

		for (size_t i = 0; i < layout_dictionaries[def->dictionary].field_count; i++) {
			if (def->columns[i] == column) {
				*field = i;
				return use;
			}
		}
	}
	return -1;
}

/* The link of the Processes field a use of a dictionary is referred to
 * by, or NULL (not referred to by Processes, or not a linked field). */
static const struct layout_process_link *reference_link(int use)
{
	const struct layout_use_def *owner;

	if (layout_uses[use].owner < 0)
		return NULL;
	owner = &layout_uses[layout_uses[use].owner];
	if (owner->dictionary != LAYOUT_PROCESSES)
		return NULL;
	for (size_t i = 0; i < layout_dictionaries[LAYOUT_PROCESSES].field_count; i++)
		if (owner->columns[i] == LAYOUT_FIELD_REF && owner->ref_uses[i] == use)
			return cache_layout_process_link(i);
	return NULL;
}

static uint32_t use_with_owners(int use)
{
	uint32_t bits = 0;

	for (; use >= 0; use = layout_uses[use].owner)
		bits |= (1u << use) | (reference_link(use) ? LAYOUT_EXEC_USES : 0);
	return bits;
}

/* A use's field a linked row takes from its exec. */
static const struct layout_process_link *field_link(int use, size_t field)
{
	return layout_uses[use].dictionary == LAYOUT_PROCESSES ? cache_layout_process_link(field)
							       : NULL;
}

static const char *event_field_of(int column)
{
	switch (column) {
	case DPE_TIMESTAMP:
		return "Timestamp";
	case DPE_PROCESS_ID:
		return "ProcessId";
	case DPE_REPORT_ID:
		return "ReportId";
	default:
		return NULL;
	}
}

/* "e.X3" or "x.X4": a number part held for Events (in Events or EventExtras). */
static void append_event_number(struct strbuf *out, int part)
{
	const struct layout_part_def *def = &layout_parts[part];

	strbuf_appendf(out, "%s.%s", def->rare ? EXTRAS_ALIAS : "e",
		       def->rare ? extra_fields[def->field] : event_fields[def->field]);
}

/* ", char(k), coalesce(<what marker k stands for>, ''))" for each part. */
static void append_part_replacements(struct strbuf *out)
{
	for (int i = 0; i < LAYOUT_PART_COUNT; i++) {
		const struct layout_part_def *part = &layout_parts[i];

		strbuf_appendf(out, ", char(%d), coalesce(", i + 1);
		if (part->use >= 0 && part->kind == PART_TEXT) {
			strbuf_appendf(out, "%s.Text", layout_uses[part->use].alias);
		} else if (part->use >= 0) {
			strbuf_appendf(out, "%s.%s", layout_uses[part->use].alias,
				       layout_dictionaries[layout_uses[part->use].dictionary]
					       .fields[part->field]);
		} else {
			append_event_number(out, i);
			if (part->kind == PART_PROCESS_ID)
				strbuf_append_string(out, ", e.ProcessId");
			if (part->kind == PART_SAME_AS_PREVIOUS) {
				strbuf_append_string(out, ", ");
				append_event_number(out, i - 1);
			}
		}
		strbuf_append_string(out, ", ''))");
	}
}

/* The same for each run of facts. */
static void append_fact_replacements(struct strbuf *out)
{
	for (int class = 0; class < LAYOUT_FACT_CLASSES; class++) {
		const struct layout_fact_class *def = &layout_fact_classes[class];
		const struct layout_use_def *use = &layout_uses[def->use];

		for (int run = 0; run < def->runs; run++)
			strbuf_appendf(out, ", char(%d), coalesce(%s.%s, ''))",
				       LAYOUT_PART_COUNT + 1 + def->first_run + run, use->alias,
				       layout_dictionaries[use->dictionary].fields[run]);
	}
}

/*
 * Each replace() reads the whole text so far: the parts (short) go into
 * the shape first, the runs of facts (most of the text) last, so fewer
 * passes read the long text.
 */
static void append_additional_fields(struct strbuf *out)
{
	strbuf_appendf(out, "coalesce(" EXTRAS_ALIAS ".%s, ", extra_fields[EXTRA_RAW]);
	for (int i = LAYOUT_PART_COUNT + LAYOUT_FACT_RUNS - 1; i >= 0; i--)
		strbuf_append_string(out, "replace(");
	strbuf_appendf(out, "%s.Template", layout_uses[USE_SHAPE].alias);
	append_part_replacements(out);
	append_fact_replacements(out);
	strbuf_append_char(out, ')');
}

void cache_layout_append_column(struct strbuf *out, int column)
{
	size_t field = 0;
	int use;

	if (column == DPE_ADDITIONAL_FIELDS) {
		append_additional_fields(out);
		return;
	}
	if (column == DPE_PROCESS_CREATION_TIME) {
		strbuf_append_string(out, "coalesce(e.Timestamp, 0) - e.CreationDelta");
		return;
	}
	if (column == DPE_INITIATING_PROCESS_PARENT_CREATION_TIME) {
		const char *alias = layout_uses[USE_PROCESS].alias;
		const char *const *fields = layout_dictionaries[LAYOUT_PROCESSES].fields;

		strbuf_appendf(out, "coalesce(%s.%s, ", alias, fields[LAYOUT_PROCESS_CREATION_FIELD]);
		append_exec_value(out, cache_layout_process_link(LAYOUT_PROCESS_CREATION_FIELD),
				  CACHE_LAYOUT_EXEC_ALIAS, false);
		strbuf_appendf(out, ", 0) - %s.%s", alias, fields[LAYOUT_PROCESS_PARENT_CREATION_FIELD]);
		return;
	}
	if (column == DPE_PROCESS_UNIQUE_ID) {
		strbuf_append_string(out, "CAST(e.UniqueId AS TEXT)");
		return;
	}
	if (event_field_of(column)) {
		strbuf_appendf(out, "e.%s", event_field_of(column));
		return;
	}
	use = find_use_field(column, &field);
	if (use < 0) {
		strbuf_append_string(out, "NULL");
		return;
	}
	const struct layout_use_def *def = &layout_uses[use];
	const struct layout_dictionary_def *dictionary = &layout_dictionaries[def->dictionary];
	const struct layout_process_link *link = field_link(use, field);
	bool numeric_text = (int)field == dictionary->numeric_text_field;

	strbuf_append_string(out, numeric_text ? "CAST(" : "");
	if (link) {
		strbuf_appendf(out, "coalesce(%s.%s, ", def->alias, dictionary->fields[field]);
		append_exec_value(out, link, CACHE_LAYOUT_EXEC_ALIAS, false);
		strbuf_append_char(out, ')');
	} else {
		strbuf_appendf(out, "%s.%s", def->alias, dictionary->fields[field]);
	}
	strbuf_append_string(out, numeric_text ? " AS TEXT)" : "");
}

uint32_t cache_layout_column_uses(int column)
{
	size_t field = 0;
	uint32_t bits = 0;

	if (column == DPE_ADDITIONAL_FIELDS) {
		bits = use_with_owners(USE_SHAPE) | LAYOUT_EXTRAS_USES;
		for (int class = 0; class < LAYOUT_FACT_CLASSES; class++)
			bits |= use_with_owners(layout_fact_classes[class].use);
		for (int i = 0; i < LAYOUT_PART_COUNT; i++)
			if (layout_parts[i].use >= 0)
				bits |= use_with_owners(layout_parts[i].use);
		return bits;
	}
	int use = find_use_field(column, &field);

	if (use < 0)
		return 0;
	bits = use_with_owners(use);
	if (field_link(use, field) || column == DPE_INITIATING_PROCESS_PARENT_CREATION_TIME)
		bits |= LAYOUT_EXEC_USES;
	return bits;
}

/* A linked Processes row's exec: its Events row (Id / 2 of an even Id,
 * while ProcessId is NULL) and that row's session. */
static void append_exec_joins(struct strbuf *out)
{
	const char *alias = layout_uses[USE_PROCESS].alias;

	strbuf_appendf(out, " LEFT JOIN " CACHE_LAYOUT_EVENTS_TABLE " AS " CACHE_LAYOUT_EXEC_ALIAS
		       " ON " CACHE_LAYOUT_EXEC_ALIAS ".Id = (%s.Id >> 1) AND (%s.Id & 1) = 0 AND"
		       " %s.%s IS NULL LEFT JOIN %s AS " CACHE_LAYOUT_EXEC_SESSION_ALIAS " ON "
		       CACHE_LAYOUT_EXEC_SESSION_ALIAS ".Id = " CACHE_LAYOUT_EXEC_ALIAS ".%s",
		       alias, alias, alias,
		       layout_dictionaries[LAYOUT_PROCESSES].fields[LAYOUT_PROCESS_PROCESS_ID_FIELD],
		       layout_dictionaries[LAYOUT_SESSIONS].table, layout_uses[USE_SESSION].reference);
}

void cache_layout_append_joins(struct strbuf *out, uint32_t uses)
{
	/* owners come before the uses they own in layout_uses */
	for (int use = 0; use < LAYOUT_USE_COUNT; use++) {
		const struct layout_use_def *def = &layout_uses[use];

		const struct layout_process_link *link = reference_link(use);

		if (!(uses & (1u << use)))
			continue;
		strbuf_appendf(out, " LEFT JOIN %s AS %s ON %s.Id = %s%s.%s",
			       layout_dictionaries[def->dictionary].table, def->alias, def->alias,
			       link ? "coalesce(" : "",
			       def->owner < 0 ? "e" : layout_uses[def->owner].alias, def->reference);
		if (link) {
			strbuf_append_string(out, ", ");
			append_exec_value(out, link, CACHE_LAYOUT_EXEC_ALIAS, false);
			strbuf_append_char(out, ')');
		}
		if (use == USE_PROCESS && (uses & LAYOUT_EXEC_USES))
			append_exec_joins(out);
	}
	if (uses & LAYOUT_EXTRAS_USES)
		strbuf_append_string(out, " LEFT JOIN " CACHE_LAYOUT_EXTRAS_TABLE " AS " EXTRAS_ALIAS
					  " ON " EXTRAS_ALIAS ".Id = e.Id");
}

bool cache_layout_semi_join(int column, int *use, const char **field)
{
	size_t index = 0;
	int found = find_use_field(column, &index);

	if (found < 0 || layout_uses[found].owner >= 0 || field_link(found, index) ||
	    column == DPE_INITIATING_PROCESS_PARENT_CREATION_TIME)
		return false;
	*use = found;
	*field = layout_dictionaries[layout_uses[found].dictionary].fields[index];
	return true;
}

/* ---- soundness checks ----------------------------------------------------- */

/* "SELECT <ref> AS Id FROM <owner> UNION ALL ..." every reference to d. */
static void append_references_to(struct strbuf *out, enum layout_dictionary dictionary)
{
	bool first = true;

	for (int use = 0; use < LAYOUT_USE_COUNT; use++) {
		const struct layout_use_def *def = &layout_uses[use];

		if (def->dictionary != dictionary)
			continue;
		/* a dictionary owning uses is used once (Processes): its rows
		 * are the owners of the references */
		strbuf_appendf(out, "%sSELECT %s AS Id FROM %s", first ? "" : " UNION ALL ",
			       def->reference,
			       def->owner < 0 ? CACHE_LAYOUT_EVENTS_TABLE
					      : layout_dictionaries[layout_uses[def->owner].dictionary].table);
		first = false;
	}
}

void cache_layout_orphans_sql(struct strbuf *out)
{
	strbuf_append_string(out, "SELECT (SELECT count(*) FROM " CACHE_LAYOUT_EXTRAS_TABLE
				  " WHERE Id NOT IN (SELECT Id FROM " CACHE_LAYOUT_EVENTS_TABLE "))");
	/* a linked row whose exec's record is gone (not made whole) */
	strbuf_appendf(out, " + (SELECT count(*) FROM %s WHERE (Id & 1) = 0 AND %s IS NULL AND"
		       " (Id >> 1) NOT IN (SELECT Id FROM " CACHE_LAYOUT_EVENTS_TABLE "))",
		       layout_dictionaries[LAYOUT_PROCESSES].table,
		       layout_dictionaries[LAYOUT_PROCESSES].fields[LAYOUT_PROCESS_PROCESS_ID_FIELD]);
	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT; d++) {
		strbuf_appendf(out, " + (SELECT count(*) FROM %s WHERE Id NOT IN (",
			       layout_dictionaries[d].table);
		append_references_to(out, (enum layout_dictionary)d);
		strbuf_append_string(out, "))");
	}
}

void cache_layout_bad_refs_sql(struct strbuf *out)
{
	strbuf_append_string(out, "SELECT 0");
	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT; d++) {
		const char *table = layout_dictionaries[d].table;

		strbuf_appendf(out, " + (SELECT count(*) FROM %s AS t LEFT JOIN (SELECT Id, count(*)"
			       " AS n FROM (", table);
		append_references_to(out, (enum layout_dictionary)d);
		strbuf_append_string(out, ") WHERE Id IS NOT NULL GROUP BY Id) AS r ON r.Id = t.Id"
					  " WHERE t.Refs IS NOT coalesce(r.n, 0))");
	}
}
