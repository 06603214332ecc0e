/*
 * record_builder.c - fill a DeviceProcessEvents row from a pending exec.
 *
 * Windows-only columns (integrity level, token elevation, SIDs, Entra ids,
 * signer, AppGuard, remote-session device and IP) stay empty strings; their
 * Linux meaning is documented in docs/records.md.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "model/device.h"
#include "base/json_writer.h"
#include "base/pathname.h"
#include "record_builder.h"
#include "base/strbuf.h"
#include "base/text.h"
#include "base/timefmt.h"

#define AUDIT_UNSET 4294967295U
#define CONTAINER_ID_LENGTH 64

/*
 * How large a record may be (issue 9: one exec made a 13 MB record).  Each
 * string column has a cap, bytes of its text: command lines 96 KiB (the
 * whole default argv capture, 64 KiB, fits with its quotes; bytes escaped as
 * \xHH may not), paths 16 KiB, every other column 1 KiB.  AdditionalFields
 * holds at most 64 KiB: each text in it at most 4 KiB (1 KiB, and the
 * binary's identity facts left out, if that is still too much).  What was
 * cut is named in AdditionalFields.Truncated with the size it had
 * (docs/records.md, "Sizes").
 */
#define CAP_COMMAND_LINE IMAGE_COMMAND_LINE_MAX
#define CAP_PATH ((size_t)16 * 1024)
#define CAP_TEXT ((size_t)1024)
#define CAP_ADDITIONAL_FIELDS ((size_t)64 * 1024)
#define CAP_FIELD_TEXT ((size_t)4096)
#define CAP_FIELD_TEXT_TIGHT ((size_t)1024)
#define CUTS_MAX 32

/* What was cut: names (columns, AdditionalFields keys) and sizes before. */
struct cuts {
	const char *names[CUTS_MAX];
	size_t lengths[CUTS_MAX];
	int count;
};

static void cuts_add(struct cuts *cuts, const char *name, size_t length)
{
	for (int i = 0; i < cuts->count; i++) {
		if (strcmp(cuts->names[i], name) == 0)
			return;
	}
	if (cuts->count == CUTS_MAX)
		return;
	cuts->names[cuts->count] = name;
	cuts->lengths[cuts->count++] = length;
}

/* The text values of AdditionalFields: escaped in buffer, cut at cap. */
struct field_text {
	struct strbuf buffer;
	size_t cap;
	struct cuts *cuts;
	const char *key; /* the value's key, for cuts ("" in an array) */
};

/* Set a string column from raw bytes, escaping invalid UTF-8. */
static int set_text(struct record *record, enum dpe_column column,
		    const char *raw)
{
	size_t length = strlen(raw);
	struct strbuf escaped;
	int result;

	if (utf8_is_valid(raw, length))
		return record_set_string(record, column, raw, length);
	strbuf_init(&escaped);
	text_append_escaped(&escaped, raw, length);
	result = escaped.failed ? -ENOMEM
				: record_set_string(record, column, escaped.data,
						    escaped.length);
	strbuf_free(&escaped);
	return result;
}

/* A raw string value, escaped to valid UTF-8 as text.h says, and cut at
 * the cap (named in the cuts). */
static void write_text_value(struct json_writer *writer, const char *raw,
			     struct field_text *scratch)
{
	size_t length = strlen(raw);
	const char *text = raw;

	if (!utf8_is_valid(raw, length)) {
		strbuf_clear(&scratch->buffer);
		text_append_escaped(&scratch->buffer, raw, length);
		text = strbuf_text(&scratch->buffer);
		length = scratch->buffer.length;
	}
	if (length > scratch->cap) {
		cuts_add(scratch->cuts, scratch->key, length);
		length = text_cut_length(text, length, scratch->cap);
	}
	json_write_string(writer, text, length);
}

static void write_text(struct json_writer *writer, const char *key,
		       const char *raw, struct field_text *scratch)
{
	json_write_key(writer, key);
	scratch->key = key;
	write_text_value(writer, raw, scratch);
}

static void write_number(struct json_writer *writer, const char *key, int64_t number)
{
	json_write_key(writer, key);
	json_write_integer(writer, number);
}

static void write_flag(struct json_writer *writer, const char *key, bool flag)
{
	json_write_key(writer, key);
	json_write_boolean(writer, flag);
}

