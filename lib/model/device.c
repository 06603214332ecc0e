/*
 * device.c - DeviceId, DeviceName and process unique ids.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "model/device.h"
#include "base/hashmap.h"
#include "base/text.h"

#define DEVICE_ID_LABEL "rmmhunt DeviceId v1"

static int read_first_line(const char *path, char *out, size_t size)
{
	FILE *file = fopen(path, "re");
	size_t length;

	if (!file)
		return -errno;
	if (!fgets(out, (int)size, file)) {
		fclose(file);
		return -ENODATA;
	}
	fclose(file);
	length = strcspn(out, "\r\n");
	out[length] = '\0';
	return length ? 0 : -ENODATA;
}

int device_id_from_machine_id(const char *machine_id, size_t length,
			      char out[DEVICE_ID_SIZE])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_length = 0;

	if (!HMAC(EVP_sha256(), machine_id, (int)length,
		  (const unsigned char *)DEVICE_ID_LABEL,
		  strlen(DEVICE_ID_LABEL), mac, &mac_length) ||
	    mac_length < 20)
		return -EIO;
	text_hex(mac, 20, out);
	return 0;
}

static void lower_case(char *text)
{
	for (; *text; text++)
		*text = (char)tolower((unsigned char)*text);
}

/* FQDN from the resolver's canonical name of our host name (files first:
 * /etc/hosts normally answers without a network round trip). */
static void load_device_name(struct device_identity *identity)
{
	struct addrinfo hints, *result = NULL;

	if (gethostname(identity->host_name, sizeof(identity->host_name)) != 0)
		snprintf(identity->host_name, sizeof(identity->host_name),
			 "localhost");
	identity->host_name[sizeof(identity->host_name) - 1] = '\0';
	snprintf(identity->device_name, sizeof(identity->device_name), "%s",
		 identity->host_name);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(identity->host_name, NULL, &hints, &result) == 0) {
		if (result && result->ai_canonname &&
		    strchr(result->ai_canonname, '.'))
			snprintf(identity->device_name,
				 sizeof(identity->device_name), "%s",
				 result->ai_canonname);
		freeaddrinfo(result);
	}
	lower_case(identity->device_name);
	/* AccountDomain: the short name, as a local account's domain */
	identity->host_name[strcspn(identity->host_name, ".")] = '\0';
	lower_case(identity->host_name);
}

void device_identity_hash_boot_id(struct device_identity *identity)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_length = 0;

	identity->boot_id_hash = 0;
	if (EVP_Digest(identity->boot_id, strlen(identity->boot_id), digest,
		       &digest_length, EVP_sha256(), NULL) != 1)
		return;
	for (int i = 0; i < 8; i++)
		identity->boot_id_hash = (identity->boot_id_hash << 8) | digest[i];
}

int device_identity_load(struct device_identity *identity,
			 const char *machine_id_path, const char **error_path)
{
	static const char boot_id_path[] = "/proc/sys/kernel/random/boot_id";
	char machine_id[128];
	int result;

	memset(identity, 0, sizeof(*identity));
	if (!machine_id_path)
		machine_id_path = "/etc/machine-id";
	result = read_first_line(machine_id_path, machine_id, sizeof(machine_id));
	if (result < 0) {
		*error_path = machine_id_path;
		return result;
	}
	result = device_id_from_machine_id(machine_id, strlen(machine_id),
					   identity->device_id);
	if (result < 0) {
		*error_path = machine_id_path;
		return result;
	}
	result = read_first_line(boot_id_path, identity->boot_id,
				 sizeof(identity->boot_id));
	if (result < 0) {
		*error_path = boot_id_path;
		return result;
	}
	load_device_name(identity);
	device_identity_hash_boot_id(identity);
	return 0;
}

void device_process_unique_id(const struct device_identity *identity,
			      uint32_t pid, uint64_t start_boot_ns, char out[24])
{
	uint64_t id = hashmap_mix64(identity->boot_id_hash ^ pid);

	id = hashmap_mix64(id ^ start_boot_ns);
	/* not snprintf: two of these a record, at 1,000 instructions each */
	text_put_unsigned(out, id >> 1, 10);
}
