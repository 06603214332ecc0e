/*
 * device.h - who this device is: DeviceId, DeviceName, boot id.
 *
 * DeviceId is 40 lower-case hex characters, stable for the life of the
 * installation: HMAC-SHA256 keyed by /etc/machine-id over an application
 * label, cut to 160 bits (the way systemd derives application-specific ids),
 * so the raw machine id never leaves the host.  DeviceName is the FQDN in
 * lower case.  The boot id (/proc/sys/kernel/random/boot_id) makes process
 * unique ids unique across reboots.
 */
#ifndef RMMHUNT_DEVICE_H
#define RMMHUNT_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#define DEVICE_ID_SIZE 41
#define DEVICE_NAME_SIZE 256
#define BOOT_ID_SIZE 37

struct device_identity {
	char device_id[DEVICE_ID_SIZE];
	char device_name[DEVICE_NAME_SIZE];
	char host_name[DEVICE_NAME_SIZE]; /* short name: AccountDomain */
	char boot_id[BOOT_ID_SIZE];
	uint64_t boot_id_hash; /* 64 bits of SHA-256(boot_id) */
};

/*
 * Fill identity from the files given (NULL: /etc/machine-id and the kernel's
 * boot id).  Returns 0 or a negative errno; *error_path names the file that
 * could not be read.
 */
int device_identity_load(struct device_identity *identity,
			 const char *machine_id_path, const char **error_path);

/* DeviceId for a machine id (exposed for tests). */
int device_id_from_machine_id(const char *machine_id, size_t length,
			      char out[DEVICE_ID_SIZE]);

/* Set boot_id_hash from boot_id (done by device_identity_load). */
void device_identity_hash_boot_id(struct device_identity *identity);

/*
 * ProcessUniqueId: a decimal string of 63 bits mixed from the boot id's
 * hash, the pid and the start time (ns since boot).  Same inputs, same id;
 * other inputs, a different id with overwhelming probability (a 64-bit
 * finaliser: cheap enough for every record, and not meant as a secret).
 */
void device_process_unique_id(const struct device_identity *identity,
			      uint32_t pid, uint64_t start_boot_ns,
			      char out[24]);

#endif