static void write_string_field(struct json_writer *writer, const char *key,
			       const char *text)
{
	json_write_key(writer, key);
	json_write_cstring(writer, text);
}

static void write_optional_id(struct json_writer *writer, const char *key,
			      uint32_t id)
{
	json_write_key(writer, key);
	if (id == AUDIT_UNSET)
		json_write_null(writer);
	else
		json_write_integer(writer, id);
}

static void set_optional_id(struct record *record, enum dpe_column column,
			    uint32_t id)
{
	if (id == AUDIT_UNSET)
		record_set_null(record, column);
	else
		record_set_long(record, column, id);
}

/* The 64-hex-digit container id in a cgroup name (docker-ID.scope...). */
static void container_id(const char *cgroup_name, char out[CONTAINER_ID_LENGTH + 1])
{
	size_t run = 0;

	out[0] = '\0';
	for (const char *cursor = cgroup_name;; cursor++) {
		if (*cursor && isxdigit((unsigned char)*cursor)) {
			run++;
			continue;
		}
		if (run == CONTAINER_ID_LENGTH) {
			memcpy(out, cursor - run, run);
			out[run] = '\0';
			return;
		}
		if (!*cursor)
			return;
		run = 0;
	}
}

static bool is_memfd(const struct exec_facts *facts)
{
	return (facts->info.flags & EXEC_FLAG_EXE_INTERNAL_MOUNT) &&
	       strncmp(text_basename(facts->exe_path), "memfd:", 6) == 0;
}

static void write_hash_status(struct json_writer *writer, const char *key,
			      const char *error_key, const struct image *image,
			      bool timed_out)
{
	const struct file_info *file = image ? image->file : NULL;

	if (!file) {
		write_string_field(writer, key, "unavailable");
		return;
	}
	/* the row stopped waiting (pending_exec.h); the hash goes on for the
	 * next exec of the file */
	if (timed_out && file->hash_status == HASH_STATUS_PENDING) {
		write_string_field(writer, key, "timeout");
		return;
	}
	write_string_field(writer, key, hash_status_name(file->hash_status));
	if (file->hash_status == HASH_STATUS_UNREADABLE && file->hash_errno)
		write_string_field(writer, error_key, strerror(file->hash_errno));
}

static void write_exe_facts(struct json_writer *writer,
			    const struct exec_facts *facts)
{
	const struct exec_info *info = &facts->info;
	char text[TIMEFMT_ISO_SIZE], device[32], mode[16];
	size_t length;

	/* "%u:%u" and "%o" without snprintf (it cost more than the rest) */
	length = text_put_unsigned(device, info->exe_dev_major, 10);
	device[length++] = ':';
	text_put_unsigned(device + length, info->exe_dev_minor, 10);
	text_put_unsigned(mode, info->exe_mode, 8);
	write_string_field(writer, "ExeDevice", device);
	json_write_key(writer, "ExeInode");
	json_write_unsigned(writer, info->exe_ino);
	timefmt_iso(timefmt_ticks_from_seconds(info->exe_ctime_sec, info->exe_ctime_nsec), text);
	write_string_field(writer, "ExeCtime", text);
	timefmt_iso(timefmt_ticks_from_seconds(info->exe_mtime_sec, info->exe_mtime_nsec), text);
	write_string_field(writer, "ExeMtime", text);
	write_number(writer, "ExeNlink", info->exe_nlink);
	write_string_field(writer, "ExeMode", mode);
	write_string_field(writer, "ExeFileSystem", info->fstype);
	write_flag(writer, "Memfd", is_memfd(facts));
	write_flag(writer, "Deleted", info->flags & EXEC_FLAG_EXE_DELETED);
	if (info->flags & EXEC_FLAG_EXE_PATH_TRUNCATED)
		write_flag(writer, "ExePathTruncated", true);
	if (info->flags & EXEC_FLAG_EXE_PATH_DETACHED)
		write_flag(writer, "ExePathDetached", true);
}

static void write_interpreter(struct json_writer *writer,
			      const struct exec_facts *facts,
			      struct field_text *scratch)
{
	char *script;

	write_text(writer, "Filename", facts->filename, scratch);
	if (!facts->interp[0] || strcmp(facts->interp, facts->filename) == 0)
		return;
	write_text(writer, "Interpreter", facts->interp, scratch);
	script = pathname_absolute(facts->cwd, facts->filename);
	if (script)
		write_text(writer, "ScriptPath", script, scratch);
	free(script);
}

