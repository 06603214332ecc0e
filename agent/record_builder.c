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

#include <jansson.h>

#include "device.h"
#include "record_builder.h"
#include "strbuf.h"
#include "text.h"
#include "timefmt.h"

#define AUDIT_UNSET 4294967295U
#define CONTAINER_ID_LENGTH 64

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

static json_t *json_text(const char *raw)
{
	size_t length = strlen(raw);
	struct strbuf escaped;
	json_t *string;

	if (utf8_is_valid(raw, length))
		return json_stringn(raw, length);
	strbuf_init(&escaped);
	text_append_escaped(&escaped, raw, length);
	string = json_stringn(strbuf_text(&escaped), escaped.length);
	strbuf_free(&escaped);
	return string;
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

/* Absolute form of a path the process asked for, against its cwd. */
static char *absolute_path(const char *path, const char *cwd)
{
	struct strbuf out;

	strbuf_init(&out);
	if (path[0] != '/') {
		strbuf_append_string(&out, cwd);
		if (out.length && out.data[out.length - 1] != '/')
			strbuf_append_char(&out, '/');
	}
	strbuf_append_string(&out, path);
	return out.failed ? NULL : out.data;
}

static void add_hash_status(json_t *fields, const char *key,
			    const char *error_key, const struct image *image)
{
	const struct file_info *file = image ? image->file : NULL;

	if (!file) {
		json_object_set_new(fields, key, json_string("unavailable"));
		return;
	}
	json_object_set_new(fields, key,
			    json_string(hash_status_name(file->hash_status)));
	if (file->hash_status == HASH_STATUS_UNREADABLE && file->hash_errno)
		json_object_set_new(fields, error_key,
				    json_string(strerror(file->hash_errno)));
}

static void add_exe_facts(json_t *fields, const struct exec_facts *facts)
{
	const struct exec_info *info = &facts->info;
	char text[TIMEFMT_ISO_SIZE], device[32], mode[16];
	int64_t ticks;

	snprintf(device, sizeof(device), "%u:%u", info->exe_dev_major,
		 info->exe_dev_minor);
	snprintf(mode, sizeof(mode), "%o", info->exe_mode);
	json_object_set_new(fields, "ExeDevice", json_string(device));
	json_object_set_new(fields, "ExeInode", json_integer((json_int_t)info->exe_ino));
	ticks = info->exe_ctime_sec * TICKS_PER_SECOND + info->exe_ctime_nsec / 100;
	json_object_set_new(fields, "ExeCtime", json_string(timefmt_iso(ticks, text)));
	ticks = info->exe_mtime_sec * TICKS_PER_SECOND + info->exe_mtime_nsec / 100;
	json_object_set_new(fields, "ExeMtime", json_string(timefmt_iso(ticks, text)));
	json_object_set_new(fields, "ExeNlink", json_integer(info->exe_nlink));
	json_object_set_new(fields, "ExeMode", json_string(mode));
	json_object_set_new(fields, "ExeFileSystem", json_string(info->fstype));
	json_object_set_new(fields, "Memfd", json_boolean(is_memfd(facts)));
	json_object_set_new(fields, "Deleted",
			    json_boolean(info->flags & EXEC_FLAG_EXE_DELETED));
	if (info->flags & EXEC_FLAG_EXE_PATH_TRUNCATED)
		json_object_set_new(fields, "ExePathTruncated", json_true());
	if (info->flags & EXEC_FLAG_EXE_PATH_DETACHED)
		json_object_set_new(fields, "ExePathDetached", json_true());
}

static void add_interpreter(json_t *fields, const struct exec_facts *facts)
{
	char *script;

	json_object_set_new(fields, "Filename", json_text(facts->filename));
	if (!facts->interp[0] || strcmp(facts->interp, facts->filename) == 0)
		return;
	json_object_set_new(fields, "Interpreter", json_text(facts->interp));
	script = absolute_path(facts->filename, facts->cwd);
	if (script)
		json_object_set_new(fields, "ScriptPath", json_text(script));
	free(script);
}

static void add_identity(json_t *fields, const struct exec_facts *facts)
{
	const struct exec_info *info = &facts->info;
	char container[CONTAINER_ID_LENGTH + 1];

	json_object_set_new(fields, "Uid", json_integer(info->uid));
	json_object_set_new(fields, "Euid", json_integer(info->euid));
	json_object_set_new(fields, "Gid", json_integer(info->gid));
	json_object_set_new(fields, "Egid", json_integer(info->egid));
	json_object_set_new(fields, "LoginUid",
			    info->loginuid == AUDIT_UNSET ? json_null()
							  : json_integer(info->loginuid));
	json_object_set_new(fields, "AuditSessionId",
			    info->sessionid == AUDIT_UNSET ? json_null()
							   : json_integer(info->sessionid));
	json_object_set_new(fields, "Tty", json_string(info->tty));
	json_object_set_new(fields, "Comm", json_text(info->comm));
	json_object_set_new(fields, "Tid", json_integer(facts->header.tid));
	json_object_set_new(fields, "NamespacePid", json_integer(info->ns_pid));
	json_object_set_new(fields, "PidNamespace", json_integer(info->pid_ns));
	json_object_set_new(fields, "MountNamespace", json_integer(info->mnt_ns));
	json_object_set_new(fields, "NetNamespace", json_integer(info->net_ns));
	json_object_set_new(fields, "CgroupId", json_integer((json_int_t)info->cgroup_id));
	json_object_set_new(fields, "Cgroup", json_text(facts->cgroup_name));
	container_id(facts->cgroup_name, container);
	json_object_set_new(fields, "ContainerId", json_string(container));
	json_object_set_new(fields, "Cwd", json_text(facts->cwd));
}

static void add_argv_facts(json_t *fields, const struct exec_facts *facts)
{
	const struct exec_info *info = &facts->info;

	json_object_set_new(fields, "ArgvCapturedBytes", json_integer(info->args_len));
	json_object_set_new(fields, "ArgvTotalBytes", json_integer(info->args_total));
	json_object_set_new(fields, "ArgvTruncated",
			    json_boolean(info->flags & EXEC_FLAG_ARGS_TRUNCATED));
	if (info->flags & EXEC_FLAG_ARGS_READ_FAILED)
		json_object_set_new(fields, "ArgvReadFailed", json_true());
}

static int set_additional_fields(struct record *record,
				 const struct pending_exec *pending)
{
	json_t *fields = json_object();
	char *text;
	int result;

	if (!fields)
		return -ENOMEM;
	add_identity(fields, &pending->facts);
	add_exe_facts(fields, &pending->facts);
	add_interpreter(fields, &pending->facts);
	add_argv_facts(fields, &pending->facts);
	add_hash_status(fields, "HashStatus", "HashError", pending->process.image);
	add_hash_status(fields, "InitiatingProcessHashStatus",
			"InitiatingProcessHashError", pending->initiating.image);
	json_object_set_new(fields, "ExecSequence",
			    json_integer(pending->exec_sequence));
	json_object_set_new(fields, "ExecWithoutFork",
			    json_boolean(pending->initiating_is_previous_image));
	if (!pending->initiating.image)
		json_object_set_new(fields, "InitiatingProcessUnknown", json_true());
	text = json_dumps(fields, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(fields);
	if (!text)
		return -ENOMEM;
	result = record_set_cstring(record, DPE_ADDITIONAL_FIELDS, text);
	free(text);
	return result;
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
	record_set_long(record, DPE_FILE_SIZE, pending->facts.info.exe_size);
	set_optional_id(record, DPE_CREATED_PROCESS_SESSION_ID, image->session_id);
	if (set_text(record, DPE_FOLDER_PATH, image->path) ||
	    set_text(record, DPE_FILE_NAME, text_basename(image->path)) ||
	    record_set_cstring(record, DPE_PROCESS_COMMAND_LINE,
			       image->command_line) ||
	    set_hashes(record, image, DPE_SHA1, DPE_SHA256, DPE_MD5) ||
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
		     text_basename(parent->image->path)))
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
			     text_basename(image->path)) ||
		    record_set_cstring(record, DPE_INITIATING_PROCESS_COMMAND_LINE,
				       image->command_line) ||
		    set_hashes(record, image, DPE_INITIATING_PROCESS_SHA1,
			       DPE_INITIATING_PROCESS_SHA256,
			       DPE_INITIATING_PROCESS_MD5) ||
		    set_account(record, DPE_INITIATING_PROCESS_ACCOUNT_DOMAIN,
				DPE_INITIATING_PROCESS_ACCOUNT_NAME,
				DPE_INITIATING_PROCESS_LOGON_ID, image, context))
			return -ENOMEM;
	}
	return set_initiating_parent(record, pending, context);
}

int record_builder_build(struct record *record,
			 const struct pending_exec *pending,
			 const struct assembler_context *context,
			 int64_t report_id)
{
	const struct device_identity *identity = context->identity;

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
	    set_additional_fields(record, pending))
		return -ENOMEM;
	return 0;
}
