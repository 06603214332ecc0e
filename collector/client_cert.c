/*
 * client_cert.c - verify a client certificate, find its DeviceId
 * (client_cert.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/x509.h>

#include "client_cert.h"

static int name_of(gnutls_x509_crt_t certificate, char device_id[BATCH_ID_MAX + 1])
{
	char name[BATCH_ID_MAX + 2];
	size_t size = sizeof(name);

	if (gnutls_x509_crt_get_dn_by_oid(certificate, GNUTLS_OID_X520_COMMON_NAME, 0, 0, name,
					  &size) == 0 &&
	    batch_check_identifier(name, strlen(name))) {
		snprintf(device_id, BATCH_ID_MAX + 1, "%s", name);
		return 0;
	}
	for (unsigned index = 0;; index++) {
		size = sizeof(name);
		int type = gnutls_x509_crt_get_subject_alt_name(certificate, index, name, &size, NULL);

		if (type < 0)
			break;
		if (type == GNUTLS_SAN_DNSNAME && batch_check_identifier(name, strlen(name))) {
			snprintf(device_id, BATCH_ID_MAX + 1, "%s", name);
			return 0;
		}
	}
	return -ENOENT;
}

int client_cert_device(gnutls_session_t session, char device_id[BATCH_ID_MAX + 1],
		       char *message, size_t message_size)
{
	const gnutls_datum_t *peers;
	unsigned int count = 0, status = 0;
	gnutls_x509_crt_t certificate;
	int result;

	peers = gnutls_certificate_get_peers(session, &count);
	if (!peers || count == 0)
		return -ENOENT;
	result = gnutls_certificate_verify_peers2(session, &status);
	if (result < 0 || status != 0) {
		gnutls_datum_t text = {NULL, 0};

		if (result >= 0 &&
		    gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0)
			snprintf(message, message_size, "client certificate not valid: %s",
				 (const char *)text.data);
		else
			snprintf(message, message_size, "client certificate not valid: %s",
				 gnutls_strerror(result));
		gnutls_free(text.data);
		return -EACCES;
	}
	if (gnutls_x509_crt_init(&certificate) < 0)
		return -ENOMEM;
	result = gnutls_x509_crt_import(certificate, &peers[0], GNUTLS_X509_FMT_DER);
	if (result == 0)
		result = name_of(certificate, device_id);
	gnutls_x509_crt_deinit(certificate);
	if (result) {
		snprintf(message, message_size,
			 "client certificate names no DeviceId (its CN or a DNS name)");
		return -EACCES;
	}
	return 0;
}