static void write_identity(struct json_writer *writer,
			   const struct exec_facts *facts, struct field_text *scratch)
{
	const struct exec_info *info = &facts->info;
	char container[CONTAINER_ID_LENGTH + 1];

	write_number(writer, "Uid", info->uid);
	write_number(writer, "Euid", info->euid);
	write_number(writer, "Gid", info->gid);
	write_number(writer, "Egid", info->egid);
	write_optional_id(writer, "LoginUid", info->loginuid);
	write_optional_id(writer, "AuditSessionId", info->sessionid);
	write_text(writer, "Tty", info->tty, scratch);
	write_text(writer, "Comm", info->comm, scratch);
	write_number(writer, "Tid", facts->header.tid);
	write_number(writer, "NamespacePid", info->ns_pid);
	write_number(writer, "PidNamespace", info->pid_ns);
	write_number(writer, "MountNamespace", info->mnt_ns);
	write_number(writer, "NetNamespace", info->net_ns);
	json_write_key(writer, "CgroupId");
	json_write_unsigned(writer, info->cgroup_id);
	write_text(writer, "Cgroup", facts->cgroup_name, scratch);
	container_id(facts->cgroup_name, container);
	write_string_field(writer, "ContainerId", container);
	write_text(writer, "Cwd", facts->cwd, scratch);
}

static void write_argv_facts(struct json_writer *writer,
			     const struct exec_facts *facts)
{
	const struct exec_info *info = &facts->info;

	write_number(writer, "ArgvCapturedBytes", info->args_len);
	write_number(writer, "ArgvTotalBytes", info->args_total);
	write_flag(writer, "ArgvTruncated", info->flags & EXEC_FLAG_ARGS_TRUNCATED);
	if (info->flags & EXEC_FLAG_ARGS_READ_FAILED)
		write_flag(writer, "ArgvReadFailed", true);
}

/* The loader steps a Windows program's row stands for. */
static void write_wine_chain(struct json_writer *writer, const struct wine_row *row,
			     struct field_text *scratch)
{
	uint32_t kept = row->chain_length < WINE_CHAIN_MAX ? row->chain_length
							  : WINE_CHAIN_MAX;

	json_write_key(writer, "WineLoaderChain");
	scratch->key = "WineLoaderChain";
	json_write_array_begin(writer);
	for (uint32_t i = 0; i < kept; i++)
		write_text_value(writer, row->chain[i] ? row->chain[i] : "", scratch);
	json_write_array_end(writer);
	write_number(writer, "WineLoaderSteps", row->chain_length);
}

/* The hashes of the file that ran, when the columns hold the Windows
 * program's: Wine's loader. */
static void write_exe_hashes(struct json_writer *writer, const struct file_info *file)
{
	write_string_field(writer, "ExeHashStatus", hash_status_name(file->hash_status));
	if (file->hash_status != HASH_STATUS_OK)
		return;
	write_string_field(writer, "ExeSHA1", file->hashes.sha1);
	write_string_field(writer, "ExeSHA256", file->hashes.sha256);
	write_string_field(writer, "ExeMD5", file->hashes.md5);
}

/* Windows programs under Wine (docs/records.md). */
static void write_wine_fields(struct json_writer *writer,
			      const struct pending_exec *pending,
			      struct field_text *scratch)
{
	const struct wine_program *program = pending->process.image->wine;
	const struct wine_row *row = &pending->wine;

	if (program) {
		write_text(writer, "WineLinuxPath", program->linux_path, scratch);
		write_text(writer, "WineLoader", program->loader, scratch);
		write_text(writer, "WinePrefix", program->prefix, scratch);
		write_text(writer, "WineRequestedProgram", program->requested, scratch);
		write_flag(writer, "WineBinfmt", row->binfmt);
		write_flag(writer, "WineStartExe", program->start_exe);
		write_flag(writer, "WineChild", row->child);
		write_string_field(writer, "WineImageMapped", wine_mapped_name(row->mapped));
		if (row->mapped_path)
			write_text(writer, "WineMappedPath", row->mapped_path, scratch);
		if (row->step)
			write_flag(writer, "WineConfirmed", row->confirmed);
		if (program->environment_error && program->environment_error[0])
			write_text(writer, "WineEnvironmentError", program->environment_error,
				   scratch);
	}
	if (row->resolve_error)
		write_string_field(writer, "WineResolveError", row->resolve_error);
	if (row->intermediate_pid)
		write_number(writer, "WineForkIntermediateId", row->intermediate_pid);
	if (row->step)
		write_wine_chain(writer, row, scratch);
	if (row->confirmed && row->exe_file)
		write_exe_hashes(writer, row->exe_file);
}

