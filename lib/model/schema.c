/*
 * schema.c - column names and Kusto types of the tables rmmhunt fills.
 *
 * The order of dpe_columns[] is the order of Defender's DeviceProcessEvents
 * table; it is also the order of the keys in every JSON record the agent
 * writes and of the columns in the cache.
 */
#include <string.h>

#include "model/schema.h"

const struct column_def dpe_columns[DPE_COLUMN_COUNT] = {
	{"Timestamp", VALUE_DATETIME},
	{"DeviceId", VALUE_STRING},
	{"DeviceName", VALUE_STRING},
	{"ActionType", VALUE_STRING},
	{"FileName", VALUE_STRING},
	{"FolderPath", VALUE_STRING},
	{"SHA1", VALUE_STRING},
	{"SHA256", VALUE_STRING},
	{"MD5", VALUE_STRING},
	{"FileSize", VALUE_LONG},
	{"ProcessVersionInfoCompanyName", VALUE_STRING},
	{"ProcessVersionInfoProductName", VALUE_STRING},
	{"ProcessVersionInfoProductVersion", VALUE_STRING},
	{"ProcessVersionInfoInternalFileName", VALUE_STRING},
	{"ProcessVersionInfoOriginalFileName", VALUE_STRING},
	{"ProcessVersionInfoFileDescription", VALUE_STRING},
	{"ProcessId", VALUE_LONG},
	{"ProcessCommandLine", VALUE_STRING},
	{"ProcessIntegrityLevel", VALUE_STRING},
	{"ProcessTokenElevation", VALUE_STRING},
	{"ProcessCreationTime", VALUE_DATETIME},
	{"AccountDomain", VALUE_STRING},
	{"AccountName", VALUE_STRING},
	{"AccountSid", VALUE_STRING},
	{"AccountUpn", VALUE_STRING},
	{"AccountObjectId", VALUE_STRING},
	{"LogonId", VALUE_LONG},
	{"InitiatingProcessAccountDomain", VALUE_STRING},
	{"InitiatingProcessAccountName", VALUE_STRING},
	{"InitiatingProcessAccountSid", VALUE_STRING},
	{"InitiatingProcessAccountUpn", VALUE_STRING},
	{"InitiatingProcessAccountObjectId", VALUE_STRING},
	{"InitiatingProcessLogonId", VALUE_LONG},
	{"InitiatingProcessIntegrityLevel", VALUE_STRING},
	{"InitiatingProcessTokenElevation", VALUE_STRING},
	{"InitiatingProcessSHA1", VALUE_STRING},
	{"InitiatingProcessSHA256", VALUE_STRING},
	{"InitiatingProcessMD5", VALUE_STRING},
	{"InitiatingProcessFileName", VALUE_STRING},
	{"InitiatingProcessFileSize", VALUE_LONG},
	{"InitiatingProcessVersionInfoCompanyName", VALUE_STRING},
	{"InitiatingProcessVersionInfoProductName", VALUE_STRING},
	{"InitiatingProcessVersionInfoProductVersion", VALUE_STRING},
	{"InitiatingProcessVersionInfoInternalFileName", VALUE_STRING},
	{"InitiatingProcessVersionInfoOriginalFileName", VALUE_STRING},
	{"InitiatingProcessVersionInfoFileDescription", VALUE_STRING},
	{"InitiatingProcessId", VALUE_LONG},
	{"InitiatingProcessCommandLine", VALUE_STRING},
	{"InitiatingProcessCreationTime", VALUE_DATETIME},
	{"InitiatingProcessFolderPath", VALUE_STRING},
	{"InitiatingProcessParentId", VALUE_LONG},
	{"InitiatingProcessParentFileName", VALUE_STRING},
	{"InitiatingProcessParentCreationTime", VALUE_DATETIME},
	{"InitiatingProcessSignerType", VALUE_STRING},
	{"InitiatingProcessSignatureStatus", VALUE_STRING},
	{"ReportId", VALUE_LONG},
	{"AppGuardContainerId", VALUE_STRING},
	{"AdditionalFields", VALUE_STRING},
	{"InitiatingProcessSessionId", VALUE_LONG},
	{"IsInitiatingProcessRemoteSession", VALUE_BOOL},
	{"InitiatingProcessRemoteSessionDeviceName", VALUE_STRING},
	{"InitiatingProcessRemoteSessionIP", VALUE_STRING},
	{"CreatedProcessSessionId", VALUE_LONG},
	{"IsProcessRemoteSession", VALUE_BOOL},
	{"ProcessRemoteSessionDeviceName", VALUE_STRING},
	{"ProcessRemoteSessionIP", VALUE_STRING},
	{"ProcessUniqueId", VALUE_STRING},
	{"InitiatingProcessUniqueId", VALUE_STRING},
};

const struct table_schema dpe_schema = {
	.name = "DeviceProcessEvents",
	.column_count = DPE_COLUMN_COUNT,
	.columns = dpe_columns,
};

int schema_find_column(const struct table_schema *schema, const char *name)
{
	for (size_t i = 0; i < schema->column_count; i++) {
		if (strcmp(schema->columns[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}