/* What the file is (binident): FileType, Pe*, Elf*, Go*, DebPackage... */
static void write_identity_fields(struct json_writer *writer,
				  const struct image *image)
{
	const struct file_info *file = image ? image->file : NULL;

	if (file && file->identity_fields && file->identity_fields[0]) {
		strbuf_append_char(writer->out, ',');
		strbuf_append_string(writer->out, file->identity_fields);
	}
}

/* "Truncated": {"name": size before, ...}, with the identity's own. */
static void write_cuts(struct json_writer *writer, const struct cuts *cuts,
		       const struct image *image)
{
	const struct file_info *file = image ? image->file : NULL;
	bool identity = file && file->identity_cuts && file->identity_cuts[0];

	if (cuts->count == 0 && !identity)
		return;
	json_write_key(writer, "Truncated");
	json_write_object_begin(writer);
	for (int i = 0; i < cuts->count; i++) {
		json_write_key(writer, cuts->names[i]);
		json_write_unsigned(writer, cuts->lengths[i]);
	}
	if (identity) { /* members the file cache cut, as JSON text */
		if (cuts->count)
			strbuf_append_char(writer->out, ',');
		strbuf_append_string(writer->out, file->identity_cuts);
	}
	json_write_object_end(writer);
}

/* AdditionalFields as JSON text in out, text values cut at cap. */
static void write_additional_fields(struct strbuf *out, const struct pending_exec *pending,
				    size_t cap, bool with_identity, struct cuts *cuts)
{
	struct field_text scratch = {.cap = cap, .cuts = cuts, .key = ""};
	struct json_writer writer;

	strbuf_init(&scratch.buffer);
	json_writer_init(&writer, out);
	json_write_object_begin(&writer);
	write_identity(&writer, &pending->facts, &scratch);
	write_exe_facts(&writer, &pending->facts);
	write_interpreter(&writer, &pending->facts, &scratch);
	write_argv_facts(&writer, &pending->facts);
	write_hash_status(&writer, "HashStatus", "HashError", pending->process.image,
			  pending->hash_timed_out[PENDING_SLOT_IMAGE]);
	write_hash_status(&writer, "InitiatingProcessHashStatus", "InitiatingProcessHashError",
			  pending->initiating.image,
			  pending->hash_timed_out[PENDING_SLOT_INITIATING]);
	write_number(&writer, "ExecSequence", pending->exec_sequence);
	write_flag(&writer, "ExecWithoutFork", pending->initiating_is_previous_image);
	if (!pending->initiating.image)
		write_flag(&writer, "InitiatingProcessUnknown", true);
	write_wine_fields(&writer, pending, &scratch);
	if (with_identity)
		write_identity_fields(&writer, pending->process.image);
	write_cuts(&writer, cuts, with_identity ? pending->process.image : NULL);
	json_write_object_end(&writer);
	if (scratch.buffer.failed)
		out->failed = true;
	strbuf_free(&scratch.buffer);
}

/*
 * AdditionalFields within CAP_ADDITIONAL_FIELDS: as it is; if too large,
 * its texts cut tighter and the binary's identity facts left out (named in
 * Truncated as "AdditionalFields" with the size it had).
 */
static int set_additional_fields(struct record *record, const struct pending_exec *pending,
				 struct cuts *cuts)
{
	struct cuts first = *cuts;
	struct strbuf text;
	int result;

	strbuf_init(&text);
	write_additional_fields(&text, pending, CAP_FIELD_TEXT, true, &first);
	if (!text.failed && text.length > CAP_ADDITIONAL_FIELDS) {
		size_t length = text.length;

		strbuf_clear(&text);
		cuts_add(cuts, "AdditionalFields", length);
		write_additional_fields(&text, pending, CAP_FIELD_TEXT_TIGHT, false, cuts);
	} else {
		*cuts = first;
	}
	result = text.failed ? -ENOMEM
			     : record_set_string(record, DPE_ADDITIONAL_FIELDS, text.data,
						 text.length);
	strbuf_free(&text);
	return result;
}

/* The six version-info columns, from the PE's chosen table ("" for ELF). */
static int set_version_info(struct record *record, const struct image *image,
			    bool initiating)
{
	const struct file_info *file = image ? image->file : NULL;

	for (int field = 0; field < VERSION_FIELD_COUNT; field++) {
		enum dpe_column column = initiating ? version_fields[field].initiating_column
						    : version_fields[field].process_column;

		if (record_set_cstring(record, column, file_info_version(file, field)))
			return -ENOMEM;
	}
	return 0;
}

static int set_hashes(struct record *record, const struct image *image,
		      enum dpe_column sha1, enum dpe_column sha256,
		      enum dpe_column md5)
{
	const struct file_info *file = image ? image->file : NULL;

	if (!file || file->hash_status != HASH_STATUS_OK)
		return 0;
	if (record_set_cstring(record, sha1, file->hashes.sha1) ||
	    record_set_cstring(record, sha256, file->hashes.sha256) ||
	    record_set_cstring(record, md5, file->hashes.md5))
		return -ENOMEM;
	return 0;
}

static void set_unique_id(struct record *record, enum dpe_column column,
			  const struct device_identity *identity,
			  const struct process_ref *ref)
{
	char id[24];

	if (!ref->known)
		return;
	device_process_unique_id(identity, ref->pid, ref->start_boot_ns, id);
	record_set_cstring(record, column, id);
}

static void set_creation(struct record *record, enum dpe_column column,
			 const struct boot_clock *clock,
			 const struct process_ref *ref)
{
	if (ref->known)
		record_set_datetime(record, column,
				    boot_clock_ticks(clock, ref->start_boot_ns));
}

static int set_account(struct record *record, enum dpe_column domain,
		       enum dpe_column name, enum dpe_column logon,
		       const struct image *image,
		       const struct assembler_context *context)
{
	if (!image)
		return 0;
	set_optional_id(record, logon, image->session_id);
	if (record_set_cstring(record, domain, context->identity->host_name) ||
	    record_set_cstring(record, name,
			       accounts_user_name(context->accounts, image->euid)))
		return -ENOMEM;
	return 0;
}

static int set_process_columns(struct record *record,
			       const struct pending_exec *pending,
			       const struct assembler_context *context)
{
	const struct image *image = pending->process.image;

	record_set_long(record, DPE_PROCESS_ID, pending->process.pid);
	set_creation(record, DPE_PROCESS_CREATION_TIME, context->clock,
		     &pending->process);
	set_unique_id(record, DPE_PROCESS_UNIQUE_ID, context->identity,
		      &pending->process);
	if (image->file)
		record_set_long(record, DPE_FILE_SIZE, image->file->key.size);
	else if (!image->wine) /* kernel threads; a Windows program not found: null */
		record_set_long(record, DPE_FILE_SIZE, pending->facts.info.exe_size);
	set_optional_id(record, DPE_CREATED_PROCESS_SESSION_ID, image->session_id);
	if (set_text(record, DPE_FOLDER_PATH, image->path) ||
	    set_text(record, DPE_FILE_NAME, image_file_name(image)) ||
	    record_set_cstring(record, DPE_PROCESS_COMMAND_LINE,
			       image->command_line) ||
	    set_hashes(record, image, DPE_SHA1, DPE_SHA256, DPE_MD5) ||
	    set_version_info(record, image, false) ||
	    set_account(record, DPE_ACCOUNT_DOMAIN, DPE_ACCOUNT_NAME,
			DPE_LOGON_ID, image, context))
		return -ENOMEM;
	return 0;
}

static int set_initiating_parent(struct record *record,
				 const struct pending_exec *pending,
				 const struct assembler_context *context)
{
	const struct process_ref *parent = &pending->initiating_parent;

	if (!parent->known)
		return 0;
	record_set_long(record, DPE_INITIATING_PROCESS_PARENT_ID, parent->pid);
	set_creation(record, DPE_INITIATING_PROCESS_PARENT_CREATION_TIME,
		     context->clock, parent);
	if (parent->image &&
	    set_text(record, DPE_INITIATING_PROCESS_PARENT_FILE_NAME,
		     image_file_name(parent->image)))
		return -ENOMEM;
	return 0;
}

static int set_initiating_columns(struct record *record,
				  const struct pending_exec *pending,
				  const struct assembler_context *context)
{
	const struct process_ref *initiating = &pending->initiating;
	const struct image *image = initiating->image;

	if (initiating->known)
		record_set_long(record, DPE_INITIATING_PROCESS_ID, initiating->pid);
	set_creation(record, DPE_INITIATING_PROCESS_CREATION_TIME,
		     context->clock, initiating);
	set_unique_id(record, DPE_INITIATING_PROCESS_UNIQUE_ID,
		      context->identity, initiating);
	if (image) {
		set_optional_id(record, DPE_INITIATING_PROCESS_SESSION_ID,
				image->session_id);
		if (image->file)
			record_set_long(record, DPE_INITIATING_PROCESS_FILE_SIZE,
					image->file->key.size);
		if (set_text(record, DPE_INITIATING_PROCESS_FOLDER_PATH, image->path) ||
		    set_text(record, DPE_INITIATING_PROCESS_FILE_NAME,
			     image_file_name(image)) ||
		    record_set_cstring(record, DPE_INITIATING_PROCESS_COMMAND_LINE,
				       image->command_line) ||
		    set_hashes(record, image, DPE_INITIATING_PROCESS_SHA1,
			       DPE_INITIATING_PROCESS_SHA256,
			       DPE_INITIATING_PROCESS_MD5) ||
		    set_version_info(record, image, true) ||
		    set_account(record, DPE_INITIATING_PROCESS_ACCOUNT_DOMAIN,
				DPE_INITIATING_PROCESS_ACCOUNT_NAME,
				DPE_INITIATING_PROCESS_LOGON_ID, image, context))
			return -ENOMEM;
	}
	return set_initiating_parent(record, pending, context);
}

/* The cap of a string column (see CAP_COMMAND_LINE). */
static size_t column_cap(enum dpe_column column)
{
	switch (column) {
	case DPE_PROCESS_COMMAND_LINE:
	case DPE_INITIATING_PROCESS_COMMAND_LINE:
		return CAP_COMMAND_LINE;
	case DPE_FOLDER_PATH:
	case DPE_INITIATING_PROCESS_FOLDER_PATH:
		return CAP_PATH;
	case DPE_ADDITIONAL_FIELDS:
		return CAP_ADDITIONAL_FIELDS;
	default:
		return CAP_TEXT;
	}
}

/* Every string column within its cap; what was cut goes to cuts. */
static int cap_columns(struct record *record, const struct pending_exec *pending,
		       struct cuts *cuts)
{
	const struct image *initiating = pending->initiating.image;

	const struct image *image = pending->process.image;

	/* cut before: what an image keeps is bounded (process_table.h) */
	if (image && image->command_line_length)
		cuts_add(cuts, dpe_columns[DPE_PROCESS_COMMAND_LINE].name,
			 image->command_line_length);
	if (initiating && initiating->command_line_length)
		cuts_add(cuts, dpe_columns[DPE_INITIATING_PROCESS_COMMAND_LINE].name,
			 initiating->command_line_length);
	for (int column = 0; column < DPE_COLUMN_COUNT; column++) {
		const struct value *value = &record->values[column];
		size_t cap = column_cap((enum dpe_column)column);

		if (value->type != VALUE_STRING || value->len <= cap ||
		    column == DPE_ADDITIONAL_FIELDS)
			continue;
		cuts_add(cuts, dpe_columns[column].name, value->len);
		if (record_set_string(record, (enum dpe_column)column, value->str,
				      text_cut_length(value->str, value->len, cap)))
			return -ENOMEM;
	}
	return 0;
}

int record_builder_build(struct record *record,
			 const struct pending_exec *pending,
			 const struct assembler_context *context,
			 int64_t report_id)
{
	const struct device_identity *identity = context->identity;
	struct cuts cuts = {.count = 0};

	record_reset(record);
	record_set_datetime(record, DPE_TIMESTAMP,
			    boot_clock_ticks(context->clock,
					     pending->facts.header.time_boot_ns));
	record_set_long(record, DPE_REPORT_ID, report_id);
	if (record_set_cstring(record, DPE_DEVICE_ID, identity->device_id) ||
	    record_set_cstring(record, DPE_DEVICE_NAME, identity->device_name) ||
	    record_set_cstring(record, DPE_ACTION_TYPE, "ProcessCreated") ||
	    set_process_columns(record, pending, context) ||
	    set_initiating_columns(record, pending, context) ||
	    cap_columns(record, pending, &cuts) ||
	    set_additional_fields(record, pending, &cuts))
		return -ENOMEM;
	return 0;
}
